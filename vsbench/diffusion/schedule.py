"""The noise schedule and the samplers, all built from one configuration (diffusers).

Training uses the DDPM forward process; evaluation uses the sampler the method asks for. All
three schedulers are built from the same keyword arguments, so their ``alphas_cumprod`` are the
same tensor and a model trained once can be sampled with any of them.

Choices (the same for every sampler):

- ``beta_schedule="linear"`` from ``beta_start`` to ``beta_end`` (the paper: 1e-6 to 1e-2 over
  2000 steps); ``prediction_type="epsilon"`` (the network predicts the noise, as in the paper)
  or ``"v_prediction"`` (see :mod:`vsbench.diffusion.params`).
- ``timestep_spacing="trailing"``: a few-step sampler's first step is the last training step
  (pure noise), as Lin et al. (WACV 2024) recommend; the default ``leading`` spacing would start
  a 20-step sampler at step 1900 of 2000 from an input that is pure noise.
- Clipping the estimate of y_0 to [-1, 1], the range the toolkit puts the data in
  (``clip_sample`` for DDPM and DDIM; for DPM-Solver++ its ``thresholding`` with
  ``sample_max_value=1``, whose dynamic threshold is then always 1: the same clip). Palette
  clips the same way. At the noisiest steps y_0 = (y_t - sqrt(1 - a) eps) / sqrt(a) divides by
  sqrt(a) ~ 0.01, so a small error in the predicted noise throws the estimate far outside the
  data, and a few-step sampler never recovers from it.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from diffusers.schedulers.scheduling_utils import SchedulerMixin

PREDICTION_TYPES = ("epsilon", "v_prediction")
SCHEDULERS: dict[str, type] = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler,
                               "dpm": DPMSolverMultistepScheduler}


def schedule_config(num_train_timesteps: int = 2000, beta_start: float = 1e-6,
                    beta_end: float = 1e-2, prediction_type: str = "epsilon") -> dict[str, Any]:
    """The keyword arguments every scheduler shares: the noise schedule and what the network
    predicts."""
    return {"num_train_timesteps": num_train_timesteps, "beta_start": beta_start,
            "beta_end": beta_end, "beta_schedule": "linear", "prediction_type": prediction_type,
            "timestep_spacing": "trailing"}


def make_scheduler(kind: str, num_train_timesteps: int = 2000, beta_start: float = 1e-6,
                   beta_end: float = 1e-2, clip_sample: bool = True,
                   prediction_type: str = "epsilon") -> SchedulerMixin:
    """A diffusers scheduler of ``kind`` (``ddpm``, ``ddim`` or ``dpm``) on the linear schedule.

    Args:
        kind: ``ddpm`` (ancestral sampling, posterior variance), ``ddim`` (deterministic,
            eta = 0) or ``dpm`` (DPM-Solver++ multistep, second order).
        num_train_timesteps, beta_start, beta_end: the linear beta schedule.
        clip_sample: clip the estimate of y_0 to [-1, 1] at every step.
        prediction_type: ``epsilon`` (the network predicts the noise) or ``v_prediction``.
    """
    if kind not in SCHEDULERS:
        raise ValueError(f"Unknown sampler '{kind}'; use one of {', '.join(SCHEDULERS)}.")
    if prediction_type not in PREDICTION_TYPES:
        raise ValueError(f"Unknown prediction type '{prediction_type}'; use one of "
                         f"{', '.join(PREDICTION_TYPES)}.")
    shared = schedule_config(num_train_timesteps, beta_start, beta_end, prediction_type)
    if kind == "ddpm":
        return DDPMScheduler(**shared, variance_type="fixed_small", clip_sample=clip_sample,
                             clip_sample_range=1.0)
    if kind == "ddim":
        return DDIMScheduler(**shared, clip_sample=clip_sample, clip_sample_range=1.0,
                             set_alpha_to_one=True)
    return DPMSolverMultistepScheduler(**shared, algorithm_type="dpmsolver++", solver_order=2,
                                       thresholding=clip_sample, sample_max_value=1.0,
                                       final_sigmas_type="zero", lower_order_final=True)


def fresh_copy(scheduler: SchedulerMixin) -> SchedulerMixin:
    """A new scheduler with the same configuration and no state (timesteps, solver history)."""
    return type(scheduler).from_config(scheduler.config)


def alphas_cumprod(scheduler: SchedulerMixin) -> torch.Tensor:
    """alpha_bar_t = prod_{s <= t} (1 - beta_s) for t = 0 .. T-1 (float32, on the CPU)."""
    return scheduler.alphas_cumprod.detach().to("cpu", torch.float32)

