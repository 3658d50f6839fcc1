"""DoDNet's dynamic head: the layout of its generated parameters and their grouped application.

The controller outputs, for every (sample, task) pair, one flat vector holding the weights and
then the biases of a stack of 1x1 convolutions (the original's order). :func:`split_params`
cuts a batch of such vectors into per-layer kernels laid out for a grouped convolution, and
:func:`apply_dynamic_head` runs all the pairs' heads at once: the shared features are repeated
once per task and each (sample, task) pair is one group.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def head_widths(in_channels: int, hidden: int, layers: int) -> list[tuple[int, int]]:
    """``(in, out)`` of each 1x1 convolution: ``in -> hidden -> ... -> hidden -> 1``."""
    sizes = [in_channels] + [hidden] * (layers - 1) + [1]
    return list(zip(sizes[:-1], sizes[1:]))


def num_head_params(widths: list[tuple[int, int]]) -> int:
    """Length of the flat parameter vector of one head (weights and biases)."""
    return sum(i * o + o for i, o in widths)


def initial_head_params(widths: list[tuple[int, int]]) -> torch.Tensor:
    """A flat parameter vector of a freshly initialised head: He-normal weights (gain 1 for the
    last, linear layer), zero biases. Used as the controller's initial bias so that every task
    starts from a working head rather than from near-zero kernels."""
    weights = []
    for k, (i, o) in enumerate(widths):
        gain = 2.0 if k < len(widths) - 1 else 1.0
        weights.append(torch.randn(i * o) * (gain / i) ** 0.5)
    return torch.cat(weights + [torch.zeros(o) for _, o in widths])


def split_params(flat: torch.Tensor, widths: list[tuple[int, int]]
                 ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Cut ``flat`` ``[N, P]`` (one head per row) into grouped-convolution kernels.

    Returns per layer ``(weight [N * out, in, 1, 1], bias [N * out])``: group ``n`` of a
    convolution with ``groups=N`` uses row ``n``'s kernels.
    """
    n = flat.shape[0]
    if flat.shape[1] != num_head_params(widths):
        raise ValueError(f"dynamic head: got {flat.shape[1]} parameters per head, the layout "
                         f"{widths} needs {num_head_params(widths)}.")
    sizes = [i * o for i, o in widths] + [o for _, o in widths]
    chunks = torch.split(flat, sizes, dim=1)
    weights, biases = chunks[:len(widths)], chunks[len(widths):]
    return [(w.reshape(n * o, i, 1, 1), b.reshape(n * o))
            for (i, o), w, b in zip(widths, weights, biases)]


def apply_dynamic_head(features: torch.Tensor, flat: torch.Tensor,
                       widths: list[tuple[int, int]]) -> torch.Tensor:
    """Run every (sample, task) head on the sample's features.

    Args:
        features: shared features ``[B, C, H, W]`` (``C`` = the first layer's input width).
        flat: generated parameters ``[B, T, P]``, one head per sample and task.
        widths: the head's layout (:func:`head_widths`).

    Returns:
        ``[B, T, H, W]``: task ``t``'s head applied to sample ``b``'s features (ReLU between
        layers, none after the last).
    """
    b, c, h, w = features.shape
    t = flat.shape[1]
    # One group per (sample, task) pair; expand + reshape copies each sample's features T times.
    x = features.unsqueeze(1).expand(b, t, c, h, w).reshape(1, b * t * c, h, w)
    layers = split_params(flat.reshape(b * t, -1), widths)
    for k, (weight, bias) in enumerate(layers):
        x = F.conv2d(x, weight, bias, groups=b * t)
        if k < len(layers) - 1:
            x = F.relu(x)
    return x.reshape(b, t, h, w)
