"""``vsbench run``: train and evaluate one method, print its per-channel table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.table import Table

from vsbench.cli import checks
from vsbench.cli.common import console
from vsbench.cli.errors import method_failures
from vsbench.cli.headlines import print_headlines
from vsbench.cli.options import DataRoot, Results
from vsbench.data.sources import DEFAULT_DATASET
from vsbench.protocol import METRICS
from vsbench.records import MetricsRecord


_Method = Annotated[str, typer.Option("--method", "-m", help="Method to train and evaluate "
                                      "(see `vsbench methods`).")]
_Dataset = Annotated[str, typer.Option("--dataset", "-d",
                                       help="Dataset source (see `vsbench datasets`).")]
_Preset = Annotated[str, typer.Option("--preset", "-p", help="Hyperparameter preset: smoke "
                                      "(CPU, minutes) or paper (the paper's settings, for a "
                                      "GPU).")]
_Seed = Annotated[int, typer.Option("--seed", "-s", help="Random seed of training and "
                                    "sampling.")]
_Set = Annotated[Optional[List[str]], typer.Option("--set", metavar="KEY=VALUE",
                                                   help="Override a hyperparameter of the "
                                                   "method or the run, e.g. --set epochs=2 "
                                                   "(repeatable).")]
_Device = Annotated[str, typer.Option("--device", help="auto (CUDA if present, else CPU), "
                                      "cpu or cuda.")]
_Resume = Annotated[bool, typer.Option("--resume", help="Continue the latest unfinished run "
                                       "with the same configuration from its last "
                                       "checkpoint.")]
_Deterministic = Annotated[bool, typer.Option("--deterministic", help="Use only deterministic "
                                              "CUDA kernels (slower; CPU runs are "
                                              "deterministic anyway).")]
_Threads = Annotated[Optional[int], typer.Option("--threads", help="CPU threads for torch "
                                                 "(default: torch's own choice); recorded in "
                                                 "the run.")]
_Retrain = Annotated[bool, typer.Option("--retrain", help="Train even when a completed run "
                                        "already did this training (a method declaring "
                                        "trains_as, e.g. palette-threshold after palette, "
                                        "otherwise starts from that run's final checkpoint: "
                                        "the same weights).")]
_KeepOptimizer = Annotated[bool, typer.Option("--keep-optimizer", help="Keep the optimiser's "
                                              "state in the final checkpoint (it is left out "
                                              "by default: twice the weights under Adam, and "
                                              "no training continues from the end).")]


def run(method: _Method, dataset: _Dataset = DEFAULT_DATASET, preset: _Preset = "smoke",
        seed: _Seed = 0, set_: _Set = None, device: _Device = "auto",
        results: Results = Path("results"), data_root: DataRoot = Path("datasets"),
        resume: _Resume = False, deterministic: _Deterministic = False,
        threads: _Threads = None, retrain: _Retrain = False,
        keep_optimizer: _KeepOptimizer = False) -> None:
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
    out.print(_channel_table(record, f"{method} on {dataset} - {record.n_test_images} test "
                                     f"images (seed {seed})"))
    out.print(f"train {record.train_seconds:.1f} s, predict "
              f"{record.predict_seconds_per_image:.4f} s/image", highlight=False)
    print_headlines(out, record, result.folder, f"{method}: tier headlines")


def _channel_table(record: MetricsRecord, title: str) -> Table:
    """The run's pixel metrics, one row per channel and the Average in bold."""
    table = Table(title=title)
    table.add_column("channel")
    for name in ("MSE", "MAE", "PCC", "SSIM"):
        table.add_column(name, justify="right")
    for channel, values in record.channels.items():
        table.add_row(channel, *(_fmt(values[m]) for m in METRICS))
    table.add_row("[bold]Average[/]", *(f"[bold]{_fmt(record.average[m])}[/]" for m in METRICS))
    return table

def _fmt(value: float) -> str:
    return f"{value:.4f}"
