"""The denoiser: diffusers' ``UNet2DModel``, conditioned by channel concatenation.

Its input is ``[y_t, condition]`` on the channel axis (the brightfield planes, and whatever
extra channels a method adds, such as masks), its output the predicted noise of y_t. Residual
blocks with group normalisation, the time embedding applied by scale and shift
(``resnet_time_scale_shift="scale_shift"``, as in Palette and guided diffusion), self-attention
in the middle block and at the chosen levels, and, with ``num_class_embeds``, a learned class
embedding added to the time embedding (class-guided diffusion).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from diffusers import UNet2DModel


def build_denoiser(in_channels: int, out_channels: int, width: int = 64,
                   channel_mults: Sequence[int] = (1, 2, 4, 8), layers_per_block: int = 2,
                   dropout: float = 0.2, attention_levels: Sequence[int] = (),
                   head_dim: int = 32, num_class_embeds: int | None = None,
                   sample_size: int | None = None) -> UNet2DModel:
    """A ``UNet2DModel`` predicting the noise of ``out_channels`` channels.

    Args:
        in_channels: target channels + condition channels (brightfield planes, masks, ...).
        out_channels: the target channels.
        width: channels of the first level; level i has ``width * channel_mults[i]``.
        channel_mults: one multiplier per level; the resolution halves between levels.
        layers_per_block: residual blocks per level.
        dropout: dropout in the residual blocks.
        attention_levels: levels with self-attention in their blocks (the middle block, at the
            lowest resolution, always has it).
        head_dim: channels per attention head.
        num_class_embeds: number of classes for a learned class embedding, or None.
        sample_size: the image size (recorded in the model's config only).

    Group normalisation uses 32 groups, or fewer for narrow networks (the largest common
    divisor of ``width`` and 32), so that every level's channels divide into the groups.
    """
    mults = list(channel_mults)
    attention = set(attention_levels)
    down = tuple("AttnDownBlock2D" if i in attention else "DownBlock2D"
                 for i in range(len(mults)))
    up = tuple("AttnUpBlock2D" if i in attention else "UpBlock2D"
               for i in reversed(range(len(mults))))
    return UNet2DModel(
        sample_size=sample_size, in_channels=in_channels, out_channels=out_channels,
        block_out_channels=tuple(width * m for m in mults), layers_per_block=layers_per_block,
        down_block_types=down, up_block_types=up, dropout=dropout,
        attention_head_dim=head_dim, norm_num_groups=math.gcd(width, 32),
        resnet_time_scale_shift="scale_shift", add_attention=True,
        num_class_embeds=num_class_embeds)


def denoiser_input(y_t: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
    """The network's input: y_t first, then the condition channels."""
    if condition is None:
        return y_t
    return torch.cat([y_t, condition.to(y_t.dtype)], dim=1)


def predict_noise(denoiser: torch.nn.Module, y_t: torch.Tensor, t: torch.Tensor | int,
                  condition: torch.Tensor | None = None,
                  class_labels: torch.Tensor | None = None) -> torch.Tensor:
    """The denoiser's output for ``y_t`` at step(s) ``t`` (one per sample or one for the
    batch), given the condition channels and optional class labels: its estimate of the noise
    in y_t (or of v, for a network trained with ``prediction="v_prediction"``)."""
    t = torch.as_tensor(t, device=y_t.device)
    if t.dim() == 0:
        t = t.expand(y_t.shape[0])
    return denoiser(denoiser_input(y_t, condition), t, class_labels=class_labels).sample
