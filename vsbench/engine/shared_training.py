"""Training shared between methods that train the same network: train once, evaluate many.

``palette-threshold``, ``diffstain`` and the two controls differ from ``palette`` only at
inference (the masks that guide sampling); their training is Palette's, bit for bit (same
network, loss, data and random numbers: their final checkpoints are identical). A plugin says
so with ``MethodSpec.trains_as``. A run's *training key* hashes everything its training
depends on: the method it trains as, the hyperparameters of that method's parameter class
(the guided methods' mask settings are not among them), the run settings, the data, split
and seed, the threads, device, precision and code versions. A fresh run whose key matches a
completed run's of another method (with its final checkpoint) starts from that checkpoint - weights, optimiser,
training log and seconds, and the random-number state at the end of training - instead of
training, so it evaluates exactly what training would have produced. ``--retrain`` trains
anyway. The key, and the run it reused, are recorded in ``config.json`` (``training``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from vsbench.errors import CheckpointError
from vsbench.layout import CHECKPOINT_FILE
from vsbench.plugins import Registry, default_registry
from vsbench.store import ResultsStore

KEY_VERSION = 1
# Not part of what training does: when and where the run was made, what it reports later.
_IGNORED = {"run": ("n_preview", "tensorboard", "eval_batch_size", "tile_overlap", "n_samples",
                    "eval_image_size")}


def trains_as(method: str, registry: Registry | None = None, spec: Any = None) -> str:
    """The method whose training ``method``'s is (``MethodSpec.trains_as``, else itself; a
    ``trains_as`` naming no installed method shares nothing). ``spec``: the method's own
    spec, when it is not in the default registry (a plugin registered directly)."""
    registry = registry or default_registry()
    if spec is None and method not in registry.methods:
        return method  # not installed here: the run itself says so
    spec = spec if spec is not None else registry.method(method).spec
    teacher = spec.trains_as
    return teacher if teacher and teacher in registry.methods else method


def training_key(config: dict[str, Any], registry: Registry | None = None,
                 spec: Any = None) -> str:
    """16 hex digits naming a run's training (``config``: its ``config.json`` as a dict;
    ``spec``: its method's spec, by default looked up in ``registry``)."""
    registry = registry or default_registry()
    spec = spec if spec is not None else registry.method(config["method"]).spec
    teacher = trains_as(config["method"], registry, spec)
    params_class = spec.params if teacher == config["method"] else \
        registry.method(teacher).spec.params
    fields = {f.name for f in dataclasses.fields(params_class)}
    params = {k: v for k, v in (config.get("method_params") or {}).items() if k in fields}
    run = {k: v for k, v in (config.get("run") or {}).items() if k not in _IGNORED["run"]}
    versions = config.get("versions") or {}
    text = json.dumps({
        "version": KEY_VERSION, "trains_as": teacher, "method_params": params, "run": run,
        "dataset": config.get("dataset"), "fingerprint": config.get("dataset_fingerprint"),
        "split": config.get("split_hash"), "seed": config.get("seed"),
        "deterministic": config.get("deterministic"), "threads": config.get("threads"),
        "world_size": config.get("world_size", 1),
        "device": str(config.get("device", "")).split(":")[0],
        "channels": config.get("channels"), "augmentation": config.get("augmentation"),
        "code": {k: versions.get(k) for k in ("vsbench", "git_commit", "torch")},
    }, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def find_trained(results_dir: Path, dataset: str, key: str, method: str) -> Path | None:
    """The newest completed run of another method than ``method`` under ``results_dir`` whose
    training key is ``key`` and whose final checkpoint is on disk (its folder), or None. (A
    run of the same method is not reused: running a configuration again is how one measures
    its training's reproducibility.)"""
    usable, _ = ResultsStore(results_dir).completed(dataset)
    for run in reversed(usable):
        config = run.config
        if config is None or config.method == method:
            continue
        recorded = (config.extra.get("training") or {}).get("key")
        if recorded == key and run.folder.file(CHECKPOINT_FILE).is_file():
            return run.folder.path
    return None


def load_shared_checkpoint(folder: Path) -> dict[str, Any] | None:
    """The final checkpoint of the completed run ``folder``, or None when it cannot be read
    (the run then trains; a damaged donor must not fail it)."""
    from vsbench.engine.checkpointing import load_checkpoint

    try:
        return load_checkpoint(Path(folder) / CHECKPOINT_FILE)
    except CheckpointError:
        return None


def training_record(config: dict[str, Any], spec: Any,
                    registry: Registry | None = None) -> dict[str, Any]:
    """What ``config.json`` records under ``training`` before the run starts."""
    return {"key": training_key(config, registry, spec),
            "trains_as": trains_as(config["method"], registry, spec), "reused": None}


def sharing_groups(cells: list[tuple[str, int]], registry: Registry | None = None
                   ) -> tuple[list[int], list[int]]:
    """Split a grid's ``(method, seed)`` cells into those that train (the first of each
    (trained-as method, seed)) and those that can then reuse a training, by index: a sweep runs
    the first group before the second, so that concurrent cells find the trained runs."""
    first, later, seen = [], [], set()
    for i, (method, seed) in enumerate(cells):
        group = (trains_as(method, registry), seed)
        (later if group in seen else first).append(i)
        seen.add(group)
    return first, later
