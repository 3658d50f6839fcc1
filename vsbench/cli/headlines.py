"""The tier headlines that ``run``, ``evaluate`` and ``score`` print under their tables
(torch-free): one line per tier a run's ``metrics.json`` holds, with the numbers a user looks
at first, a skipped tier's reason, and where the run's files are."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from rich.markup import escape
from rich.table import Table

from vsbench.records import MetricsRecord


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"


def _not_scored(summary: Mapping[str, Any] | None) -> str | None:
    """Why a tier has no numbers (absent, skipped or failed), or None when it has them."""
    if not summary:
        return "not scored (`vsbench evaluate` scores it)"
    if summary.get("skipped"):
        return f"skipped: {summary['skipped']}"
    if summary.get("error"):
        return f"failed: {summary['error']}"
    return None


def _instance(biometrics: Mapping[str, Any]) -> str:
    instance = biometrics.get("instance") or {}
    nuclei, cells = instance.get("nuclei") or {}, instance.get("cells") or {}
    return (f"nuclei F1 {_num(nuclei.get('f1'))}, cells F1 {_num(cells.get('f1'))} "
            f"(matched at IoU >= {biometrics.get('iou_threshold', 0.5)})")


def _features(biometrics: Mapping[str, Any]) -> str:
    average = (biometrics.get("features") or {}).get("average") or {}
    return (f"feature r {_num(average.get('median_pearson'))} (median over features), "
            f"{_num(average.get('fraction_good'))} of features with r >= 0.5")


def _retrieved(summary: Mapping[str, Any]) -> str:
    n, fraction = summary.get("n_perturbations"), summary.get("fraction_retrieved")
    if not isinstance(n, int) or not isinstance(fraction, (int, float)):
        return "-"
    return f"{round(fraction * n)} of {n}"


def _profiles(profiles: Mapping[str, Any]) -> str:
    real, virtual = profiles.get("real") or {}, profiles.get("virtual") or {}
    return (f"activity mAP {_num(virtual.get('mean_map'))} (real stain "
            f"{_num(real.get('mean_map'))}), perturbations retrieved {_retrieved(virtual)} "
            f"(real stain {_retrieved(real)})")


def _posterior(posterior: Mapping[str, Any]) -> str:
    if not posterior.get("stochastic", True):
        return "not applicable: the method is deterministic (one prediction per field)"
    from vsbench.posterior import calibrated_coverage

    average = posterior.get("average") or {}
    n = int(posterior.get("n_samples") or 0)
    target = (f" (a calibrated {n}-sample ensemble: {calibrated_coverage(0.5, n):.2f} / "
              f"{calibrated_coverage(0.9, n):.2f})") if n >= 1 else ""
    return (f"CRPS {_num(average.get('crps'), 4)}, coverage 50 % / 90 % "
            f"{_num(average.get('coverage_50'), 2)} / {_num(average.get('coverage_90'), 2)}"
            f"{target}")


def tier_rows(record: MetricsRecord) -> list[tuple[str, str]]:
    """``(tier, headline)`` for the instance, feature, profile and posterior tiers of
    ``record``."""
    biometrics = record.biometrics or {}
    rows = []
    for tier, show in (("instance", _instance), ("features", _features)):
        chosen = biometrics.get("tiers") or ("instance", "features")
        why = _not_scored(biometrics)
        if why is None and tier not in chosen:
            why = "not scored (`vsbench evaluate --tier " + tier + "` scores it)"
        rows.append((tier, why or show(biometrics)))
    for tier, summary, show in (("profiles", record.profiles, _profiles),
                                ("posterior", record.posterior, _posterior)):
        rows.append((tier, _not_scored(summary) or show(summary or {})))
    return rows + _plugin_rows(record)


def _plugin_rows(record: MetricsRecord) -> list[tuple[str, str]]:
    """A row per tier a plugin registers: its own headline, or where its numbers are."""
    from vsbench.tiers.registry import all_tiers

    rows = []
    for name, spec in all_tiers().items():
        if spec.record_key != "tiers":
            continue
        summary = spec.summary(record)
        why = _not_scored(summary)
        text = why or (spec.headline(summary) if spec.headline is not None
                       else f"scored: `vsbench compare --tier {name}` ranks it")
        rows.append((name, text))
    return rows


def headline_table(record: MetricsRecord, title: str) -> Table:
    """The tier headlines of one run as a two-column table."""
    table = Table(title=escape(title), show_header=True)
    table.add_column("tier")
    table.add_column("headline", overflow="fold")
    for tier, text in tier_rows(record):
        table.add_row(tier, escape(text))
    return table


def print_headlines(out, record: MetricsRecord, folder: Path, title: str) -> None:
    """Print ``record``'s tier headlines and the run folder they are in."""
    out.print(headline_table(record, title))
    out.print(f"files (metrics.json, per-image tables, predictions) in {folder}",
              highlight=False, soft_wrap=True)
