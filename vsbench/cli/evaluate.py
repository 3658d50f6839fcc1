"""``vsbench evaluate``: score completed runs' saved test predictions for the biological tiers
(nuclei and cells found, cell features measured), the profile tier (well-level mAP) and the
posterior tier (ensemble CRPS and coverage), without retraining."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from vsbench.cli.common import DATA_ROOT_HELP, console


def evaluate(
    runs: List[Path] = typer.Argument(..., help="Run folders (RESULTS/runs/<dataset>/<method>/"
                                      "<run-id>) to score."),
    tier: str = typer.Option("all", "--tier", help="instance (nuclei and cells matched at "
                             "IoU >= 0.5), features (cp-measure cell features), profiles "
                             "(well-level copairs mAP, real vs virtual), posterior (n_samples "
                             "samples of a stochastic method: CRPS, coverage) or all."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help=DATA_ROOT_HELP + " "
                                             "Default: the one each run recorded."),
    segmenter: str = typer.Option("watershed", "--segmenter", help="The segmenter: the "
                                  "built-in watershed, or one a package registers in the "
                                  "entry-point group vsbench.segmenters."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes that share the "
                                "fields."),
    device: str = typer.Option("auto", "--device", help="Where a stochastic method is "
                               "sampled for the posterior tier: auto, cpu, cuda, cuda:N."),
) -> None:
    """Score completed runs for the instance and feature tiers from their saved predictions.

    Updates each run's metrics.json (the `biometrics` summary) and writes
    per_image_instance.csv, cell_features.csv.gz and feature_scores.csv into its folder. The
    ground truth's objects and features are cached under the data root. --tier profiles
    writes profiles_map.csv from the run's cell_features.csv.gz; --tier posterior reloads a
    stochastic method's checkpoint and samples it (per_image_posterior.csv). A run made
    before runs kept their test predictions must be re-run.
    """
    from vsbench.engine.rescore import rescore_run, tiers_of

    out = console()
    chosen = tiers_of(tier)
    table = Table(title=f"biological tiers ({tier})")
    for name in ("run", "nuclei F1", "cells F1", "feature r (median)", "features r>=0.5",
                 "mAP real", "mAP virtual", "CRPS", "cov 50/90"):
        table.add_column(name, justify="left" if name == "run" else "right")
    for path in runs:
        record = rescore_run(path, chosen, data_root, segmenter, workers, device=device)
        table.add_row(*summary_cells(Path(path).name, record.biometrics or {}),
                      *later_cells(record.profiles, record.posterior))
    out.print(table)


def summary_cells(name: str, summary: dict) -> list[str]:
    """One row of the command's table: a run's headline tier numbers (``-`` where absent)."""
    if summary.get("skipped"):
        return [name, "-", "-", "-", f"skipped: {summary['skipped']}"]
    instance = summary.get("instance") or {}
    average = (summary.get("features") or {}).get("average") or {}

    def fmt(value) -> str:
        return "-" if value is None else f"{value:.3f}"

    return [name, fmt((instance.get("nuclei") or {}).get("f1")),
            fmt((instance.get("cells") or {}).get("f1")), fmt(average.get("median_pearson")),
            fmt(average.get("fraction_good"))]


def _fmt(value) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{value:.3f}"


def later_cells(profiles: dict | None, posterior: dict | None) -> list[str]:
    """The profile and posterior tiers' headline numbers of a run (``-`` where absent)."""
    profiles, posterior = profiles or {}, posterior or {}
    average = posterior.get("average") or {}
    coverage = ("-" if not average else
                f"{_fmt(average.get('coverage_50'))}/{_fmt(average.get('coverage_90'))}")
    return [_fmt((profiles.get("real") or {}).get("mean_map")),
            _fmt((profiles.get("virtual") or {}).get("mean_map")),
            _fmt(average.get("crps")), coverage]
