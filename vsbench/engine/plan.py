"""Planning a run: what the user asked for, resolved into everything the run needs.

:func:`plan_run` turns a :class:`RunRequest` into a frozen :class:`RunPlan`: the method's plugin,
the resolved configuration, the device, the dataset source and its split, and the
``config.json`` record (a :class:`vsbench.records.ConfigRecord` with its hash). Planning is
cheap: it trains nothing, decodes no image (the source is listed, not opened at the run's size)
and writes at most a new split manifest. What is known only while the run goes on (when it
started, the number of processes, what the method reports after ``prepare``) is added to a
copy of the record (``ConfigRecord.replace``), never to the plan.
"""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import vsbench
from vsbench import config as cfg
from vsbench.data.sources import DEFAULT_DATASET
from vsbench.data.symmetry import symmetry_of
from vsbench.data.source import DatasetSource
from vsbench.data.splits import Split, check_train_size, load_or_create_split, split_size_warnings
from vsbench.engine.resources import check_memory
from vsbench.engine.runtime import select_device
from vsbench.errors import ConfigError
from vsbench.layout import dataset_folder
from vsbench.plugins import Registered, Registry, default_registry
from vsbench.records import ConfigRecord


@dataclass
class RunRequest:
    """What the user asked for (the CLI's options)."""

    method: str
    dataset: str = DEFAULT_DATASET
    preset: str = "smoke"
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    results_dir: Path = Path("results")
    data_root: Path = Path("datasets")
    resume: bool = False
    deterministic: bool = False
    threads: int | None = None  # torch's CPU threads for this run (None: torch's default)
    retrain: bool = False  # train even when a completed run's training can be reused
    keep_optimizer: bool = False  # the final checkpoint with the optimiser's state


@dataclass(frozen=True)
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
    config: ConfigRecord
    warnings: tuple[str, ...] = ()  # what the user should know before it runs (one line each)

    @property
    def data_root(self) -> Path:
        """The data root the run reads from."""
        return Path(self.request.data_root)


# The key of config.json under which a run records its method's sampling (stochastic,
# n_samples): the posterior tier reads it (vsbench.rescore.posterior).
POSTERIOR_SETTINGS = "posterior"


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


def _config_record(request: RunRequest, entry: Registered, resolved: cfg.ResolvedConfig,
                   device: torch.device, source: DatasetSource, split: Split) -> ConfigRecord:
    """The ``config.json`` record of a planned run, with its hash."""
    resolved_dict = resolved.to_dict()
    # n_samples at its default stays out of the hashed run settings (configurations made
    # before the posterior tier keep their hash); it is recorded under "posterior".
    if resolved_dict["run"].get("n_samples") == cfg.DEFAULT_N_SAMPLES:
        del resolved_dict["run"]["n_samples"]
    return ConfigRecord.from_json({
        "method": request.method, "dataset": request.dataset, "preset": request.preset,
        "seed": request.seed, "device": str(device), "overrides": request.overrides,
        "deterministic": request.deterministic, "threads": torch.get_num_threads(),
        "run": resolved_dict["run"], "method_params": resolved_dict["method"],
        "dataset_fingerprint": source.fingerprint(), "split_hash": split.hash,
        "split_manifest": str(split.path),
        "channels": list(source.info.channels), "planes": list(source.info.planes),
        # What augmentation applies: the source's declared group, or nothing (augment=false).
        "augmentation": {"symmetry": symmetry_of(source),
                         "applied": symmetry_of(source) if resolved.run.augment else "none"},
        "plugin": {"distribution": entry.origin.distribution, "version": entry.origin.version,
                   "module": entry.origin.module},
        "versions": code_version(), "control": bool(entry.spec.control),
        POSTERIOR_SETTINGS: {"stochastic": entry.spec.stochastic,
                             "n_samples": resolved.run.n_samples},
    }, "the run's configuration").hashed()


def plan_run(request: RunRequest, registry: Registry | None = None,
             device: torch.device | None = None) -> RunPlan:
    """Resolve a request: plugin, configuration, device, data source and split, and the
    ``config.json`` record with its hash. Cheap: trains nothing, writes only a new split."""
    cfg.check_seed(request.seed)
    data_root = Path(request.data_root)
    if data_root.exists() and not data_root.is_dir():
        raise ConfigError(f"--data-root {data_root} is a file; give a folder (it is created "
                          "if missing), e.g. --data-root datasets.")
    registry = registry or default_registry()
    method_entry = registry.method(request.method)
    dataset_entry = registry.dataset(request.dataset)
    spec = method_entry.spec
    try:
        resolved = cfg.resolve(spec.params, spec.presets, request.preset, request.overrides)
    except ConfigError as exc:  # in a sweep, say which method refused the setting
        raise ConfigError(f"{request.method}: {exc}") from None
    device = device or select_device(request.device)
    # The source as listed (records, channel set, fingerprint): planning decodes no image.
    # The run opens the preprocessed data at its sizes (``DatasetSource.for_run``) itself.
    source = dataset_entry.spec.factory(Path(request.data_root))
    check_memory(resolved.run, len(source.info.planes), len(source.info.channels), device)
    records = source.records()
    split = load_or_create_split(records,
                                 dataset_folder(request.data_root, request.dataset).split_manifest)
    train_ids = split.ids("train")
    # before anything is trained or written: a batch of one fails deep in BatchNorm
    check_train_size(len(train_ids), f"split {split.path}", request.dataset,
                     resolved.run.max_train_images or None)
    if resolved.run.max_train_images:
        train_ids = train_ids[:resolved.run.max_train_images]
    config = _config_record(request, method_entry, resolved, device, source, split)
    return RunPlan(request, method_entry, resolved, device, source, split, tuple(train_ids),
                   tuple(split.ids("test")), config,
                   tuple(split_size_warnings(split, records, request.dataset)))
