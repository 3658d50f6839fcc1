"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint (``checkpoint.pt``) is one dict, and this module is the one place that knows its
keys: ``method`` (the method's ``state_dict``: model, EMA, ...), ``optimizer`` (the optimiser's;
absent from a run's final checkpoint unless ``--keep-optimizer``: it is twice the weights of an
Adam-trained model, and nothing continues training from the end),
``train_state`` (the position in the data - epoch and samples seen - the step, the loss so far,
the training seconds and the per-epoch log: :class:`vsbench.engine.train.TrainState`'s fields)
and ``rng`` (the random-number states of Python, numpy and torch). :func:`capture` makes one,
:func:`restore` puts one back, :func:`load_method_state` reloads only the weights (a trained
run). It is written to a temporary file and renamed, so a crash or a full disk while writing
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import io
import random
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from vsbench import atomic
from vsbench.engine.distributed import unwrapped
from vsbench.errors import CheckpointError

METHOD, OPTIMIZER, TRAIN_STATE, RNG = "method", "optimizer", "train_state", "rng"


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


def _detached(value: Any) -> Any:
    """``value`` with every tensor cloned (nested dicts, lists and tuples rebuilt), so that a
    background write never sees weights that change after the capture (e.g. EMA weights
    swapped into the model for evaluation)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_detached(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


class CheckpointWriter:
    """Writes checkpoints now (:meth:`save`) or in a background thread (:meth:`save_later`:
    the final checkpoint, written while the run evaluates). :meth:`join` waits for a pending
    write and re-raises its error; the engine joins before it marks a run completed, so a
    completed run always has its checkpoint, and a crash before that leaves the run unfinished
    with the previous checkpoint intact (writes are atomic)."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.seconds = 0.0  # time the last background write took

    def save(self, path: Path, state: dict[str, Any]) -> None:
        """Write ``state`` to ``path`` now (after any pending write)."""
        self.join()
        save_checkpoint(path, state)

    def save_later(self, path: Path, state: dict[str, Any]) -> None:
        """Start writing a copy of ``state`` to ``path`` in a background thread."""
        self.join()
        state = _detached(state)

        def write() -> None:
            start = time.perf_counter()
            try:
                save_checkpoint(path, state)
            except BaseException as exc:  # handed to join()
                self._error = exc
            self.seconds = time.perf_counter() - start

        self._thread = threading.Thread(target=write, name="vsbench-checkpoint")
        self._thread.start()

    def join(self) -> None:
        """Wait for a pending background write; raise its error if it failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # corrupt or truncated file
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(exc).__name__}); "
                              "delete it to restart the run from scratch.") from exc


def capture(method: Any, optimizer: torch.optim.Optimizer | None,
            train_state: Mapping[str, Any], with_optimizer: bool = True) -> dict[str, Any]:
    """A checkpoint of this moment: the method's state (of its own model, not of a DDP
    wrapper, so that it loads whatever the number of processes), the optimiser's (unless
    ``with_optimizer`` is false: the final checkpoint, after which no step is taken), the
    training state's fields (``log`` copied) and the random-number states."""
    with unwrapped(method):
        method_state = method.state_dict()
    state = dict(train_state)
    state["log"] = list(state.get("log", []))
    out = {METHOD: method_state, TRAIN_STATE: state, RNG: rng_state()}
    if with_optimizer and optimizer is not None:  # None: a method with nothing to train
        out[OPTIMIZER] = optimizer.state_dict()
    return out


def restore(checkpoint: Mapping[str, Any], method: Any,
            optimizer: torch.optim.Optimizer | None) -> dict[str, Any]:
    """Put ``checkpoint`` back: the method's and optimiser's states and the random-number
    states; return the training state's fields (for ``TrainState(**fields)``)."""
    method.load_state_dict(checkpoint[METHOD])
    if OPTIMIZER in checkpoint and optimizer is not None:  # a final checkpoint lacks it
        optimizer.load_state_dict(checkpoint[OPTIMIZER])
    set_rng_state(checkpoint[RNG])
    return dict(checkpoint[TRAIN_STATE])


def position(checkpoint: Mapping[str, Any]) -> tuple[int, int]:
    """``(epoch, step)`` where ``checkpoint`` stopped (epoch counted from 0)."""
    state = checkpoint[TRAIN_STATE]
    return int(state["epoch"]), int(state["step"])


def load_method_state(path: Path, method: Any) -> None:
    """Load only the method's state of the checkpoint at ``path`` into ``method``."""
    method.load_state_dict(load_checkpoint(path)[METHOD])
