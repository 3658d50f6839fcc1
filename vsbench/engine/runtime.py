"""Where and how a run computes: device, seeds, precision, speed switches, loader settings.

Some of these switches are process-wide torch flags (deterministic algorithms, cuDNN
autotuning). :func:`restored_torch_flags` records them before a run and puts them back after
it, so that a run (or a test) never changes how the rest of the process computes.
"""

from __future__ import annotations

import os
import random
import shutil
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch

from vsbench import config as cfg
from vsbench.errors import EngineError

CUBLAS_WORKSPACE = "CUBLAS_WORKSPACE_CONFIG"


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
        os.environ.setdefault(CUBLAS_WORKSPACE, ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


@dataclass(frozen=True)
class TorchFlags:
    """The process-wide torch settings a run may change."""

    deterministic_algorithms: bool
    deterministic_warn_only: bool
    cudnn_benchmark: bool
    cudnn_deterministic: bool
    cublas_workspace: str | None
    num_threads: int = 0  # torch's intra-op threads (0: leave as is)

    @classmethod
    def current(cls) -> "TorchFlags":
        """The settings now."""
        return cls(torch.are_deterministic_algorithms_enabled(),
                   torch.is_deterministic_algorithms_warn_only_enabled(),
                   torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
                   os.environ.get(CUBLAS_WORKSPACE), torch.get_num_threads())

    def apply(self) -> None:
        """Make these the settings."""
        torch.use_deterministic_algorithms(self.deterministic_algorithms,
                                           warn_only=self.deterministic_warn_only)
        torch.backends.cudnn.benchmark = self.cudnn_benchmark
        torch.backends.cudnn.deterministic = self.cudnn_deterministic
        if self.num_threads and torch.get_num_threads() != self.num_threads:
            torch.set_num_threads(self.num_threads)
        if self.cublas_workspace is None:
            os.environ.pop(CUBLAS_WORKSPACE, None)
        else:
            os.environ[CUBLAS_WORKSPACE] = self.cublas_workspace


@contextmanager
def restored_torch_flags() -> Iterator[TorchFlags]:
    """Run the block, then restore the process-wide torch flags it found (even on error)."""
    before = TorchFlags.current()
    try:
        yield before
    finally:
        before.apply()


def autocast_context(device: torch.device, precision: str):
    """Mixed precision: bf16 autocast on CUDA by default, full precision on the CPU."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def apply_speedups(method: Any, run: cfg.RunConfig, device: torch.device,
                   deterministic: bool = False) -> None:
    """The run's speed switches: cuDNN autotuning (CUDA only, not with --deterministic),
    channels_last weights, and ``torch.compile`` of the model in place (keeping its
    ``state_dict`` keys, so checkpoints load with or without it).

    cuDNN autotuning is a process-wide flag: the engine restores it after the run
    (:func:`restored_torch_flags`)."""
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
