"""Will a run fit? A check of the memory one batch needs, made before any run folder exists.

Training a network needs several times its input batch in activations, so a batch whose fields
alone exceed the device's memory can never run; such a run (e.g. ``--set image_size=100000``)
is refused with the setting named, instead of failing in the allocator after the run folder
was created. The check is deliberately loose: it refuses only runs that cannot fit.
"""

from __future__ import annotations

import os

import torch

from vsbench.config import RunConfig
from vsbench.errors import ConfigError

BYTES_PER_VALUE = 4  # float32 on the device
ACTIVATION_HEADROOM = 4  # at least this many times the input batch is held while training


def device_memory(device: torch.device) -> int | None:
    """Total memory of ``device`` in bytes (the machine's RAM for the CPU), None if unknown."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def batch_bytes(run: RunConfig, n_arrays: int) -> tuple[int, int, int]:
    """``(bytes, size, batch)``: the input and target fields of the largest batch a run holds
    (training or evaluation, at the larger of its image sizes)."""
    size = max(run.image_size, run.eval_image_size or 0)
    batch = max(run.batch_size, run.eval_batch_size)
    return batch * n_arrays * size * size * BYTES_PER_VALUE, size, batch


def check_memory(run: RunConfig, n_planes: int, n_channels: int, device: torch.device) -> None:
    """A :class:`ConfigError` naming ``image_size`` / ``batch_size`` when one batch cannot fit
    in ``device``'s memory."""
    total = device_memory(device)
    needed, size, batch = batch_bytes(run, n_planes + n_channels)
    if total is None or needed * ACTIVATION_HEADROOM <= total:
        return
    setting = "eval_image_size" if size == run.eval_image_size else "image_size"
    raise ConfigError(
        f"--set {setting}={size}: one batch of {batch} fields of {size} px ({n_planes} planes + "
        f"{n_channels} channels) needs about {needed / 2**30:.1f} GiB before any activations, "
        f"too much for the {total / 2**30:.0f} GiB of {device.type}; use a smaller {setting} "
        "or batch_size.")
