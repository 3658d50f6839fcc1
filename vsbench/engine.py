"""The one training and prediction loop every method runs through.

The engine resolves the configuration, prepares the shared split, builds the method from its
plugin, trains it (device, precision, seeds, optimiser, checkpoints, resume, progress), predicts
the test part, scores it with the one metric protocol, and writes the run folder. A method
supplies only its model, its training-step loss and its prediction.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import random
import shutil
import subprocess
import time
import traceback
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

import vsbench
from vsbench import config as cfg
from vsbench.batchnorm import batchnorm_layers, recompute_batchnorm_statistics
from vsbench.checkpoint import (CheckpointError, load_checkpoint, rng_state, save_checkpoint,
                                set_rng_state)
from vsbench.data.sampler import EpochSampler
from vsbench.distributed import (DistContext, barrier, broadcast, gather, init_from_env, shard,
                                 shutdown, wrap_model)
from vsbench.data.source import DatasetSource
from vsbench.data.splits import Split, load_or_create_split
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.method import Method
from vsbench.metrics import MetricAccumulator
from vsbench.figures import prediction_grid
from vsbench.plugins import Registered, Registry, default_registry
from vsbench.progress import progress_bar
from vsbench import atomic
from vsbench.errors import EngineError
from vsbench.layout import (CHECKPOINT_FILE, PER_IMAGE_FILE, PREDICTIONS_FILE, PREVIEW_FILE,
                            TRAIN_LOG_FILE, dataset_folder)
from vsbench.records import ConfigRecord, MetricsRecord
from vsbench.records import config_hash as _config_hash
from vsbench.store import ResultsStore, RunFolder
from vsbench.tiling import predict_batch_tiled
from vsbench.tracking import Tracker


@dataclass
class RunRequest:
    """What the user asked for (the CLI's options)."""

    method: str
    dataset: str = "synthetic"
    preset: str = "smoke"
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    results_dir: Path = Path("results")
    data_root: Path = Path("datasets")
    resume: bool = False
    deterministic: bool = False


@dataclass
class RunResult:
    """A finished run: its folder and its metrics record."""

    folder: Path
    metrics: MetricsRecord
    resumed: bool = False


def select_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError("--device cuda was requested but no CUDA GPU is visible; use "
                          "--device cpu or --device auto.")
    if name != "cpu" and not name.startswith("cuda"):
        raise EngineError(f"Unknown device '{name}'; use auto, cpu or cuda.")
    return torch.device(name)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, numpy and torch; with ``deterministic``, also forbid nondeterministic
    CUDA kernels (slower, but the same seed then gives the same numbers on a GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def autocast_context(device: torch.device, precision: str):
    """Mixed precision: bf16 autocast on CUDA by default, full precision on the CPU."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def apply_speedups(method: Method, run: cfg.RunConfig, device: torch.device,
                   deterministic: bool = False) -> None:
    """The run's speed switches: cuDNN autotuning (CUDA only, not with --deterministic),
    channels_last weights, and ``torch.compile`` of the model in place (keeping its
    ``state_dict`` keys, so checkpoints load with or without it)."""
    if device.type == "cuda" and run.cudnn_benchmark and not deterministic:
        torch.backends.cudnn.benchmark = True
    if run.channels_last:
        for value in vars(method).values():
            if isinstance(value, torch.nn.Module):
                value.to(memory_format=torch.channels_last)
    if run.compile:
        if device.type == "cpu" and not any(shutil.which(c) for c in ("cc", "gcc", "clang")):
            raise EngineError("--set compile=true needs a C++ compiler on the CPU (none found on "
                              "PATH); install gcc or run without compile.")
        method.model.compile()


def loader_options(run: cfg.RunConfig, device: torch.device) -> dict[str, Any]:
    """DataLoader settings: pinned memory on CUDA, worker processes kept between epochs."""
    return {"num_workers": run.num_workers, "pin_memory": device.type == "cuda",
            "persistent_workers": run.num_workers > 0}


def code_version() -> dict[str, str | None]:
    """vsbench's version and, when run from a git checkout, its commit."""
    commit = None
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(vsbench.__file__).parent,
                             capture_output=True, text=True, timeout=5)
        commit = (out.stdout.strip() or None) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"vsbench": vsbench.__version__, "git_commit": commit, "torch": torch.__version__,
            "python": platform.python_version()}


def to_device(batch: dict[str, Any], device: torch.device,
              channels_last: bool = False) -> dict[str, Any]:
    """Move a collated batch (tensors and dicts of tensors) to ``device`` (images in the
    channels_last memory format when asked)."""
    out = {}
    for key, value in batch.items():
        if isinstance(value, dict):
            out[key] = {k: v.to(device, non_blocking=True) for k, v in value.items()}
        elif isinstance(value, torch.Tensor):
            out[key] = value.to(device, non_blocking=True)
            if channels_last and value.ndim == 4:
                out[key] = out[key].contiguous(memory_format=torch.channels_last)
        else:
            out[key] = value
    return out


@dataclass
class TrainState:
    """Where training stands: what a checkpoint records besides the weights."""

    epoch: int = 0
    seen: int = 0  # samples of the current epoch already trained on
    step: int = 0
    loss_sum: float = 0.0
    seconds: float = 0.0  # training time so far, over all sessions of the run
    log: list[dict] = field(default_factory=list)


@contextmanager
def _unwrapped(method: Method):
    """Let the method see its own model (not the DDP wrapper) inside the block, e.g. for
    ``state_dict`` keys that do not depend on the number of processes."""
    wrapper = method.model
    inner = getattr(wrapper, "module", None)
    if isinstance(wrapper, torch.nn.parallel.DistributedDataParallel):
        method.model = inner
    try:
        yield
    finally:
        method.model = wrapper


def train(method: Method, data: PairedImageDataset, run: cfg.RunConfig, device: torch.device,
          seed: int, console: Console, checkpoint_path: Path | None = None,
          resume_from: dict | None = None, ctx: DistContext = DistContext(),
          tracker: Tracker | None = None) -> TrainState:
    """Train ``method`` for ``run.epochs`` epochs; return the final state (log, seconds).

    When ``checkpoint_path`` is given, a checkpoint is written every ``run.checkpoint_every``
    optimiser steps, every ``run.checkpoint_minutes`` minutes, and when training ends (small
    runs would otherwise spend their time writing checkpoints); ``resume_from`` is such a
    checkpoint, and training continues exactly where it stopped (same samples, augmentations,
    noise). Under torchrun each rank takes its share of every global batch of
    ``run.batch_size`` samples and DDP averages the gradients.
    """
    global_batch = min(run.batch_size, len(data))
    if global_batch % ctx.world_size:
        raise EngineError(f"batch_size {global_batch} is not divisible by the {ctx.world_size} "
                          "processes; set --set batch_size to a multiple of it.")
    steps_per_epoch = len(data) // global_batch
    optimizer = torch.optim.AdamW(method.trainable_parameters(), lr=run.lr,
                                  weight_decay=run.weight_decay)
    state = TrainState()
    if resume_from is not None:
        method.load_state_dict(resume_from["method"])
        optimizer.load_state_dict(resume_from["optimizer"])
        state = TrainState(**resume_from["train_state"])
        set_rng_state(resume_from["rng"])
    session_start, seconds_before = time.perf_counter(), state.seconds
    last_checkpoint = time.perf_counter()

    def checkpoint() -> None:
        nonlocal last_checkpoint
        state.seconds = seconds_before + time.perf_counter() - session_start
        last_checkpoint = time.perf_counter()
        if checkpoint_path is not None and ctx.is_main:
            with _unwrapped(method):
                method_state = method.state_dict()
            save_checkpoint(checkpoint_path, {
                "method": method_state, "optimizer": optimizer.state_dict(),
                "train_state": vars(state) | {"log": list(state.log)}, "rng": rng_state()})

    method.model = wrap_model(method.model, ctx, device)
    method.train(True)
    with progress_bar(console, "train", run.epochs * steps_per_epoch, state.step) as bar:
        # One loader for all epochs (its worker processes persist); the sampler, which runs
        # in this process, is moved to each epoch in place. The loader gets its own
        # generator: it must not draw from the global RNG, whose state the checkpoint
        # restores for the method's own randomness.
        sampler = EpochSampler(len(data), seed, state.epoch, skip=state.seen,
                               global_batch=global_batch, rank=ctx.rank,
                               world_size=ctx.world_size)
        loader = torch.utils.data.DataLoader(
            data, batch_size=global_batch // ctx.world_size, sampler=sampler,
            generator=torch.Generator().manual_seed(seed), **loader_options(run, device))
        while state.epoch < run.epochs:
            start = time.perf_counter()
            sampler.epoch, sampler.skip = state.epoch, state.seen
            for batch in loader:
                batch = to_device(batch, device, run.channels_last)
                with autocast_context(device, run.precision):
                    loss = method.training_loss(batch)
                if not torch.isfinite(loss):
                    raise EngineError(f"training loss became {loss.item()} at epoch "
                                      f"{state.epoch + 1}; lower the learning rate "
                                      "(--set lr=...) or check the data.")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if run.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(method.trainable_parameters(), run.grad_clip)
                optimizer.step()
                method.after_optimizer_step()
                value = loss.detach().float()
                if ctx.enabled:  # log the global batch's loss, as a single process would
                    torch.distributed.all_reduce(value)
                    value /= ctx.world_size
                state.loss_sum += value.item() * global_batch
                state.seen += global_batch
                state.step += 1
                if tracker is not None:
                    tracker.scalar("train/loss", value.item(), state.step)
                bar.advance(1, status=f"epoch {state.epoch + 1}/{run.epochs} "
                            f"loss {value.item():.4f}")
                due = run.checkpoint_minutes and (
                    time.perf_counter() - last_checkpoint > 60 * run.checkpoint_minutes)
                if due or (run.checkpoint_every and state.step % run.checkpoint_every == 0):
                    checkpoint()
            state.log.append({"epoch": state.epoch + 1, "loss": state.loss_sum / max(state.seen, 1),
                              "seconds": round(time.perf_counter() - start, 3)})
            state.epoch, state.seen, state.loss_sum = state.epoch + 1, 0, 0.0
        _recompute_batchnorm(method, data, run, device)
        checkpoint()  # the final state: a crash during evaluation resumes without retraining
    state.seconds = seconds_before + time.perf_counter() - session_start
    method.model = getattr(method.model, "module", method.model)
    method.train(False)
    return state


def _recompute_batchnorm(method: Method, data: PairedImageDataset, run: cfg.RunConfig,
                         device: torch.device) -> None:
    """Precise BatchNorm statistics for the final weights (:mod:`vsbench.batchnorm`): over the
    whole training split without augmentation, on every process alike, so that every rank
    ends with the same statistics."""
    with _unwrapped(method):
        if not batchnorm_layers(method.model):
            return
        plain = data.unaugmented()  # already decoded and resized for training
        loader = torch.utils.data.DataLoader(plain, batch_size=min(run.batch_size, len(plain)),
                                             shuffle=False)

        def forward(batch: dict[str, Any]) -> None:
            with autocast_context(device, run.precision):
                method.predict(to_device(batch, device, run.channels_last))

        recompute_batchnorm_statistics(method.model, loader, forward)


@torch.inference_mode()
def evaluate(method: Method, data: PairedImageDataset, run: cfg.RunConfig, device: torch.device,
             method_name: str, console: Console) -> tuple[MetricAccumulator, dict, float]:
    """Predict every image of ``data`` and score it; return the metrics, a preview of the
    first ``run.n_preview`` images, and the seconds spent predicting."""
    options = loader_options(run, device) | {"persistent_workers": False}  # one pass only
    loader = torch.utils.data.DataLoader(data, batch_size=run.eval_batch_size, shuffle=False,
                                         **options)
    metrics = MetricAccumulator(data.source.info.channels)
    preview: dict[str, list] = {"brightfield": [], "prediction": [], "target": [], "ids": []}
    seconds = 0.0
    with progress_bar(console, "predict", len(data)) as bar:
        for batch in loader:
            batch = to_device(batch, device, run.channels_last)
            ids = [data.records[int(i)].sample_id for i in batch["index"]]
            start = time.perf_counter()
            with autocast_context(device, run.precision):
                # Fields larger than the training size are predicted in blended tiles of it.
                pred = predict_batch_tiled(method.predict, batch, run.image_size,
                                           run.tile_overlap, run.eval_batch_size)
            pred = pred.float()
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds += time.perf_counter() - start
            metrics.update(pred, batch["fluorescence"], ids, method=method_name)
            room = run.n_preview - len(preview["ids"])
            if room > 0:
                preview["brightfield"].append(batch["brightfield"][:room].cpu())
                preview["prediction"].append(pred[:room].clamp(0, 1).cpu())
                preview["target"].append(batch["fluorescence"][:room].cpu())
                preview["ids"].extend(ids[:room])
            bar.advance(len(ids))
    return metrics, preview, seconds


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def config_hash(record: dict) -> str:
    """Hash of what determines a run's numbers (not when or where it ran)."""
    return _config_hash(record)


@dataclass
class RunPlan:
    """Everything a run needs, resolved before anything is trained or written."""

    request: RunRequest
    method_entry: Registered
    resolved: cfg.ResolvedConfig
    device: torch.device
    source: DatasetSource
    split: Split
    train_ids: tuple[str, ...]
    test_ids: tuple[str, ...]
    config: dict


def plan_run(request: RunRequest, registry: Registry | None = None,
             device: torch.device | None = None) -> RunPlan:
    """Resolve a request: plugin, configuration, device, data source and split, and the
    ``config.json`` record with its hash. Cheap: trains nothing, writes only a new split."""
    registry = registry or default_registry()
    method_entry = registry.method(request.method)
    dataset_entry = registry.dataset(request.dataset)
    spec = method_entry.spec
    resolved = cfg.resolve(spec.params, spec.presets, request.preset, request.overrides)
    device = device or select_device(request.device)
    # The source as listed (records, channel set, fingerprint): planning decodes no image.
    # The run opens the preprocessed data at its sizes (``DatasetSource.for_run``) itself.
    source = dataset_entry.spec.factory(Path(request.data_root))
    split = load_or_create_split(source.records(),
                                 dataset_folder(request.data_root, request.dataset).split_manifest)
    train_ids = split.ids("train")
    if resolved.run.max_train_images:
        train_ids = train_ids[:resolved.run.max_train_images]
    resolved_dict = resolved.to_dict()
    config = {
        "method": request.method, "dataset": request.dataset, "preset": request.preset,
        "seed": request.seed, "device": str(device), "overrides": request.overrides,
        "deterministic": request.deterministic,
        "run": resolved_dict["run"], "method_params": resolved_dict["method"],
        "dataset_fingerprint": source.fingerprint(), "split_hash": split.hash,
        "split_manifest": str(split.path),
        "channels": list(source.info.channels), "planes": list(source.info.planes),
        "plugin": {"distribution": method_entry.origin.distribution,
                   "version": method_entry.origin.version,
                   "module": method_entry.origin.module},
        "versions": code_version(),
    }
    config["config_hash"] = config_hash(config)
    return RunPlan(request, method_entry, resolved, device, source, split, train_ids,
                   split.ids("test"), config)


def _open_folder(plan: RunPlan, console: Console) -> tuple[RunFolder, dict | None]:
    """The run folder (new, or the unfinished one ``--resume`` continues) and the checkpoint to
    resume from, if any."""
    request, config = plan.request, plan.config
    store = ResultsStore(request.results_dir)
    unfinished = [run.folder for run in store.unfinished(request.dataset, request.method,
                                                         config["config_hash"])]
    if not request.resume:
        if unfinished:
            console.print(f"[yellow]note:[/] unfinished run(s) with this configuration exist "
                          f"({', '.join(f.path.name for f in unfinished)}); pass --resume to "
                          "continue the latest instead of starting over.")
        folder = store.create(request.dataset, request.method, request.seed)
        config["started"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        return folder, None
    if not unfinished:
        raise EngineError(f"--resume: no unfinished {request.method} run on {request.dataset} "
                          f"with this configuration under {request.results_dir}/runs; run "
                          "without --resume to start one.")
    folder = unfinished[-1]
    config["started"] = folder.read_config().started
    ckpt = folder.path / CHECKPOINT_FILE
    try:
        resume_state = load_checkpoint(ckpt) if ckpt.exists() else None
    except CheckpointError as exc:
        folder.set_state("failed", error=f"--resume: {exc}")
        raise EngineError(f"--resume: the checkpoint {ckpt} cannot be read ({exc.__cause__!r}); "
                          f"start a fresh run instead (run without --resume; {folder.path.name} "
                          "is marked failed).") from None
    where = (f"at epoch {resume_state['train_state']['epoch'] + 1}, step "
             f"{resume_state['train_state']['step']}" if resume_state
             else "from the start (it has no checkpoint yet)")
    console.print(f"[bold]resuming[/] {folder.path.name} {where}")
    return folder, resume_state


def run_benchmark(request: RunRequest, console: Console | None = None,
                  registry: Registry | None = None) -> RunResult:
    """Train and evaluate one method on one dataset and write its run folder.

    With ``request.resume``, an unfinished run with the same resolved configuration continues
    from its last checkpoint instead of starting a new folder. Under torchrun (WORLD_SIZE > 1)
    the ranks share training and prediction and rank 0 alone writes the folder.
    """
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


def _run(plan: RunPlan, console: Console, ctx: DistContext) -> RunResult:
    request, resolved, source, config = plan.request, plan.resolved, plan.source, plan.config
    folder, resume_state = _open_folder(plan, console) if ctx.is_main else (None, None)
    folder, resume_state = broadcast((folder, resume_state), ctx)
    if ctx.is_main:
        folder.write_config(ConfigRecord.from_json(config | {"world_size": ctx.world_size}))
        folder.set_state("running", pid=os.getpid(), host=platform.node())
    console.print(f"[bold]vsbench run[/] {request.method} on {request.dataset} "
                  f"({request.preset}, seed {request.seed}, {plan.device}"
                  + (f" x {ctx.world_size} processes" if ctx.enabled else "")
                  + f") -> {folder.path}")
    tracker = None
    try:
        seed_everything(request.seed, request.deterministic)
        data_root, size = Path(request.data_root), resolved.run.image_size
        eval_size = resolved.run.eval_image_size or size
        run_source = source.for_run(size, data_root)  # builds the cache on first use
        eval_source = run_source if eval_size == size else source.for_run(eval_size, data_root)
        train_data = PairedImageDataset(run_source, plan.train_ids, size,
                                        augment=resolved.run.augment)
        test_data = PairedImageDataset(eval_source, shard(plan.test_ids, ctx), eval_size)
        method = plan.method_entry.spec.factory(resolved.method, source.info)
        method.to(plan.device)
        apply_speedups(method, resolved.run, plan.device, request.deterministic)
        method.cache_root = Path(request.data_root) / request.dataset
        method.prepare(train_data, plan.device)
        method_record = method.run_record()
        if method_record:  # known only now (e.g. which weights were loaded): added, not hashed
            plan.config["method_record"] = method_record
            if ctx.is_main:
                folder.write_config(ConfigRecord.from_json(config | {"world_size": ctx.world_size}))
        if ctx.enabled:  # same initial weights everywhere, different noise per rank
            torch.manual_seed(request.seed + 1_000_003 * ctx.rank)
        tracker = Tracker(folder.path if ctx.is_main else None, resolved.run.tensorboard)
        trained = train(method, train_data, resolved.run, plan.device, request.seed, console,
                        checkpoint_path=folder.path / CHECKPOINT_FILE,
                        resume_from=resume_state, ctx=ctx, tracker=tracker)
        scores, preview, predict_seconds = evaluate(method, test_data, resolved.run,
                                                    plan.device, request.method, console)
        parts = gather((scores, predict_seconds), ctx)
        if ctx.is_main:
            method.write_artifacts(folder.path, preview)
            scores = MetricAccumulator.merged([p[0] for p in parts])
            record = _write_results(plan, folder, trained, scores, preview,
                                    sum(p[1] for p in parts))
            tracker.metrics(record, trained.step)
        tracker.close()
        record = broadcast(record if ctx.is_main else None, ctx)
        barrier(ctx)
    except BaseException as exc:
        if tracker is not None:
            tracker.close()
        if ctx.is_main:
            folder.set_state("failed", error=f"{type(exc).__name__}: {exc}",
                             traceback=traceback.format_exc())
        raise
    return RunResult(folder.path, record, resumed=request.resume)


def _save_predictions(path: Path, preview: dict, channels) -> None:
    """The preview's arrays as ``predictions.npz`` (float16: for pictures, not for scores)."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, **{k: torch.cat(preview[k]).numpy().astype(np.float16)
                   for k in ("brightfield", "prediction", "target")},
        sample_ids=np.array(preview["ids"], dtype=str), channels=np.array(channels, dtype=str))
    atomic.write_bytes(path, buffer.getvalue())


def _write_results(plan: RunPlan, folder: RunFolder, trained: TrainState,
                   scores: MetricAccumulator, preview: dict, predict_seconds: float
                   ) -> MetricsRecord:
    """Write the log, per-image metrics, picture and metrics.json; mark the run completed."""
    request, source = plan.request, plan.source
    summary = scores.compute()
    atomic.write_text(folder.path / TRAIN_LOG_FILE, _csv(trained.log))
    atomic.write_text(folder.path / PER_IMAGE_FILE, _csv(scores.per_image()))
    if preview["ids"]:
        prediction_grid(folder.path / PREVIEW_FILE, torch.cat(preview["brightfield"]).numpy(),
                        torch.cat(preview["prediction"]).numpy(),
                        torch.cat(preview["target"]).numpy(), source.info.channels,
                        preview["ids"],
                        title=f"{request.method} on {request.dataset} (seed {request.seed})")
        _save_predictions(folder.path / PREDICTIONS_FILE, preview, source.info.channels)
    record = {
        "method": request.method, "dataset": request.dataset,
        "dataset_fingerprint": plan.config["dataset_fingerprint"],
        "split_hash": plan.split.hash, "preset": request.preset, "seed": request.seed,
        "image_size": plan.resolved.run.image_size,
        "eval_image_size": plan.resolved.run.eval_image_size or plan.resolved.run.image_size,
        "n_test_images": summary["n_images"],
        "channels": summary["channels"], "average": summary["average"],
        "pcc_undefined_images": summary["pcc_undefined"],
        "train_seconds": round(trained.seconds, 3),
        "predict_seconds_per_image": round(predict_seconds / max(summary["n_images"], 1), 5),
        "run_id": folder.path.name, "config_hash": plan.config["config_hash"],
    }
    if plan.config.get("method_record"):
        record["method_record"] = plan.config["method_record"]
    metrics = MetricsRecord.from_json(record)
    folder.write_metrics(metrics)
    folder.set_state("completed")
    return metrics
