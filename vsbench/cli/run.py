"""``vsbench run``: train and evaluate one method, print its per-channel table."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from vsbench.cli import checks
from vsbench.cli.common import DATA_ROOT_HELP, RESULTS_HELP, console
from vsbench.cli.errors import method_failures
from vsbench.cli.headlines import print_headlines
from vsbench.protocol import METRICS


def run(
    method: str = typer.Option(..., "--method", "-m", help="Method to train and evaluate "
                               "(see `vsbench methods`)."),
    dataset: str = typer.Option("synthetic", "--dataset", "-d",
                                help="Dataset source (see `vsbench datasets`)."),
    preset: str = typer.Option("smoke", "--preset", "-p", help="Hyperparameter preset: smoke "
                               "(CPU, minutes) or paper (the paper's settings, for a GPU)."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed of training and sampling."),
    set_: Optional[List[str]] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                             help="Override a hyperparameter of the method or "
                                             "the run, e.g. --set epochs=2 (repeatable)."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA if present, else CPU), "
                               "cpu or cuda."),
    results: Path = typer.Option(Path("results"), "--results", help=RESULTS_HELP),
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help=DATA_ROOT_HELP),
    resume: bool = typer.Option(False, "--resume", help="Continue the latest unfinished run "
                                "with the same configuration from its last checkpoint."),
    deterministic: bool = typer.Option(False, "--deterministic", help="Use only deterministic "
                                       "CUDA kernels (slower; CPU runs are deterministic "
                                       "anyway)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch "
                                          "(default: torch's own choice); recorded in the "
                                          "run."),
    retrain: bool = typer.Option(False, "--retrain", help="Train even when a completed run "
                                 "already did this training (a method declaring trains_as, "
                                 "e.g. palette-threshold after palette, otherwise starts from "
                                 "that run's final checkpoint: the same weights)."),
    keep_optimizer: bool = typer.Option(False, "--keep-optimizer", help="Keep the "
                                        "optimiser's state in the final checkpoint (it is "
                                        "left out by default: twice the weights under Adam, "
                                        "and no training continues from the end)."),
) -> None:
    """Train and evaluate one method; write its run folder.

    Trains on the dataset's training split, predicts the test split, scores it (MSE, MAE, PCC,
    SSIM per channel) and writes config, metrics, per-image metrics, checkpoint and
    predictions.png under RESULTS/runs/.
    """
    from vsbench.config import parse_overrides

    checks.output_folder(results, "--results")
    checks.output_folder(data_root, "--data-root")
    checks.device(device, allowed=("auto", "cpu", "cuda", "cuda:N"))
    out = console()
    overrides = parse_overrides(set_ or [])
    from vsbench.engine import RunRequest, run_benchmark

    request = RunRequest(method=method, dataset=dataset, preset=preset, seed=seed,
                         overrides=overrides, device=device, results_dir=results,
                         data_root=data_root, resume=resume, deterministic=deterministic,
                         threads=threads, retrain=retrain, keep_optimizer=keep_optimizer)
    with method_failures(method):
        result = run_benchmark(request, out)
    record = result.metrics
    table = Table(title=f"{method} on {dataset} - {record.n_test_images} test images "
                        f"(seed {seed})")
    table.add_column("channel")
    for name in ("MSE", "MAE", "PCC", "SSIM"):
        table.add_column(name, justify="right")
    for channel, values in record.channels.items():
        table.add_row(channel, *(_fmt(values[m]) for m in METRICS))
    table.add_row("[bold]Average[/]", *(f"[bold]{_fmt(record.average[m])}[/]" for m in METRICS))
    out.print(table)
    out.print(f"train {record.train_seconds:.1f} s, predict "
              f"{record.predict_seconds_per_image:.4f} s/image", highlight=False)
    print_headlines(out, record, result.folder, f"{method}: tier headlines")


def _fmt(value: float) -> str:
    return f"{value:.4f}"
