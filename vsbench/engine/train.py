"""The training loop: epochs of optimiser steps, and callbacks at fixed points.

:class:`Trainer` owns the optimiser, the data order and the :class:`TrainState`; one step is
:meth:`Trainer.run_step` (batch to the device, the method's loss under autocast, backward,
clipping, the optimiser's step, the method's ``after_optimizer_step``). Everything else -
progress, tracking, checkpoints, precise BatchNorm - is a callback
(:mod:`vsbench.engine.callbacks`). :func:`train` runs the loop with the engine's callbacks.

The data order is the resumable one of :class:`vsbench.data.sampler.EpochSampler`: a resumed
run continues exactly where it stopped (same samples, augmentations, noise). Under torchrun
each rank takes its share of every global batch of ``run.batch_size`` samples and DDP averages
the gradients.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from rich.console import Console

from vsbench import config as cfg
from vsbench.data.sampler import EpochSampler
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.engine.checkpointing import CheckpointWriter, restore
from vsbench.engine.callbacks import Callback, default_callbacks
from vsbench.engine.distributed import DistContext, unwrap_model, wrap_model
from vsbench.engine.runtime import autocast_context, loader_options, to_device
from vsbench.engine.tracking import Tracker
from vsbench.errors import EngineError
from vsbench.method import Method


@dataclass
class TrainState:
    """Where training stands: what a checkpoint records besides the weights."""

    epoch: int = 0
    seen: int = 0  # samples of the current epoch already trained on
    step: int = 0
    loss_sum: float = 0.0
    seconds: float = 0.0  # training time so far, over all sessions of the run
    log: list[dict] = field(default_factory=list)


class Trainer:
    """Trains ``method`` on ``data`` for ``run.epochs`` epochs (see the module's docstring).

    ``resume_from`` is a checkpoint (:mod:`vsbench.engine.checkpointing`): the method, the
    optimiser, the training state and the random-number states are restored from it here,
    before any callback runs.
    """

    def __init__(self, method: Method, data: PairedImageDataset, run: cfg.RunConfig,
                 device: torch.device, seed: int, ctx: DistContext = DistContext(),
                 callbacks: Sequence[Callback] = (), resume_from: dict | None = None) -> None:
        self.method, self.data, self.run, self.device = method, data, run, device
        self.seed, self.ctx, self.callbacks = seed, ctx, list(callbacks)
        self.global_batch = min(run.batch_size, len(data))
        if self.global_batch % ctx.world_size:
            raise EngineError(f"batch_size {self.global_batch} is not divisible by the "
                              f"{ctx.world_size} processes; set --set batch_size to a multiple "
                              "of it.")
        self.steps_per_epoch = len(data) // self.global_batch
        parameters = list(method.trainable_parameters())
        # a method with no parameters (a fixed filter, a lookup) has nothing to train: no
        # optimiser and no epochs, but the same callbacks (its final checkpoint included)
        self.optimizer = (torch.optim.AdamW(parameters, lr=run.lr,
                                            weight_decay=run.weight_decay)
                          if parameters else None)
        self.state = TrainState()
        if resume_from is not None:
            self.state = TrainState(**restore(resume_from, method, self.optimizer))
        self.last_loss = float("nan")
        self._session_start, self._seconds_before = time.perf_counter(), self.state.seconds
        self._stack: ExitStack | None = None

    def elapsed(self) -> float:
        """Bring ``state.seconds`` (training time over all sessions) up to date; return it."""
        self.state.seconds = self._seconds_before + time.perf_counter() - self._session_start
        return self.state.seconds

    def enter(self, context: Any) -> Any:
        """Enter ``context`` until the loop ends (for callbacks: e.g. a progress bar)."""
        assert self._stack is not None, "enter() is for callbacks, while the loop runs"
        return self._stack.enter_context(context)

    def run_step(self, batch: dict[str, Any]) -> float:
        """One optimiser step on ``batch``; return the global batch's loss."""
        batch = to_device(batch, self.device, self.run.channels_last)
        with autocast_context(self.device, self.run.precision):
            try:
                loss = self.method.training_loss(batch)
            except ValueError as exc:
                error = self._one_value_error(exc)
                if error is None:
                    raise
                raise error from exc
        if not torch.isfinite(loss):
            raise EngineError(f"training loss became {loss.item()} at epoch "
                              f"{self.state.epoch + 1}; lower the learning rate "
                              "(--set lr=...) or check the data.")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.run.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.method.trainable_parameters(), self.run.grad_clip)
        self.optimizer.step()
        self.method.after_optimizer_step()
        value = self._global_loss(loss)
        self.state.loss_sum += value * self.global_batch
        self.state.seen += self.global_batch
        self.state.step += 1
        return value

    def _one_value_error(self, exc: ValueError) -> EngineError | None:
        """torch's BatchNorm error for a batch of one at a 1x1 feature map, as what to change
        (None: another error, raised as it is)."""
        if "Expected more than 1 value per channel when training" not in str(exc):
            return None
        per_process = self.global_batch // self.ctx.world_size
        return EngineError(f"batch_size {per_process} per process leaves the network's "
                           f"BatchNorm one value per channel at image_size "
                           f"{self.run.image_size} ({exc}); set --set batch_size=2 or more "
                           "per process, or a larger --set image_size.")

    def _global_loss(self, loss: torch.Tensor) -> float:
        """The loss of the global batch, as a single process would log it."""
        value = loss.detach().float()
        if self.ctx.enabled:
            torch.distributed.all_reduce(value)
            value /= self.ctx.world_size
        return value.item()

    def _loader(self) -> tuple[torch.utils.data.DataLoader, EpochSampler]:
        """One loader for all epochs (its worker processes persist); the sampler, which runs in
        this process, is moved to each epoch in place. The loader gets its own generator: it
        must not draw from the global RNG, whose state a checkpoint restores for the method's
        own randomness."""
        state = self.state
        sampler = EpochSampler(len(self.data), self.seed, state.epoch, skip=state.seen,
                               global_batch=self.global_batch, rank=self.ctx.rank,
                               world_size=self.ctx.world_size)
        loader = torch.utils.data.DataLoader(
            self.data, batch_size=self.global_batch // self.ctx.world_size, sampler=sampler,
            generator=torch.Generator().manual_seed(self.seed),
            **loader_options(self.run, self.device))
        return loader, sampler

    def _call(self, point: str) -> None:
        for callback in self.callbacks:
            getattr(callback, point)(self)

    def _epoch(self, loader: torch.utils.data.DataLoader, sampler: EpochSampler) -> None:
        """The rest of the current epoch, then its log entry."""
        state, start = self.state, time.perf_counter()
        sampler.epoch, sampler.skip = state.epoch, state.seen
        for batch in loader:
            self.last_loss = self.run_step(batch)
            self._call("after_step")
        state.log.append({"epoch": state.epoch + 1, "loss": state.loss_sum / max(state.seen, 1),
                          "seconds": round(time.perf_counter() - start, 3)})
        state.epoch, state.seen, state.loss_sum = state.epoch + 1, 0, 0.0
        self._call("after_epoch")

    def fit(self) -> TrainState:
        """Train to the last epoch; return the final state. The model ends unwrapped (no DDP)
        and in evaluation mode."""
        self.method.model = wrap_model(self.method.model, self.ctx, self.device)
        self.method.train(True)
        with ExitStack() as stack:
            self._stack = stack
            self._call("before_train")
            loader, sampler = self._loader()
            while self.optimizer is not None and self.state.epoch < self.run.epochs:
                self._epoch(loader, sampler)
            self._call("after_train")
        self._stack = None
        self.elapsed()
        self.method.model = unwrap_model(self.method.model)
        self.method.train(False)
        return self.state


def train(method: Method, data: PairedImageDataset, run: cfg.RunConfig, device: torch.device,
          seed: int, console: Console | None, checkpoint_path: Path | None = None,
          resume_from: dict | None = None, ctx: DistContext = DistContext(),
          tracker: Tracker | None = None, writer: CheckpointWriter | None = None,
          keep_optimizer: bool = False, val_data: PairedImageDataset | None = None
          ) -> TrainState:
    """Train ``method`` for ``run.epochs`` epochs with the engine's callbacks (progress on
    ``console``, ``tracker``'s loss curve, precise BatchNorm, checkpoints at
    ``checkpoint_path``); return the final state (log, seconds). ``resume_from`` is a
    checkpoint to continue from. With a ``writer`` the final checkpoint is still being written
    (in its thread) when this returns: call ``writer.join()`` before relying on it. The final
    checkpoint holds the optimiser's state only with ``keep_optimizer``. With ``val_data`` each
    epoch's log entry also holds the method's loss on it (``val_loss``)."""
    callbacks = default_callbacks(console, checkpoint_path, tracker, writer, keep_optimizer,
                                  val_data)
    return Trainer(method, data, run, device, seed, ctx, callbacks, resume_from).fit()
