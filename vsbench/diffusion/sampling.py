"""The reverse process: from pure noise, or SDEdit-style from a given image noised to a step.

Both start points use the same loop over the scheduler's timesteps, batched and under
``torch.inference_mode``. Each call works on a fresh copy of the scheduler, so no solver state
(DPM-Solver's history of model outputs, the step index) leaks from one batch to the next and
the caller's scheduler is never changed.

SDEdit start (Meng et al., ICLR 2022; the DiffStain paper's eq. 2): the start image z (in the
model range) is noised to a step t_s, y_ts = sqrt(alpha_bar_ts) z + sqrt(1 - alpha_bar_ts) eps,
and the reverse process runs from there. ``start_fraction`` f names the step on the training
schedule, round(f (T - 1)); the sampler runs its own timesteps that are at or below it, and z is
noised to the first of them (:func:`sdedit_timesteps`), so that the noise level of the start
always matches the step the denoiser is first asked about. With the full ancestral sampler
(``num_steps`` = T) that is exactly round(f (T - 1)).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils.torch_utils import randn_tensor

from vsbench.diffusion.forward import q_sample
from vsbench.diffusion.network import predict_noise
from vsbench.diffusion.schedule import fresh_copy
from vsbench.progress import progress_bar


def start_timestep(num_train_timesteps: int, fraction: float) -> int:
    """The training step at ``fraction`` (in (0, 1]) of the schedule: round(f (T - 1))."""
    if not 0 < fraction <= 1:
        raise ValueError(f"start_fraction={fraction}: must be in (0, 1].")
    return int(round(fraction * (num_train_timesteps - 1)))


def sdedit_timesteps(timesteps: torch.Tensor, num_train_timesteps: int, fraction: float
                     ) -> torch.Tensor:
    """The sampler's ``timesteps`` (descending) that an SDEdit start at ``fraction`` runs
    through: those at or below :func:`start_timestep`. The first is the step the start image is
    noised to. Raises when there is none (the fraction is below the sampler's last step)."""
    limit = start_timestep(num_train_timesteps, fraction)
    keep = timesteps[timesteps <= limit]
    if len(keep) == 0:
        raise ValueError(f"start_fraction={fraction} (step {limit} of {num_train_timesteps}) is "
                         f"below the sampler's smallest step ({int(timesteps.min())}); raise "
                         "start_fraction or the number of sampling steps.")
    return keep


def _device(denoiser: torch.nn.Module, *tensors: torch.Tensor | None) -> torch.device:
    for tensor in tensors:
        if tensor is not None:
            return tensor.device
    param = next(denoiser.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


# Called after every reverse step with (t, y_t, the denoiser's output at t): a view into the
# pass, e.g. for the masks "generated at the early stages" (DiffStain 2.3).
StepHook = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]


def predicted_x0(scheduler: SchedulerMixin, y_t: torch.Tensor, model_output: torch.Tensor,
                 t: torch.Tensor) -> torch.Tensor:
    """The clean image the denoiser's output at step ``t`` implies (model range, clipped to
    [-1, 1]): (y_t - sqrt(1 - a) eps) / sqrt(a) for noise prediction, sqrt(a) y_t -
    sqrt(1 - a) v for v-prediction, a = alpha_bar_t of the training schedule."""
    a = scheduler.alphas_cumprod.to(y_t.device, torch.float32)[int(t)]
    out = model_output.float()
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        x0 = (y_t - (1 - a).sqrt() * out) / a.sqrt()
    elif kind == "v_prediction":
        x0 = a.sqrt() * y_t - (1 - a).sqrt() * out
    else:
        raise ValueError(f"prediction type '{kind}' has no x0 formula here.")
    return x0.clamp(-1.0, 1.0)


@torch.inference_mode()
def sample(denoiser: torch.nn.Module, scheduler: SchedulerMixin,
           condition: torch.Tensor | None, shape: Sequence[int], num_steps: int,
           generator: torch.Generator | None = None, class_labels: torch.Tensor | None = None,
           start: torch.Tensor | None = None, start_fraction: float | None = None,
           progress: bool = False, on_step: StepHook | None = None) -> torch.Tensor:
    """Run the reverse process and return y_0 in the model range ([-1, 1], float32).

    Args:
        denoiser: predicts the noise (see :func:`vsbench.diffusion.network.predict_noise`); it
            is put in evaluation mode for the call and restored after.
        scheduler: a scheduler from :func:`vsbench.diffusion.schedule.make_scheduler` (a fresh
            copy is used, the argument is left untouched).
        condition: condition channels ``[B, C, H, W]`` concatenated with y_t, or None.
        shape: ``[B, channels, H, W]`` of the sample.
        num_steps: the sampler's number of steps over the whole schedule.
        generator: for the initial noise and the ancestral sampler's noise.
        class_labels: int64 ``[B]`` for a class-conditional denoiser, else None.
        start: an image ``shape`` in the model range to start from (SDEdit), or None for pure
            noise.
        start_fraction: with ``start``, where on the schedule to start (in (0, 1]).
        progress: show a progress bar over the steps (long runs).
        on_step: called after every step with ``(t, y_t, model output)`` (:data:`StepHook`).
    """
    if (start is None) != (start_fraction is None):
        raise ValueError("give both start and start_fraction (SDEdit start) or neither.")
    device = _device(denoiser, condition, start)
    sched = fresh_copy(scheduler)
    sched.set_timesteps(num_steps, device=device)
    timesteps = sched.timesteps
    noise = randn_tensor(tuple(shape), generator=generator, device=device, dtype=torch.float32)
    if start is None:
        y = noise * sched.init_noise_sigma
    else:
        if tuple(start.shape) != tuple(shape):
            raise ValueError(f"start has shape {tuple(start.shape)}, expected {tuple(shape)}.")
        timesteps = sdedit_timesteps(timesteps, sched.config.num_train_timesteps,
                                     start_fraction)
        if hasattr(sched, "set_begin_index"):  # multistep solvers index their state from here
            sched.set_begin_index(len(sched.timesteps) - len(timesteps))
        y = q_sample(sched, start.to(device, torch.float32), noise, timesteps[0])
    was_training = denoiser.training
    denoiser.eval()
    try:
        with progress_bar(None, "sampling", len(timesteps), transient=True,
                          default_console=progress) as bar:
            for t in timesteps:
                model_input = sched.scale_model_input(y, t)
                eps = predict_noise(denoiser, model_input, t, condition, class_labels)
                if on_step is not None:
                    on_step(t, y, eps)
                y = sched.step(eps.float(), t, y, generator=generator).prev_sample
                bar.advance()
    finally:
        denoiser.train(was_training)
    return y.float()
