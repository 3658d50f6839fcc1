"""``vsbench sweep``: run a grid of methods and seeds, then show the leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"'{text}': give comma-separated integers, e.g. 0,1,2") from None


def sweep(
    methods: str = typer.Option(..., "--methods", metavar="A,B", help="Methods to run, "
                                "comma-separated, e.g. unet,palette."),
    seeds: str = typer.Option("0", "--seeds", metavar="0,1,2", help="Seeds, comma-separated."),
    dataset: str = typer.Option("synthetic", "--dataset", "-d", help="Dataset source."),
    preset: str = typer.Option("smoke", "--preset", "-p", help="Hyperparameter preset."),
    set_: Optional[List[str]] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                             help="Override a hyperparameter in every job "
                                             "(repeatable)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    results: Path = typer.Option(Path("results"), "--results", help="Results folder."),
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help="Local data root."),
    launcher: str = typer.Option("local", "--launcher", help="local (one job after another "
                                 "here), submitit-local (submitit's local executor) or slurm "
                                 "(submitit on a SLURM cluster)."),
    partition: Optional[str] = typer.Option(None, "--partition", help="SLURM partition."),
    gpus: int = typer.Option(1, "--gpus", help="GPUs per SLURM job."),
    cpus: int = typer.Option(8, "--cpus", help="CPUs per SLURM job."),
    time_min: int = typer.Option(240, "--time", help="Time limit per job, minutes."),
) -> None:
    """Run every method x seed, skipping runs already completed with the same config.

    Re-running a sweep after an interruption only runs what is missing. Ends with the
    leaderboard of the results folder.
    """
    from vsbench.cli import _fail, _user_errors, app
    from vsbench.config import parse_overrides
    from vsbench.engine import RunRequest
    from vsbench.sweep import SlurmOptions, run_sweep

    console = Console()
    try:
        base = RunRequest(method="", dataset=dataset, preset=preset,
                          overrides=parse_overrides(set_ or []), device=device,
                          results_dir=results, data_root=data_root)
        outcomes = run_sweep(base, [m.strip() for m in methods.split(",") if m.strip()],
                             _ints(seeds), launcher,
                             SlurmOptions(partition, gpus, cpus, time_min), console)
    except (*_user_errors(), ValueError) as exc:
        _fail(str(exc))
    table = Table(title="sweep")
    for column in ("method", "seed", "status", "run folder or error"):
        table.add_column(column)
    for o in outcomes:
        style = {"failed": "red", "skipped": "dim"}.get(o.status, "green")
        table.add_row(o.method, str(o.seed), f"[{style}]{o.status}[/]",
                      o.error if o.error else Path(o.folder).name)
    console.print(table)
    from typer.main import get_command

    get_command(app).main(["compare", "--results", str(results), "--data-root", str(data_root)],
                          standalone_mode=False)
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)
