"""``vsbench evaluate``: score completed runs' saved test predictions for the biological tiers
(nuclei and cells found, cell features measured), the profile tier (well-level mAP) and the
posterior tier (ensemble CRPS and coverage), without retraining."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from vsbench.cli import checks
from vsbench.cli.common import DATA_ROOT_HELP, console
from vsbench.cli.headlines import print_headlines


def evaluate(
    runs: List[Path] = typer.Argument(..., help="Run folders (RESULTS/runs/DATASET/METHOD/"
                                      "RUN_ID) to score."),
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
    from vsbench.rescore.finished import rescore_run, tiers_of

    chosen = tiers_of(tier)
    for path in runs:
        checks.input_folder(path, "RUN", "run folder")
    if data_root is not None:
        checks.output_folder(data_root, "--data-root")
    checks.device(device)
    out = console()
    for path in runs:
        record = rescore_run(path, chosen, data_root, segmenter, workers, device=device,
                             console=out)
        print_headlines(out, record, Path(path), f"{Path(path).name}: tier headlines")
