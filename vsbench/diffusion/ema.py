"""Exponential moving average (EMA) of the denoiser's weights, used to evaluate.

Built on ``torch.optim.swa_utils.AveragedModel`` rather than diffusers' ``EMAModel``: the
average is a module of its own (a copy of the denoiser) that sampling calls directly, that
``Method.to`` moves and whose ``state_dict`` is checkpointed like any module, so the trained
weights are never swapped out and back in around an evaluation (``EMAModel`` keeps a list of
shadow tensors and needs ``store``/``copy_to``/``restore`` for that).

The decay after n updates is ``min(decay, (1 + n) / (10 + n))`` with the warm-up on (the ramp of
diffusers' ``EMAModel`` and TensorFlow's ``ExponentialMovingAverage``). Without it, a fixed
0.9999 over the few hundred steps of a smoke run would leave the average ~97% the weights after
the first step, that is, nearly the random initialisation; with it the first weights' share
after n updates is 10! n! / (n + 9)!, below 1e-15 after 300 updates.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel


def ema_decay_at(updates: int, decay: float, warmup: bool = True) -> float:
    """The decay applied at an update, after ``updates`` earlier updates of the average."""
    if not warmup:
        return decay
    return min(decay, (1.0 + updates) / (10.0 + updates))


def make_ema(model: torch.nn.Module, decay: float, warmup: bool = True) -> AveragedModel:
    """An EMA of ``model``'s parameters and floating-point buffers.

    Call ``ema.update_parameters(model)`` after every optimiser step; the first call copies the
    weights, each later one sets ``avg <- d * avg + (1 - d) * weights`` with
    ``d = ema_decay_at(n, decay, warmup)``, n the number of earlier updates. The averaged network
    is ``ema.module``; it is put in evaluation mode and takes no gradients.
    """

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor],
               num_averaged: torch.Tensor) -> None:
        d = ema_decay_at(int(num_averaged), decay, warmup)
        floats = [(a, c) for a, c in zip(averaged, current) if torch.is_floating_point(a)]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], 1.0 - d)
        for a, c in zip(averaged, current):
            if not torch.is_floating_point(a):
                a.copy_(c)

    ema = AveragedModel(model, multi_avg_fn=update, use_buffers=True)
    ema.module.eval()
    ema.module.requires_grad_(False)
    return ema


class WithEMA:
    """The checkpointed state of a method that trains ``self.model`` and samples from its EMA
    ``self.ema``: both, under ``model`` and ``ema``."""

    model: torch.nn.Module
    ema: AveragedModel

    def state_dict(self) -> dict[str, Any]:
        """The trained weights and their EMA."""
        return {"model": self.model.state_dict(), "ema": self.ema.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
