"""BatchNorm running statistics recomputed after training ("precise BN").

The running means and variances a BatchNorm layer keeps during training are an exponential
average (momentum 0.1) of the last few batches' statistics, taken while the weights were still
moving. With the smoke budget's batches of 8 that estimate is poor: one U-Net seed of the
reference sweep scored PCC 0.497 in eval mode and 0.727 with batch statistics, its predictions
0.03-0.09 too bright on three channels. Recomputing the statistics with the final weights, as
a plain average over the training split, removes that: the same checkpoint then scores like the
other seeds. Methods without BatchNorm (the diffusion models use GroupNorm) are untouched.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.nn.modules.batchnorm import _BatchNorm


def batchnorm_layers(module: torch.nn.Module) -> list[_BatchNorm]:
    """The BatchNorm layers of ``module`` that track running statistics."""
    return [m for m in module.modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recompute_batchnorm_statistics(model: torch.nn.Module, batches: Any,
                                   forward: Callable[[dict[str, Any]], Any]) -> int:
    """Reset the running statistics of every BatchNorm layer of ``model`` and recompute them
    as the cumulative average over ``batches`` (each passed to ``forward`` in training mode).

    Returns the number of BatchNorm layers updated (0: nothing to do, nothing run). The
    layers' momentum and the model's training mode are restored afterwards.
    """
    layers = batchnorm_layers(model)
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    was_training = model.training
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # None: a cumulative (equal-weight) average over the batches
    model.train(True)
    try:
        for batch in batches:
            forward(batch)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        model.train(was_training)
    return len(layers)
