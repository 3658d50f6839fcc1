"""``vsbench sweep``: run a grid of methods and seeds, then show the leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.table import Table

from vsbench.cli import checks
from vsbench.cli.common import console
from vsbench.cli.compare import show_leaderboards
from vsbench.cli.errors import print_error
from vsbench.config import check_seed
from vsbench.data.sources import DEFAULT_DATASET
from vsbench.errors import ConfigError, NothingToShow


def _names(option: str, text: str, example: str) -> list[str]:
    """A comma-separated list: not empty, no name twice (a seed run twice would count twice)."""
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        raise ConfigError(f"{option} '{text}' names nothing; give a comma-separated list, e.g. "
                          f"{option} {example}.")
    twice = sorted({x for x in items if items.count(x) > 1})
    if twice:
        raise ConfigError(f"{option} '{text}' names {', '.join(twice)} more than once; give "
                          "each once.")
    return items


def _seeds(text: str) -> list[int]:
    seeds = []
    for item in _names("--seeds", text, "0,1,2"):
        try:
            seed = int(item)
        except ValueError:
            raise ConfigError(f"--seeds '{text}': '{item}' is not an integer; give "
                              "comma-separated integers, e.g. 0,1,2.") from None
        seeds.append(check_seed(seed, "--seeds"))
    if len(set(seeds)) < len(seeds):  # "0,00" names seed 0 twice
        raise ConfigError(f"--seeds '{text}' names a seed more than once; give each once.")
    return seeds


_Methods = Annotated[str, typer.Option("--methods", metavar="A,B", help="Methods to run, "
                                       "comma-separated, e.g. unet,palette.")]
_Seeds = Annotated[str, typer.Option("--seeds", metavar="0,1,2", help="Seeds, comma-separated.")]
_Dataset = Annotated[str, typer.Option("--dataset", "-d", help="Dataset source.")]
_Preset = Annotated[str, typer.Option("--preset", "-p", help="Hyperparameter preset.")]
_Set = Annotated[Optional[List[str]], typer.Option("--set", metavar="KEY=VALUE",
                                                   help="Override a hyperparameter in every "
                                                   "job (repeatable).")]
_Device = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
_Results = Annotated[Path, typer.Option("--results", help="Results folder.")]
_DataRoot = Annotated[Path, typer.Option("--data-root", help="Local data root.")]
_Launcher = Annotated[str, typer.Option("--launcher", help="local (one job after another "
                                        "here), submitit-local (submitit's local executor) or "
                                        "slurm (submitit on a SLURM cluster).")]
_Partition = Annotated[Optional[str], typer.Option("--partition", help="SLURM partition.")]
_Gpus = Annotated[int, typer.Option("--gpus", help="GPUs per SLURM job.")]
_Cpus = Annotated[int, typer.Option("--cpus", help="CPUs per SLURM job.")]
_Time = Annotated[int, typer.Option("--time", help="Time limit per job, minutes.")]
_Jobs = Annotated[int, typer.Option("--jobs", "-j", help="Run this many grid cells at once on "
                                    "this machine (local launcher), each with its share of "
                                    "the cores; results equal a sequential sweep with the "
                                    "same --threads.")]
_Threads = Annotated[Optional[int], typer.Option("--threads", help="CPU threads per run "
                                                 "(default: torch's, or the cores / --jobs).")]
_Retrain = Annotated[bool, typer.Option("--retrain", help="Train every job, even those that "
                                        "could reuse another method's identical training "
                                        "(MethodSpec.trains_as: the palette-family methods).")]


def sweep(methods: _Methods, seeds: _Seeds = "0", dataset: _Dataset = DEFAULT_DATASET,
          preset: _Preset = "smoke", set_: _Set = None, device: _Device = "auto",
          results: _Results = Path("results"), data_root: _DataRoot = Path("datasets"),
          launcher: _Launcher = "local", partition: _Partition = None, gpus: _Gpus = 1,
          cpus: _Cpus = 8, time_min: _Time = 240, jobs: _Jobs = 1, threads: _Threads = None,
          retrain: _Retrain = False) -> None:
    """Run every method x seed, skipping runs already completed with the same config.

    Re-running a sweep after an interruption only runs what is missing. Ends with the
    leaderboard of the results folder.
    """
    from vsbench.config import parse_overrides
    from vsbench.engine import RunRequest
    from vsbench.sweep import SlurmOptions, check_launcher, run_sweep

    method_names, seed_values = _names("--methods", methods, "unet,palette"), _seeds(seeds)
    check_launcher(launcher, jobs)
    checks.output_folder(results, "--results")
    checks.output_folder(data_root, "--data-root")
    if launcher != "slurm":  # a SLURM job's device is the cluster node's, not this machine's
        checks.device(device, allowed=("auto", "cpu", "cuda", "cuda:N"))
    out = console()
    base = RunRequest(method="", dataset=dataset, preset=preset,
                      overrides=parse_overrides(set_ or []), device=device,
                      results_dir=results, data_root=data_root, threads=threads,
                      retrain=retrain)
    # A job's own failure (even a crash) is one row of the table, not the end of the grid.
    outcomes = run_sweep(base, method_names, seed_values, launcher,
                         SlurmOptions(partition, gpus, cpus, time_min), out, jobs=jobs)
    out.print(_outcome_table(outcomes))
    try:
        show_leaderboards(results, data_root)
    except NothingToShow as exc:  # every job failed: the table above says why
        print_error(str(exc))
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


def _outcome_table(outcomes: list) -> Table:
    """One row per job (a :class:`vsbench.sweep.JobOutcome`, whose module imports torch):
    method, seed, status (failed red, skipped dim) and its run folder or error."""
    table = Table(title="sweep")
    for column in ("method", "seed", "status", "run folder or error"):
        table.add_column(column)
    for o in outcomes:
        style = {"failed": "red", "skipped": "dim"}.get(o.status, "green")
        table.add_row(o.method, str(o.seed), f"[{style}]{o.status}[/]",
                      o.error if o.error else Path(o.folder).name)
    return table
