"""Building what a run trains and evaluates: its data and its method, new or trained.

This is the one place where a method plugin's factory is called. :func:`create_method` builds
a method by name (for tests, benchmarks, notebooks), :func:`method_for` the one a plan resolved
(the engine), and :func:`load_trained` rebuilds a finished run's method from its
``config.json`` and loads its ``checkpoint.pt``. :func:`build_data` opens a plan's training and
test data at the run's sizes, as the engine does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from vsbench import config as cfg
from vsbench.data.symmetry import symmetry_of
from vsbench.data.source import DatasetInfo
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.engine.checkpointing import load_method_state
from vsbench.engine.distributed import DistContext, shard
from vsbench.engine.plan import RunPlan, RunRequest, plan_run
from vsbench.errors import EngineError, PluginError
from vsbench.layout import CHECKPOINT_FILE, dataset_folder, recorded_data_root
from vsbench.method import Method
from vsbench.plugins import Registered, Registry, default_registry
from vsbench.records import ConfigRecord
from vsbench.store import RunFolder


def instantiate(entry: Registered, params: Any, info: DatasetInfo) -> Method:
    """Call ``entry``'s factory with resolved ``params`` for a dataset's ``info``."""
    method = entry.spec.factory(params, info)
    if not isinstance(method, Method):
        raise PluginError(f"The factory of method '{entry.spec.name}' ({entry.origin.module}) "
                          f"returned {type(method).__name__}, not a vsbench.method.Method; fix "
                          "the plugin.")
    return method


def create_method(name: str, info: DatasetInfo, preset: str = "smoke",
                  overrides: Mapping[str, Any] | None = None,
                  registry: Registry | None = None) -> Method:
    """A new (untrained) method ``name`` for a dataset's ``info``, with the hyperparameters of
    ``preset`` and ``overrides`` (``--set`` values; run settings among them are ignored)."""
    entry = (registry or default_registry()).method(name)
    resolved = cfg.resolve(entry.spec.params, entry.spec.presets, preset, dict(overrides or {}))
    return instantiate(entry, resolved.method, info)


def method_for(plan: RunPlan) -> Method:
    """The new method a plan resolved (its plugin, hyperparameters and dataset)."""
    return instantiate(plan.method_entry, plan.resolved.method, plan.source.info)


def build_data(plan: RunPlan, ctx: DistContext = DistContext()
               ) -> tuple[PairedImageDataset, PairedImageDataset]:
    """The run's training data (augmented as configured) and test data (this rank's share, at
    the evaluation size), read through the source's cache for each size (built on first use)."""
    run, data_root = plan.resolved.run, plan.data_root
    size = run.image_size
    eval_size = run.eval_image_size or size
    run_source = plan.source.for_run(size, data_root)
    eval_source = run_source if eval_size == size else plan.source.for_run(eval_size, data_root)
    train_data = PairedImageDataset(run_source, plan.train_ids, size, augment=run.augment,
                                    symmetry=symmetry_of(plan.source))
    test_data = PairedImageDataset(eval_source, shard(plan.test_ids, ctx), eval_size)
    return train_data, test_data


VAL_LOSS_IMAGES = 64  # the validation loss's images: enough for a curve, bounded per epoch


def build_val_data(plan: RunPlan) -> PairedImageDataset | None:
    """The validation split's first :data:`VAL_LOSS_IMAGES` fields at the training size,
    unaugmented (the per-epoch validation loss), or None when the split has no validation
    part."""
    ids = tuple(plan.split.parts.get("val", ()))[:VAL_LOSS_IMAGES]
    if not ids:
        return None
    size = plan.resolved.run.image_size
    return PairedImageDataset(plan.source.for_run(size, plan.data_root), ids, size)


def method_cache(plan: RunPlan) -> Path:
    """Where the plan's method may cache what it derives from the dataset."""
    return dataset_folder(plan.data_root, plan.request.dataset).method_cache


@dataclass(frozen=True)
class TrainedRun:
    """A run's method rebuilt and loaded with its trained weights, and the plan behind it."""

    method: Method
    plan: RunPlan
    config: ConfigRecord
    folder: RunFolder


def _json_types(value: Any) -> Any:
    """``value`` through JSON (anything JSON lacks as its text)."""
    return json.loads(json.dumps(value, default=str))


def _check_same(config: ConfigRecord, plan: RunPlan, folder: RunFolder) -> None:
    """The re-planned run must be the recorded one: same settings, same data."""
    for name in ("method_params", "run", "dataset_fingerprint", "split_hash"):
        then, now = _json_types(getattr(config, name)), _json_types(getattr(plan.config, name))
        if then == now:
            continue
        if isinstance(then, dict):
            keys = sorted(k for k in then.keys() | now.keys() if then.get(k) != now.get(k))
            what = f"{name} differ in {', '.join(keys)}"
        else:
            what = f"{name} is {now}, the run recorded {then}"
        raise EngineError(f"{folder.path}: cannot reload the run as it was made: {what} (the "
                          "plugin's defaults or the data changed; pass the run's --data-root, "
                          "or install the plugin version it records).")


def load_trained(run_folder: Path | RunFolder, device: str | torch.device = "cpu",
                 data_root: Path | None = None, registry: Registry | None = None,
                 prepare: bool = True) -> TrainedRun:
    """Rebuild a run's method from its ``config.json`` through the registry, prepare it on the
    training split as the run did (``prepare=False`` skips that: only for methods whose
    ``prepare`` sets up nothing that prediction needs) and load the weights of its
    ``checkpoint.pt`` (for an unfinished run, those of its last checkpoint).

    ``data_root`` defaults to the one the run recorded. The method is on ``device``, in
    evaluation mode, and predicts what the run predicted.
    """
    folder = run_folder if isinstance(run_folder, RunFolder) else RunFolder(Path(run_folder))
    config = folder.read_config()
    checkpoint = folder.file(CHECKPOINT_FILE)
    if not checkpoint.is_file():
        raise EngineError(f"{folder.path} has no {CHECKPOINT_FILE}: it stopped before its first "
                          "checkpoint; rerun it (vsbench run ... --resume).")
    device = torch.device(device)
    request = RunRequest(method=config.method, dataset=config.dataset, preset=config.preset,
                         seed=config.seed, overrides=dict(config.overrides), device=str(device),
                         data_root=Path(data_root or recorded_data_root(config.split_manifest)),
                         deterministic=config.deterministic)
    plan = plan_run(request, registry, device)
    _check_same(config, plan, folder)
    method = method_for(plan)
    method.to(device)
    if prepare:  # e.g. the mask source of a mask-guided method, which the weights do not hold
        train_data, _ = build_data(plan)
        method.prepare(train_data, device, method_cache(plan))
    load_method_state(checkpoint, method)
    method.to(device)
    method.train(False)
    return TrainedRun(method, plan, config, folder)
