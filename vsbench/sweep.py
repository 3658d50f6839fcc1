"""Sweeps: the grid of methods x seeds, skipping runs already completed with the same config.

Jobs run one after another in this process (``local``), or through submitit: as local
subprocesses (``submitit-local``) or as SLURM jobs (``slurm``). A sweep can be re-run after an
interruption: completed runs are found by their configuration hash and skipped.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.markup import escape

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


def check_launcher(launcher: str, jobs: int = 1) -> str:
    """``launcher`` if this machine can use it with ``jobs``: a known name, submitit installed
    for the submitit launchers, and SLURM's ``srun`` on the PATH for ``slurm`` (what submitit
    looks for); else a :class:`ConfigError` saying what to install or use instead."""
    if launcher not in LAUNCHERS:
        raise ConfigError(f"Unknown launcher '{launcher}'; use one of {', '.join(LAUNCHERS)}.")
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: give 1 or more concurrent jobs.")
    if jobs > 1 and launcher != "local":
        raise ConfigError(f"--jobs runs grid cells concurrently on this machine; with "
                          f"--launcher {launcher} the scheduler does that, so drop --jobs.")
    if launcher == "local":
        return launcher
    try:
        import submitit  # noqa: F401 - only whether it is there
    except ImportError:
        raise ConfigError(f"--launcher {launcher} needs submitit, which is not installed; "
                          "`pip install -e '.[cluster]'`, or use --launcher local.") from None
    if launcher == "slurm" and shutil.which("srun") is None:
        raise ConfigError("--launcher slurm: SLURM was not found on this machine (no srun on "
                          "the PATH); run the sweep from a SLURM login node, or use "
                          "--launcher submitit-local or --launcher local here.")
    return launcher


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


class GridProgress:
    """The grid's progress on the console: each finished job's headline (Average PCC and
    SSIM) with how many are done and an estimate of the time the rest need."""

    def __init__(self, console: Console, total: int) -> None:
        self.console, self.total, self.done = console, total, 0
        self.start = time.perf_counter()

    def finished(self, outcome: JobOutcome) -> None:
        """Report one finished (completed or failed) job."""
        self.done += 1
        elapsed = time.perf_counter() - self.start
        left = self.total - self.done
        eta = f", about {_minutes(elapsed / self.done * left)} left" if left else ""
        where = f"[{self.done}/{self.total}{eta}]"
        if outcome.status == "failed":
            self.console.print(f"[red]failed[/] {escape(outcome.method)} seed {outcome.seed} "
                               f"{where}: {escape(str(outcome.error))}", highlight=False)
            return
        self.console.print(f"[green]done[/] {escape(outcome.method)} seed {outcome.seed} "
                           f"{where}: {_headline(outcome.folder)}", highlight=False)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _headline(folder: str | None) -> str:
    """A finished run's Average PCC and SSIM and its training seconds (from metrics.json)."""
    from vsbench.errors import ResultsError
    from vsbench.store import RunFolder

    try:
        record = RunFolder(Path(str(folder))).read_metrics()
    except (ResultsError, OSError):
        return f"completed in {folder}"
    return (f"Average PCC {record.average['pcc']:.4f}, SSIM {record.average['ssim']:.4f} "
            f"(train {record.train_seconds:.0f} s)")


def threads_per_job(jobs: int, cpus: int | None = None) -> int:
    """Each of ``jobs`` concurrent jobs' share of the machine's cores (at least one)."""
    return max(1, (cpus or os.cpu_count() or 1) // jobs)


def _run_concurrently(todo: list[RunRequest], jobs: int, console: Console,
                      runner: Callable[[RunRequest], str],
                      progress: GridProgress) -> list[JobOutcome]:
    """Independent grid cells in ``jobs`` worker processes (spawned: each its own torch),
    reported as they finish."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    outcomes = []
    with ProcessPoolExecutor(max_workers=jobs,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(runner, request): request for request in todo}
        console.print(f"running {len(todo)} job(s), {jobs} at a time, "
                      f"{todo[0].threads} thread(s) each")
        for future in as_completed(futures):
            request = futures[future]
            try:
                outcomes.append(JobOutcome(request.method, request.seed, "completed",
                                           future.result()))
            except Exception as exc:  # one failing job must not stop the grid
                outcomes.append(JobOutcome(request.method, request.seed, "failed",
                                           error=f"{type(exc).__name__}: {exc}"))
            progress.finished(outcomes[-1])
    order = {(r.method, r.seed): i for i, r in enumerate(todo)}
    return sorted(outcomes, key=lambda o: order[(o.method, o.seed)])


def run_sweep(base: RunRequest, methods: list[str], seeds: list[int], launcher: str = "local",
              slurm: SlurmOptions | None = None, console: Console | None = None,
              runner: Callable[[RunRequest], str] = _run_job, jobs: int = 1) -> list[JobOutcome]:
    """Run every (method, seed) of the grid that has no completed run yet; with ``jobs`` > 1
    (local launcher), that many at once, each with its share of the cores (``base.threads``
    when given), which every run records."""
    check_launcher(launcher, jobs)
    if jobs > 1 and base.threads is None:
        base = replace(base, threads=threads_per_job(jobs))
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
    waves = _waves(todo, base.retrain)
    if len(waves) > 1:
        console.print(f"{len(waves[1])} job(s) can reuse the training of another method of "
                      "the grid (MethodSpec.trains_as): they run after the jobs that train")
    progress = GridProgress(console, len(todo))
    ran = [o for wave in waves for o in _run_wave(wave, base, launcher, slurm, console,
                                                     runner, jobs, progress)]
    order = {(r.method, r.seed): i for i, r in enumerate(todo)}  # the grid's order again
    return outcomes + sorted(ran, key=lambda o: order[(o.method, o.seed)])


def _waves(todo: list[RunRequest], retrain: bool) -> list[list[RunRequest]]:
    """The jobs that train, then those that can reuse one of their trainings
    (:func:`vsbench.engine.shared_training.sharing_groups`); one wave with ``--retrain``."""
    from vsbench.engine.shared_training import sharing_groups

    if retrain or len(todo) < 2:
        return [todo] if todo else []
    first, later = sharing_groups([(r.method, r.seed) for r in todo])
    return [[todo[i] for i in first], [todo[i] for i in later]] if later else [todo]


def _run_wave(todo: list[RunRequest], base: RunRequest, launcher: str,
              slurm: SlurmOptions | None, console: Console,
              runner: Callable[[RunRequest], str], jobs: int,
              progress: GridProgress) -> list[JobOutcome]:
    """Run ``todo`` with the launcher (every job finished when this returns)."""
    outcomes: list[JobOutcome] = []
    if launcher == "local" and jobs > 1 and len(todo) > 1:
        return _run_concurrently(todo, jobs, console, runner, progress)
    if launcher == "local":
        for request in todo:
            console.print(f"[bold]run[/] {request.method} seed {request.seed}")
            try:
                outcomes.append(JobOutcome(request.method, request.seed, "completed",
                                           runner(request)))
            except Exception as exc:  # one failing job must not stop the grid
                outcomes.append(JobOutcome(request.method, request.seed, "failed",
                                           error=f"{type(exc).__name__}: {exc}"))
            progress.finished(outcomes[-1])
        return outcomes
    executor = _executor(launcher, submitit_folder(base.results_dir), slurm or SlurmOptions())
    submitted = [(request, executor.submit(runner, request)) for request in todo]
    console.print(f"submitted {len(submitted)} job(s) with {launcher}; waiting for them")
    for request, job in submitted:
        try:
            outcomes.append(JobOutcome(request.method, request.seed, "completed", job.result()))
        except Exception as exc:
            outcomes.append(JobOutcome(request.method, request.seed, "failed",
                                       error=f"{type(exc).__name__}: {str(exc)[-500:]}"))
        progress.finished(outcomes[-1])
    return outcomes
