"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint holds the method's state (model, EMA, ...), the optimiser's, the position in the
data (epoch and samples seen), the per-epoch log so far, and the random-number states of Python,
numpy and torch. It is written to a temporary file and renamed, so a crash or a full disk while
writing leaves the previous checkpoint intact.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vsbench import atomic
from vsbench.errors import CheckpointError


def rng_state() -> dict[str, Any]:
    """The random-number states of Python, numpy and torch (CPU and CUDA)."""
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically; on failure the previous file at ``path`` is kept."""
    buf = io.BytesIO()
    torch.save(state, buf)
    try:
        atomic.write_bytes(path, buf.getvalue())
    except OSError as exc:
        raise CheckpointError(f"could not write checkpoint {path}: {exc.strerror or exc}; the "
                              "previous checkpoint is intact. Free space and rerun with "
                              "--resume.") from exc


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # corrupt or truncated file
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(exc).__name__}); "
                              "delete it to restart the run from scratch.") from exc
