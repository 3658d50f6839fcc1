"""``ConditionalDiffusionMethod``: the base class every conditional diffusion method shares.

It ties the toolkit to the engine: the denoiser built from :class:`DiffusionParams`, the
training loss (a random step, noise, the forward process, the condition concatenated, the
predicted noise against the true one), the EMA update after every optimiser step, and the
prediction (the reverse process with the EMA weights, back to [0, 1]). A method changes what it
needs through hooks:

- :meth:`condition_channels` and :meth:`condition` - the channels concatenated with y_t (the
  brightfield planes by default; a mask-conditioned method appends its masks, which it puts in
  the batch itself, e.g. ``batch["masks"]``);
- :meth:`num_class_embeds` and :meth:`class_labels` - a class embedding (none by default);
- :meth:`generate` - sampling from pure noise or from a start image at a start fraction (what
  mask guidance builds on); :meth:`predict` calls it from pure noise.

:meth:`condition_channels` and :meth:`num_class_embeds` are called while the network is built,
from ``__init__``: they may use ``self.params`` and ``self.info`` only.
"""

from __future__ import annotations

from typing import Any

import torch

from vsbench.data.source import DatasetInfo
from vsbench.diffusion.ema import WithEMA, make_ema
from vsbench.diffusion.forward import (from_model_range, noise_loss, q_sample, sample_timesteps,
                                       to_model_range, training_target)
from vsbench.diffusion.network import build_denoiser, predict_noise
from vsbench.diffusion.params import DiffusionParams
from vsbench.diffusion.sampling import StepHook, sample
from vsbench.diffusion.schedule import make_scheduler
from vsbench.method import Method

# Show a progress bar over the sampling steps from this many steps on (the paper's 2000-step
# ancestral sampler takes minutes per batch; a 20-step DDIM sampler does not need one).
PROGRESS_MIN_STEPS = 100


class ConditionalDiffusionMethod(WithEMA, Method):
    """A Palette-style conditional diffusion model; subclasses override the hooks.

    Attributes:
        model: the denoiser being trained (diffusers ``UNet2DModel``).
        ema: the EMA of its weights (``ema.module`` is the network used to sample).
        train_scheduler: the DDPM schedule of the forward process.
        sampler: the scheduler of the reverse process (``params.sampler``), same schedule.
    """

    def __init__(self, params: DiffusionParams, info: DatasetInfo) -> None:
        super().__init__(params, info)
        self.model = build_denoiser(
            in_channels=len(info.channels) + self.condition_channels(),
            out_channels=len(info.channels), width=params.width,
            channel_mults=params.channel_mults, layers_per_block=params.layers_per_block,
            dropout=params.dropout, attention_levels=params.attention_levels,
            head_dim=params.head_dim, num_class_embeds=self.num_class_embeds())
        self.ema = make_ema(self.model, params.ema_decay, params.ema_warmup)
        schedule = {"num_train_timesteps": params.num_train_timesteps,
                    "beta_start": params.beta_start, "beta_end": params.beta_end,
                    "clip_sample": params.clip_sample, "prediction_type": params.prediction}
        self.train_scheduler = make_scheduler("ddpm", **schedule)
        self.sampler = make_scheduler(params.sampler, **schedule)

    # -- hooks -------------------------------------------------------------------------------

    def condition_channels(self) -> int:
        """Number of channels :meth:`condition` returns (the brightfield planes by default)."""
        return len(self.info.planes)

    def condition(self, batch: dict[str, Any]) -> torch.Tensor:
        """The channels concatenated with y_t, in the model range: ``[B, C, H, W]``."""
        return to_model_range(batch["brightfield"])

    def num_class_embeds(self) -> int | None:
        """Number of classes of the class embedding, or None for none (the default)."""
        return None

    def class_labels(self, batch: dict[str, Any]) -> torch.Tensor | None:
        """int64 ``[B]`` class indices for the class embedding, or None (the default)."""
        return None

    # -- engine interface --------------------------------------------------------------------

    def training_loss(self, batch: dict[str, Any]) -> torch.Tensor:
        """Loss of one batch: predict the noise added to the target at a random step (or v)."""
        y0 = to_model_range(batch["fluorescence"])
        t = sample_timesteps(y0.shape[0], self.params.num_train_timesteps, device=y0.device)
        noise = torch.randn_like(y0)
        y_t = q_sample(self.train_scheduler, y0, noise, t)
        predicted = predict_noise(self.model, y_t, t, self.condition(batch),
                                  self.class_labels(batch))
        target = training_target(self.train_scheduler, y0, noise, t)
        return noise_loss(predicted, target, self.params.loss)

    def after_optimizer_step(self) -> None:
        """Update the EMA of the weights."""
        self.ema.update_parameters(self.model)

    def generate(self, batch: dict[str, Any], start: torch.Tensor | None = None,
                 start_fraction: float | None = None,
                 generator: torch.Generator | None = None,
                 on_step: StepHook | None = None) -> torch.Tensor:
        """Sample the target channels with the EMA weights, on [0, 1].

        Args:
            batch: the engine's batch (brightfield, labels, ... on the run's device).
            start: an image on [0, 1] (``[B, channels, H, W]``) to start from, SDEdit-style,
                or None for pure noise.
            start_fraction: with ``start``, the point of the schedule to start from, in (0, 1].
            generator: random numbers for the sampler (default: torch's global generator,
                which the engine seeds).
            on_step: a view into the pass (:data:`vsbench.diffusion.sampling.StepHook`).
        """
        bf = batch["brightfield"]
        shape = (bf.shape[0], len(self.info.channels), bf.shape[-2], bf.shape[-1])
        y0 = sample(self.ema.module, self.sampler, self.condition(batch), shape,
                    self.params.sample_steps, generator=generator,
                    class_labels=self.class_labels(batch),
                    start=None if start is None else to_model_range(start),
                    start_fraction=start_fraction,
                    progress=self.params.sample_steps >= PROGRESS_MIN_STEPS,
                    on_step=on_step)
        return from_model_range(y0).clamp(0.0, 1.0)

    def predict(self, batch: dict[str, Any]) -> torch.Tensor:
        """Predicted fluorescence on [0, 1]: a sample from pure noise with the EMA weights."""
        return self.generate(batch)
