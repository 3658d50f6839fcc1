"""The tier headlines that ``run``, ``evaluate`` and ``score`` print under their tables
(torch-free): one line per tier a run's ``metrics.json`` holds, with the numbers a user looks
at first, a skipped tier's reason, and where the run's files are."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from rich.markup import escape
from rich.table import Table

from vsbench.records import MetricsRecord


def _not_scored(summary: Mapping[str, Any] | None) -> str | None:
    """Why a tier has no numbers (absent, skipped or failed), or None when it has them."""
    if not summary:
        return "not scored (`vsbench evaluate` scores it)"
    if summary.get("skipped"):
        return f"skipped: {summary['skipped']}"
    if summary.get("error"):
        return f"failed: {summary['error']}"
    return None


def tier_rows(record: MetricsRecord) -> list[tuple[str, str]]:
    """``(tier, headline)`` for every tier but the pixel one (the registry's order:
    built-in, then plugins'), each from its :attr:`TierSpec.headline`."""
    from vsbench.tiers.pixel import NAME as PIXEL
    from vsbench.tiers.registry import all_tiers

    rows = []
    for name, spec in all_tiers().items():
        if name == PIXEL:  # the table above the headlines shows it
            continue
        summary = spec.summary(record)
        why = _not_scored(summary)
        if why is None and not spec.scored(summary):
            # A summary shared by several tiers (instance and features) that lacks this one.
            why = f"not scored (`vsbench evaluate --tier {name}` scores it)"
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
