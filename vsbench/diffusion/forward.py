"""The forward process q(y_t | y_0), training timesteps, the loss, and the data ranges.

Inside the toolkit the data live on [-1, 1] (the range the schedule's y_T ~ N(0, I) is matched
to); the benchmark's images are on [0, 1]: :func:`to_model_range` and :func:`from_model_range`
convert.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from vsbench.diffusion.params import LOSSES


def to_model_range(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1]."""
    return image * 2.0 - 1.0


def from_model_range(image: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] (no clamping)."""
    return (image + 1.0) / 2.0


def sample_timesteps(batch_size: int, num_train_timesteps: int,
                     device: torch.device | str | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Training timesteps, uniform over 0 .. T-1 (int64 ``[batch_size]``)."""
    t = torch.randint(0, num_train_timesteps, (batch_size,), generator=generator,
                      device=generator.device if generator is not None else device)
    return t.to(device) if device is not None else t


def _sqrt_alphas(scheduler: SchedulerMixin, t: torch.Tensor | int, like: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t), shaped to broadcast over ``like``."""
    alphas = scheduler.alphas_cumprod.to(device=like.device, dtype=torch.float32)
    t = torch.as_tensor(t, device=like.device).long().reshape(-1)
    a = alphas[t].reshape(-1, *([1] * (like.dim() - 1)))
    return a.sqrt(), (1.0 - a).sqrt()


def q_sample(scheduler: SchedulerMixin, y0: torch.Tensor, noise: torch.Tensor,
             t: torch.Tensor | int) -> torch.Tensor:
    """y_t = sqrt(alpha_bar_t) y_0 + sqrt(1 - alpha_bar_t) eps (the paper's eq. 2).

    ``t`` is one step for the whole batch or one per sample. This is what DDPM's and DDIM's
    ``add_noise`` compute (a test checks it); it reads the scheduler's ``alphas_cumprod``
    directly so that it works for every sampler, including DPM-Solver, whose ``add_noise``
    depends on the solver's step state.
    """
    signal, sigma = _sqrt_alphas(scheduler, t, y0)
    return (signal * y0.float() + sigma * noise.float()).to(y0.dtype)


def training_target(scheduler: SchedulerMixin, y0: torch.Tensor, noise: torch.Tensor,
                    t: torch.Tensor | int) -> torch.Tensor:
    """What the network learns to output at step ``t``: the noise for ``prediction_type``
    ``epsilon``, or v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) y_0 (Salimans and Ho,
    ICLR 2022) for ``v_prediction``, as the scheduler's configuration says."""
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return noise
    if kind == "v_prediction":
        signal, sigma = _sqrt_alphas(scheduler, t, y0)
        return (signal * noise.float() - sigma * y0.float()).to(y0.dtype)
    raise ValueError(f"Unsupported prediction type '{kind}'; use epsilon or v_prediction.")


def noise_loss(predicted: torch.Tensor, target: torch.Tensor, kind: str = "l1") -> torch.Tensor:
    """Mean L1 (the paper) or L2 (the public code) distance between the network's output and
    its :func:`training_target` (the true noise, in the paper)."""
    if kind == "l1":
        return F.l1_loss(predicted.float(), target.float())
    if kind == "l2":
        return F.mse_loss(predicted.float(), target.float())
    raise ValueError(f"Unknown loss '{kind}'; use one of {', '.join(LOSSES)}.")
