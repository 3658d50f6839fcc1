"""DoDNet's network: a shared U-Net encoder-decoder, a controller and the dynamic head."""

from __future__ import annotations

import inspect

import segmentation_models_pytorch as smp
import torch
from torch import nn

from vsbench_methods.dodnet.dynamic_head import (apply_dynamic_head, head_widths,
                                                 initial_head_params, num_head_params)


class DoDNet(nn.Module):
    """Encoder-decoder (from ``smp.Unet``) whose output layer is generated per task.

    Args:
        in_channels: number of input planes.
        num_tasks: number of tasks (one per output channel).
        encoder: smp encoder name (random initial weights).
        decoder_channels: the five decoder widths.
        head_channels: width of the projection of the decoder's features and of the head.
        head_layers: number of 1x1 convolutions of the dynamic head.

    ``forward(x)`` returns logits ``[B, num_tasks, H, W]``.

    The controller sees the pooled bottleneck feature standardised (a LayerNorm without affine)
    and scaled to unit norm, beside the one-hot task code (also of unit norm). Why: the
    engine's AdamW moves every controller weight by about ``lr`` per step, so a generated kernel
    moves by ``lr`` times the L1 norm of the controller's input. With the raw pooled feature
    (512 positive values for resnet18) that is about 1 per step at lr 2e-3, as large as the
    kernels themselves: in the smoke preset the head's ReLUs all died within the first epoch
    and every channel came out constant (PCC 0). Standardising also plays the role of the
    original's GroupNorm before pooling. The controller's bias starts as a He-initialised head,
    so that every task starts from a working head.
    """

    def __init__(self, in_channels: int, num_tasks: int, encoder: str = "resnet18",
                 decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16),
                 head_channels: int = 8, head_layers: int = 3) -> None:
        super().__init__()
        unet = smp.Unet(encoder_name=encoder, encoder_weights=None, in_channels=in_channels,
                        classes=1, decoder_channels=tuple(decoder_channels))
        self.encoder, self.decoder = unet.encoder, unet.decoder
        # smp < 0.5 decoders take the feature maps as separate arguments, later ones a list.
        self._decoder_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in
                                    inspect.signature(self.decoder.forward).parameters.values())
        # The original's "precls" 1x1 convolution: shared features of the head's input width
        # (smp's decoder output is already normalised and rectified, so no GN + ReLU first).
        self.project = nn.Conv2d(decoder_channels[-1], head_channels, kernel_size=1)
        self.widths = head_widths(head_channels, head_channels, head_layers)
        self.num_tasks = num_tasks
        bottleneck = self.encoder.out_channels[-1]
        self.pool_norm = nn.LayerNorm(bottleneck, elementwise_affine=False)
        self.controller = nn.Linear(bottleneck + num_tasks, num_head_params(self.widths))
        with torch.no_grad():
            self.controller.bias.copy_(initial_head_params(self.widths))
        self.register_buffer("codes", torch.eye(num_tasks), persistent=False)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Shared head input ``[B, head_channels, H, W]`` and the controller's view of the
        bottleneck ``[B, C]`` (globally average-pooled, standardised, unit norm)."""
        features = self.encoder(x)
        decoded = self.decoder(*features) if self._decoder_varargs else self.decoder(features)
        pooled = self.pool_norm(features[-1].mean(dim=(2, 3)))
        return self.project(decoded), pooled / pooled.shape[1] ** 0.5

    def head_params(self, pooled: torch.Tensor, codes: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """Generated head parameters ``[B, T, P]`` for every sample and task code.

        ``codes`` ``[T, num_tasks]`` defaults to the one-hot codes of all tasks.
        """
        codes = self.codes if codes is None else codes
        b, t = pooled.shape[0], codes.shape[0]
        condition = torch.cat([pooled.unsqueeze(1).expand(b, t, -1),
                               codes.to(pooled.dtype).unsqueeze(0).expand(b, t, -1)], dim=2)
        return self.controller(condition)

    def forward(self, x: torch.Tensor, codes: torch.Tensor | None = None) -> torch.Tensor:
        features, pooled = self.encode(x)
        return apply_dynamic_head(features, self.head_params(pooled, codes), self.widths)
