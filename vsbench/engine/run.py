"""One benchmark run from request to run folder: the orchestration of the engine's parts.

:func:`run_benchmark` plans the run (:mod:`~vsbench.engine.plan`), opens its folder (new, or the
unfinished one ``--resume`` continues), builds the data and the method
(:mod:`~vsbench.engine.build`), trains (:mod:`~vsbench.engine.train`), evaluates
(:mod:`~vsbench.engine.evaluate`) and writes the results (:mod:`~vsbench.engine.record`).
Process-wide torch flags the run changes are restored when it ends
(:func:`~vsbench.engine.runtime.restored_torch_flags`).
"""

from __future__ import annotations

import os
import platform
import time
import traceback
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console

from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.engine.build import build_data, build_val_data, method_cache, method_for
from vsbench.engine.checkpointing import CheckpointWriter, load_checkpoint, position
from vsbench.engine.distributed import (DistContext, barrier, broadcast, gather, init_from_env,
                                        shutdown)
from vsbench.engine.evaluate import FieldCollector, evaluate
from vsbench.engine.plan import RunPlan, RunRequest, plan_run
from vsbench.engine.record import write_results
from vsbench.engine.runtime import (apply_speedups, restored_torch_flags, seed_everything,
                                    select_device)
from vsbench.engine.shared_training import find_trained, load_shared_checkpoint, training_record
from vsbench.engine.tiers import score_run_tiers
from vsbench.engine.tracking import Tracker
from vsbench.engine.train import train
from vsbench.errors import CheckpointError, ConfigError, EngineError, ResultsError
from vsbench.layout import CHECKPOINT_FILE
from vsbench.method import Method
from vsbench.metrics import MetricAccumulator
from vsbench.plugins import Registry
from vsbench.records import ConfigRecord, MetricsRecord
from vsbench.store import ResultsStore, RunFolder


@dataclass
class RunResult:
    """A finished run: its folder and its metrics record."""

    folder: Path
    metrics: MetricsRecord
    resumed: bool = False


@dataclass(frozen=True)
class OpenedRun:
    """The folder a run writes to, its config record and the checkpoint it resumes from."""

    folder: RunFolder
    config: ConfigRecord
    resume_from: dict | None = None


def _still_running(folder: RunFolder) -> int | None:
    """The process id of a run that is still training (its state says running and that
    process is alive on this host), else None."""
    try:
        state = folder.read_state()
    except ResultsError:
        return None
    if state.status != "running" or state.pid is None or state.host != platform.node():
        return None
    if state.pid == os.getpid():
        return None
    try:
        os.kill(state.pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return None
    except PermissionError:  # it exists, under another user
        return state.pid
    return state.pid


def _resumed(plan: RunPlan, folder: RunFolder, console: Console) -> OpenedRun:
    """An unfinished run folder continued from its checkpoint (from the start without one)."""
    pid = _still_running(folder)
    if pid is not None:
        raise EngineError(f"--resume: {folder.run_id} is still training (process {pid} on "
                          "this machine); wait for it to finish or stop it first.")
    removed = folder.remove_stale_temporaries()  # e.g. a checkpoint half-written when killed
    if removed:
        console.print(f"removed {len(removed)} half-written file(s) of the interrupted run: "
                      + ", ".join(p.name for p in removed))
    config = plan.config.replace(started=folder.read_config().started)
    ckpt = folder.file(CHECKPOINT_FILE)
    try:
        resume_from = load_checkpoint(ckpt) if ckpt.exists() else None
    except CheckpointError as exc:
        folder.set_state("failed", error=f"--resume: {exc}")
        raise EngineError(f"--resume: the checkpoint {ckpt} cannot be read ({exc.__cause__!r}); "
                          f"start a fresh run instead (run without --resume; {folder.run_id} "
                          "is marked failed).") from None
    if resume_from is None:
        where = "from the start (it has no checkpoint yet)"
    else:
        epoch, step = position(resume_from)
        where = f"at epoch {epoch + 1}, step {step}"
    console.print(f"[bold]resuming[/] {folder.run_id} {where}")
    return OpenedRun(folder, config, resume_from)


def open_run(plan: RunPlan, console: Console) -> OpenedRun:
    """The run folder (new, or the unfinished one ``--resume`` continues), its config record
    and the checkpoint to resume from, if any."""
    request = plan.request
    store = ResultsStore(request.results_dir)
    unfinished = [run.folder for run in store.unfinished(request.dataset, request.method,
                                                         plan.config.config_hash)]
    if request.resume:
        if not unfinished:
            raise EngineError(f"--resume: no unfinished {request.method} run on "
                              f"{request.dataset} with this configuration under "
                              f"{request.results_dir}/runs; run without --resume to start one.")
        return _resumed(plan, unfinished[-1], console)
    if unfinished:
        console.print(f"[yellow]note:[/] unfinished run(s) with this configuration exist "
                      f"({', '.join(f.run_id for f in unfinished)}); pass --resume to "
                      "continue the latest instead of starting over.")
    folder = store.create(request.dataset, request.method, request.seed)
    return OpenedRun(folder, plan.config.replace(started=time.strftime("%Y-%m-%dT%H:%M:%S")))


def run_benchmark(request: RunRequest, console: Console | None = None,
                  registry: Registry | None = None) -> RunResult:
    """Train and evaluate one method on one dataset and write its run folder.

    With ``request.resume``, an unfinished run with the same resolved configuration continues
    from its last checkpoint instead of starting a new folder. Under torchrun (WORLD_SIZE > 1)
    the ranks share training and prediction and rank 0 alone writes the folder. The process's
    torch flags (deterministic algorithms, cuDNN autotuning) are as before when it returns.
    """
    if request.threads is not None and request.threads < 1:
        raise ConfigError(f"--threads {request.threads}: give 1 or more CPU threads.")
    with restored_torch_flags():
        if request.threads:
            torch.set_num_threads(request.threads)
        device = select_device(request.device)
        ctx = init_from_env(device.type)
        if ctx.enabled and device.type == "cuda":
            device = torch.device("cuda", ctx.local_rank)
            torch.cuda.set_device(device)
        console = console or Console()
        if not ctx.is_main:
            console = Console(quiet=True)
        try:
            return _run(plan_run(request, registry, device), console, ctx)
        finally:
            shutdown(ctx)


def _announce(plan: RunPlan, folder: RunFolder, console: Console, ctx: DistContext) -> None:
    request = plan.request
    console.print(f"[bold]vsbench run[/] {request.method} on {request.dataset} "
                  f"({request.preset}, seed {request.seed}, {plan.device}"
                  + (f" x {ctx.world_size} processes" if ctx.enabled else "")
                  + f") -> {folder.path}")
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _run(plan: RunPlan, console: Console, ctx: DistContext) -> RunResult:
    """Open the folder, run, and mark the folder failed if anything goes wrong."""
    opened = open_run(plan, console) if ctx.is_main else None
    opened = broadcast(opened, ctx)
    folder = opened.folder
    config = opened.config.replace(world_size=ctx.world_size)
    config, opened = _shared_training(plan, opened, config, console, ctx)
    if ctx.is_main:
        folder.write_config(config)
        folder.set_state("running", pid=os.getpid(), host=platform.node())
    _announce(plan, folder, console, ctx)
    try:
        record = _train_and_evaluate(plan, opened, config, console, ctx)
        barrier(ctx)
    except BaseException as exc:
        if ctx.is_main:
            folder.set_state("failed", error=f"{type(exc).__name__}: {exc}",
                             traceback=traceback.format_exc())
        raise
    return RunResult(folder.path, record, resumed=plan.request.resume)


def _shared_training(plan: RunPlan, opened: OpenedRun, config: ConfigRecord, console: Console,
                     ctx: DistContext) -> tuple[ConfigRecord, OpenedRun]:
    """Record the run's training key; a fresh single-process run whose training a completed
    run already did (:mod:`vsbench.engine.shared_training`) starts from its final checkpoint
    (unless ``--retrain``)."""
    training = training_record(config.to_json(), plan.method_entry.spec)
    if opened.resume_from is None and not plan.request.retrain and not ctx.enabled:
        donor = find_trained(plan.request.results_dir, plan.request.dataset, training["key"],
                             plan.request.method)
        checkpoint = load_shared_checkpoint(donor) if donor is not None else None
        if checkpoint is not None:
            training["reused"] = {"method": donor.parent.name, "run": donor.name,
                                  "folder": str(donor)}
            opened = OpenedRun(opened.folder, opened.config, checkpoint)
            console.print(f"training: reusing {donor.parent.name}/{donor.name} (the same "
                          "training, bit for bit; --retrain trains anyway)")
    return config.replace(extra={**config.extra, "training": training}), opened


def _prepared_method(plan: RunPlan, train_data: PairedImageDataset, config: ConfigRecord,
                     folder: RunFolder, ctx: DistContext) -> tuple[Method, ConfigRecord]:
    """The plan's method on the run's device, sped up and prepared on the training split; the
    config record with what the method reports after preparing (rewritten when it reports)."""
    method = method_for(plan)
    method.to(plan.device)
    apply_speedups(method, plan.resolved.run, plan.device, plan.request.deterministic)
    method.prepare(train_data, plan.device, method_cache(plan))
    method_record = method.run_record()
    if method_record:  # known only now (e.g. which weights were loaded): added, not hashed
        config = config.replace(method_record=method_record)
        if ctx.is_main:
            folder.write_config(config)
    return method, config


def _train_and_evaluate(plan: RunPlan, opened: OpenedRun, config: ConfigRecord,
                        console: Console, ctx: DistContext) -> MetricsRecord:
    """Data, method, training, evaluation (every rank its share) and the results (rank 0
    writes them; every rank returns them)."""
    request, run, folder = plan.request, plan.resolved.run, opened.folder
    seed_everything(request.seed, request.deterministic)
    train_data, test_data = build_data(plan, ctx)  # builds the caches on first use
    method, config = _prepared_method(plan, train_data, config, folder, ctx)
    if ctx.enabled:  # same initial weights everywhere, different noise per rank
        torch.manual_seed(request.seed + 1_000_003 * ctx.rank)
    record = None
    writer = CheckpointWriter()  # the final checkpoint is written while the run evaluates
    with closing(Tracker(folder.path if ctx.is_main else None, run.tensorboard)) as tracker:
        trained = train(method, train_data, run, plan.device, request.seed, console,
                        checkpoint_path=folder.file(CHECKPOINT_FILE),
                        resume_from=opened.resume_from, ctx=ctx, tracker=tracker,
                        writer=writer, keep_optimizer=request.keep_optimizer,
                        val_data=build_val_data(plan))
        fields = FieldCollector()
        scores, preview, predict_seconds, unguided = evaluate(method, test_data, run,
                                                              plan.device, request.method,
                                                              console, fields)
        parts = gather((scores, predict_seconds, unguided, fields), ctx)
        writer.join()  # before anything marks the run completed
        if ctx.is_main:
            method.write_artifacts(folder.path, preview)
            scores = MetricAccumulator.merged([p[0] for p in parts])
            firsts = [p[2] for p in parts if p[2] is not None]
            fields = FieldCollector().merge([p[3] for p in parts])
            tiers = score_run_tiers(plan, folder, fields, method, test_data, console,
                                    distributed=ctx.enabled)
            record = write_results(plan, config, folder, trained, scores, preview,
                                   sum(p[1] for p in parts),
                                   unguided=MetricAccumulator.merged(firsts) if firsts else None,
                                   biometrics=tiers.pop("biometrics", None), tiers=tiers)
            tracker.metrics(record, trained.step)
    return broadcast(record, ctx)
