"""The ``flow-matching`` method: the velocity network, its EMA, the loss and the sampler."""

from __future__ import annotations

from typing import Any

import torch

from vsbench.data.source import DatasetInfo
from vsbench.diffusion.ema import WithEMA, make_ema
from vsbench.diffusion.flow import (TIME_SCALE, interpolate, sample_flow, sample_sigmas,
                                    velocity_target)
from vsbench.diffusion.forward import from_model_range, noise_loss, to_model_range
from vsbench.diffusion.network import build_denoiser, predict_noise
from vsbench.method import Method


class FlowMatchingMethod(WithEMA, Method):
    """Conditional flow matching on the diffusion toolkit's U-Net (see the package docstring).

    Attributes:
        model: the velocity network being trained (diffusers ``UNet2DModel``).
        ema: the EMA of its weights (``ema.module`` samples).
    """

    def __init__(self, params, info: DatasetInfo) -> None:
        super().__init__(params, info)
        self.model = build_denoiser(
            in_channels=len(info.channels) + len(info.planes), out_channels=len(info.channels),
            width=params.width, channel_mults=params.channel_mults,
            layers_per_block=params.layers_per_block, dropout=params.dropout,
            attention_levels=params.attention_levels, head_dim=params.head_dim)
        self.ema = make_ema(self.model, params.ema_decay, params.ema_warmup)

    def condition(self, batch: dict[str, Any]) -> torch.Tensor:
        """The brightfield planes in the model range, concatenated with x_sigma."""
        return to_model_range(batch["brightfield"])

    def training_loss(self, batch: dict[str, Any]) -> torch.Tensor:
        """The network's velocity at a random point of the straight path against the true one."""
        x_data = to_model_range(batch["fluorescence"])
        noise = torch.randn_like(x_data)
        sigma = sample_sigmas(x_data.shape[0], device=x_data.device)
        x_sigma = interpolate(x_data, noise, sigma)
        predicted = predict_noise(self.model, x_sigma, sigma * TIME_SCALE, self.condition(batch))
        return noise_loss(predicted, velocity_target(x_data, noise), self.params.loss)

    def after_optimizer_step(self) -> None:
        """Update the EMA of the weights."""
        self.ema.update_parameters(self.model)

    def generate(self, batch: dict[str, Any], generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """A sample of the target channels with the EMA weights, on [0, 1]."""
        bf = batch["brightfield"]
        shape = (bf.shape[0], len(self.info.channels), bf.shape[-2], bf.shape[-1])
        x = sample_flow(self.ema.module, self.condition(batch), shape, self.params.sample_steps,
                        self.params.sampler, generator=generator)
        return from_model_range(x).clamp(0.0, 1.0)

    def predict(self, batch: dict[str, Any]) -> torch.Tensor:
        """Predicted fluorescence on [0, 1]: one sample from fresh noise."""
        return self.generate(batch)
