"""What the training loop does besides training, as callbacks at fixed points of the loop.

The loop (:class:`vsbench.engine.train.Trainer`) calls every callback, in the order given, at
four points, as detectron2's ``engine/hooks.py`` does: ``before_train`` (after a resumed state
is restored), ``after_step`` (after each optimiser step), ``after_epoch`` (after an epoch's log
entry) and ``after_train`` (after the last epoch, before the model is unwrapped). The built-in
ones, in the engine's order:

- :class:`Tracking`: the loss of every step to TensorBoard;
- :class:`Progress`: the progress bar;
- :class:`ValidationLoss`: the method's own loss on the validation split after each epoch
  (``val_loss`` in ``train_log.csv``);
- :class:`PreciseBatchNorm`: BatchNorm statistics recomputed with the final weights;
- :class:`Checkpointer`: checkpoints every N steps, every M minutes and at the end (after
  precise BatchNorm, so that the final checkpoint holds what is evaluated).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

import torch
from rich.console import Console

from vsbench import config as cfg
from vsbench.engine.checkpointing import CheckpointWriter, capture
from vsbench.engine.batchnorm import batchnorm_layers, recompute_batchnorm_statistics
from vsbench.engine.distributed import DistContext, unwrapped
from vsbench.engine.runtime import autocast_context, to_device
from vsbench.engine.tracking import Tracker
from vsbench.progress import Bar, progress_bar


class TrainerView(Protocol):
    """What a callback may read (and the exit stack it may use) of the trainer."""

    method: Any
    optimizer: torch.optim.Optimizer
    data: Any
    run: cfg.RunConfig
    device: torch.device
    ctx: DistContext
    state: Any  # vsbench.engine.train.TrainState
    steps_per_epoch: int
    last_loss: float

    def elapsed(self) -> float: ...

    def enter(self, context: Any) -> Any: ...


class Callback:
    """A no-op at every point; subclasses override the points they need."""

    def before_train(self, trainer: TrainerView) -> None:
        """Before the first step (the resumed state, if any, is already restored)."""

    def after_step(self, trainer: TrainerView) -> None:
        """After each optimiser step (``trainer.last_loss`` is its global batch's loss)."""

    def after_epoch(self, trainer: TrainerView) -> None:
        """After each epoch (its entry is the last of ``trainer.state.log``)."""

    def after_train(self, trainer: TrainerView) -> None:
        """After the last epoch."""


class Tracking(Callback):
    """The training loss of every step as ``train/loss`` (TensorBoard, when installed)."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def after_step(self, trainer: TrainerView) -> None:
        self.tracker.scalar("train/loss", trainer.last_loss, trainer.state.step)


class Progress(Callback):
    """A bar over every step of the run, with the epoch and the last loss."""

    def __init__(self, console: Console | None) -> None:
        self.console = console
        self.bar: Bar = Bar()

    def before_train(self, trainer: TrainerView) -> None:
        total = trainer.run.epochs * trainer.steps_per_epoch
        # The bar closes with the loop (the trainer's exit stack), also on an error.
        self.bar = trainer.enter(progress_bar(self.console, "train", total, trainer.state.step))

    def after_step(self, trainer: TrainerView) -> None:
        self.bar.advance(1, status=f"epoch {trainer.state.epoch + 1}/{trainer.run.epochs} "
                         f"loss {trainer.last_loss:.4f}")


class ValidationLoss(Callback):
    """The method's training loss on the validation split after each epoch, in evaluation mode
    and without gradients, logged as the epoch's ``val_loss``. Its randomness (a diffusion
    method's timesteps and noise) comes from a fixed seed inside a forked RNG, so every epoch is
    measured on the same draws and training's own random stream is untouched (a resumed run
    still equals an uninterrupted one)."""

    SEED = 20_231  # the validation draws, the same every epoch

    def __init__(self, data: Any) -> None:
        self.data = data

    def after_epoch(self, trainer: TrainerView) -> None:
        if self.data is None or len(self.data) == 0:
            return
        run, device = trainer.run, trainer.device
        loader = torch.utils.data.DataLoader(self.data, shuffle=False,
                                             batch_size=min(run.batch_size, len(self.data)))
        total, count = 0.0, 0
        devices = [device.index or 0] if device.type == "cuda" else []
        with unwrapped(trainer.method) as method, torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.SEED)
            method.train(False)
            try:
                with torch.no_grad():
                    for batch in loader:
                        with autocast_context(device, run.precision):
                            loss = method.training_loss(to_device(batch, device,
                                                                  run.channels_last))
                        n = int(batch["brightfield"].shape[0])
                        total, count = total + float(loss.detach().float()) * n, count + n
            finally:
                method.train(True)
        trainer.state.log[-1]["val_loss"] = total / max(count, 1)


class PreciseBatchNorm(Callback):
    """Precise BatchNorm statistics for the final weights (:mod:`vsbench.engine.batchnorm`):
    over the whole training split without augmentation, on every process alike, so that every
    rank ends with the same statistics. Methods without BatchNorm are left alone."""

    def after_train(self, trainer: TrainerView) -> None:
        run, device = trainer.run, trainer.device
        with unwrapped(trainer.method) as method:
            if not batchnorm_layers(method.model):
                return
            plain = trainer.data.unaugmented()  # already decoded and resized for training
            size = min(run.batch_size, len(plain))
            # a last batch of one field has no BatchNorm statistics (train mode refuses it)
            loader = torch.utils.data.DataLoader(plain, shuffle=False, batch_size=size,
                                                 drop_last=len(plain) % size == 1)

            def forward(batch: dict[str, Any]) -> None:
                with autocast_context(device, run.precision):
                    method.predict(to_device(batch, device, run.channels_last))

            recompute_batchnorm_statistics(method.model, loader, forward)


class Checkpointer(Callback):
    """A checkpoint every ``run.checkpoint_every`` optimiser steps, every
    ``run.checkpoint_minutes`` minutes, and when training ends (small runs would otherwise
    spend their time writing checkpoints). Only rank 0 writes; without a ``path`` nothing is
    written (the training seconds are still brought up to date). With a ``writer`` the final
    checkpoint is written in its background thread (the caller joins it; see
    :class:`~vsbench.engine.checkpointing.CheckpointWriter`)."""

    def __init__(self, path: Path | None, writer: CheckpointWriter | None = None,
                 keep_optimizer: bool = False) -> None:
        self.path = path
        self.writer = writer
        self.keep_optimizer = keep_optimizer  # in the final checkpoint too
        self.last = time.perf_counter()

    def before_train(self, trainer: TrainerView) -> None:
        self.last = time.perf_counter()

    def after_step(self, trainer: TrainerView) -> None:
        run = trainer.run
        due = run.checkpoint_minutes and (
            time.perf_counter() - self.last > 60 * run.checkpoint_minutes)
        if due or (run.checkpoint_every and trainer.state.step % run.checkpoint_every == 0):
            self.save(trainer)

    def after_train(self, trainer: TrainerView) -> None:
        # the final state: a crash during evaluation resumes without retraining; with no step
        # left to take, the optimiser's state (twice the weights under Adam) is left out
        self.save(trainer, background=self.writer is not None,
                  with_optimizer=self.keep_optimizer)

    def save(self, trainer: TrainerView, background: bool = False,
             with_optimizer: bool = True) -> None:
        """Write the checkpoint now (``background``: start writing it in the writer's
        thread)."""
        trainer.elapsed()
        self.last = time.perf_counter()
        if self.path is not None and trainer.ctx.is_main:
            writer = self.writer or CheckpointWriter()
            state = capture(trainer.method, trainer.optimizer, vars(trainer.state),
                            with_optimizer)
            (writer.save_later if background else writer.save)(self.path, state)


def default_callbacks(console: Console | None, checkpoint_path: Path | None = None,
                      tracker: Tracker | None = None, writer: CheckpointWriter | None = None,
                      keep_optimizer: bool = False, val_data: Any = None) -> list[Callback]:
    """The engine's callbacks, in their order (see the module's docstring); ``writer``: the
    final checkpoint is written in its background thread; ``keep_optimizer``: with the
    optimiser's state; ``val_data``: the validation split (None: no validation loss)."""
    callbacks: list[Callback] = [Tracking(tracker)] if tracker is not None else []
    return callbacks + [Progress(console), ValidationLoss(val_data), PreciseBatchNorm(),
                        Checkpointer(checkpoint_path, writer, keep_optimizer)]
