"""Sweeps: the grid of methods x seeds, skipping runs already completed with the same config.

Jobs run one after another in this process (``local``), or through submitit: as local
subprocesses (``submitit-local``) or as SLURM jobs (``slurm``). A sweep can be re-run after an
interruption: completed runs are found by their configuration hash and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from rich.console import Console

from vsbench.engine import RunRequest, plan_run, run_benchmark
from vsbench.errors import ConfigError
from vsbench.layout import submitit_folder
from vsbench.store import ResultsStore

LAUNCHERS = ("local", "submitit-local", "slurm")


@dataclass
class SlurmOptions:
    """Resources for each job on a SLURM cluster."""

    partition: str | None = None
    gpus_per_node: int = 1
    cpus_per_task: int = 8
    timeout_min: int = 240


@dataclass
class JobOutcome:
    """What became of one (method, seed) job."""

    method: str
    seed: int
    status: str  # completed, skipped (already completed), failed
    folder: str | None = None
    error: str | None = None


def completed_run(request: RunRequest, console: Console | None = None) -> Path | None:
    """The folder of a completed run with the same resolved configuration, if any (its
    metrics record the configuration hash too, so a damaged ``config.json`` does not make the
    sweep run that seed again; the warning says the leaderboard cannot count it)."""
    plan = plan_run(request)
    done = ResultsStore(request.results_dir).completed_with(request.dataset, request.method,
                                                            plan.config.config_hash)
    if done is None:
        return None
    if done.config_problem is not None and console is not None:
        console.print(f"[yellow]warning:[/] {done.config_problem} - the run is completed, so "
                      "it is not run again, but leaderboards cannot count it until its "
                      "config.json is restored (or delete the folder to run it again).",
                      highlight=False, soft_wrap=True)
    return done.folder.path


def _run_job(request: RunRequest) -> str:
    """One job (module level, so that submitit can pickle it)."""
    return str(run_benchmark(request, Console(quiet=True)).folder)


def _executor(launcher: str, folder: Path, slurm: SlurmOptions):
    import submitit

    if launcher == "submitit-local":
        executor = submitit.LocalExecutor(folder=str(folder))
        executor.update_parameters(timeout_min=slurm.timeout_min)
        return executor
    executor = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
    executor.update_parameters(timeout_min=slurm.timeout_min, gpus_per_node=slurm.gpus_per_node,
                               cpus_per_task=slurm.cpus_per_task, tasks_per_node=1,
                               slurm_partition=slurm.partition)
    return executor


def run_sweep(base: RunRequest, methods: list[str], seeds: list[int], launcher: str = "local",
              slurm: SlurmOptions | None = None, console: Console | None = None,
              runner: Callable[[RunRequest], str] = _run_job) -> list[JobOutcome]:
    """Run every (method, seed) of the grid that has no completed run yet."""
    if launcher not in LAUNCHERS:
        raise ConfigError(f"Unknown launcher '{launcher}'; use one of {', '.join(LAUNCHERS)}.")
    console = console or Console()
    outcomes: list[JobOutcome] = []
    todo: list[RunRequest] = []
    for method in methods:
        for seed in seeds:
            request = replace(base, method=method, seed=seed, resume=False)
            done = completed_run(request, console)
            if done is not None:
                outcomes.append(JobOutcome(method, seed, "skipped", str(done)))
                console.print(f"skip {method} seed {seed}: completed in {done.name}")
            else:
                todo.append(request)
    if launcher == "local":
        for request in todo:
            console.print(f"[bold]run[/] {request.method} seed {request.seed}")
            try:
                outcomes.append(JobOutcome(request.method, request.seed, "completed",
                                           runner(request)))
            except Exception as exc:  # one failing job must not stop the grid
                outcomes.append(JobOutcome(request.method, request.seed, "failed",
                                           error=f"{type(exc).__name__}: {exc}"))
                console.print(f"[red]failed[/] {request.method} seed {request.seed}: {exc}")
        return outcomes
    executor = _executor(launcher, submitit_folder(base.results_dir), slurm or SlurmOptions())
    jobs = [(request, executor.submit(runner, request)) for request in todo]
    console.print(f"submitted {len(jobs)} job(s) with {launcher}; waiting for them")
    for request, job in jobs:
        try:
            outcomes.append(JobOutcome(request.method, request.seed, "completed", job.result()))
        except Exception as exc:
            outcomes.append(JobOutcome(request.method, request.seed, "failed",
                                       error=f"{type(exc).__name__}: {str(exc)[-500:]}"))
    return outcomes
