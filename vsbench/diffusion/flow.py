"""Conditional flow matching on the straight path (rectified flow): the path, its velocity, the
training times and the few-step ODE sampler, on diffusers' ``FlowMatchEulerDiscreteScheduler``.

Conventions are diffusers' (and Stable Diffusion 3's), so that its scheduler integrates the
network's output as it is: a time ``sigma`` in [0, 1] runs from the data (0) to pure noise (1),

    x_sigma = sigma * noise + (1 - sigma) * x_data                     (the straight path)
    v       = d x_sigma / d sigma = noise - x_data                     (its velocity)

(Lipman et al., ICLR 2023, conditional flow matching with sigma_min = 0; Liu et al., ICLR 2023,
rectified flow; Lipman's t is 1 - sigma). The network regresses v from ``[x_sigma, condition]``
with the mean squared error, whose minimiser is the marginal velocity field E[v | x_sigma] that
carries the noise distribution to the data's (the L1 loss would learn a median instead, which
does not). Sampling integrates dx/dsigma = v from sigma = 1 (pure noise) to 0 with Euler steps
(the scheduler's ``step``: x <- x + (sigma_next - sigma) v) or Heun's second-order correction on
the same grid. The grid is uniform in sigma (1, 1 - 1/n, ..., 1/n, then 0): diffusers' default
grid ends at sigma = 1/T, so with few steps its last step would be all but wasted.

The network sees the time as ``sigma * TIME_SCALE`` (diffusers' ``timesteps``), the range of
the diffusion toolkit's integer steps, for which the denoiser's sinusoidal embedding is made.
"""

from __future__ import annotations

from typing import Sequence

import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from diffusers.utils.torch_utils import randn_tensor

from vsbench.diffusion.network import predict_noise

TIME_SCALE = 1000  # diffusers' num_train_timesteps: the network's time input is sigma * 1000
SAMPLERS = ("euler", "heun")


def interpolate(x_data: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor | float
                ) -> torch.Tensor:
    """x_sigma = sigma noise + (1 - sigma) x_data; ``sigma`` one per sample (``[B]``) or one."""
    sigma = torch.as_tensor(sigma, dtype=torch.float32, device=x_data.device)
    sigma = sigma.reshape(-1, *([1] * (x_data.dim() - 1))) if sigma.dim() else sigma
    return (sigma * noise.float() + (1.0 - sigma) * x_data.float()).to(x_data.dtype)


def velocity_target(x_data: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The straight path's velocity d x_sigma / d sigma = noise - x_data (what the network
    learns)."""
    return noise - x_data


def sample_sigmas(batch_size: int, device: torch.device | str | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Training times, uniform on [0, 1) (float32 ``[batch_size]``), as in Lipman et al. and
    Liu et al."""
    sigma = torch.rand(batch_size, generator=generator,
                       device=generator.device if generator is not None else device)
    return sigma.to(device) if device is not None else sigma


def make_flow_scheduler() -> FlowMatchEulerDiscreteScheduler:
    """diffusers' flow-matching Euler scheduler, no time shift (shift = 1)."""
    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=TIME_SCALE, shift=1.0)


def sigma_grid(num_steps: int) -> list[float]:
    """The ``num_steps`` start times of a uniform grid from 1 down to 1/num_steps (the
    scheduler appends the end, 0)."""
    if num_steps < 1:
        raise ValueError(f"num_steps={num_steps}: must be at least 1.")
    return [1.0 - i / num_steps for i in range(num_steps)]


def network_evaluations(sampler: str, num_steps: int) -> int:
    """Network calls per image: one per Euler step; Heun adds a second at every step but the
    last (whose end, sigma = 0, is the data: Euler there, as in Karras et al. 2022)."""
    return num_steps if sampler == "euler" else 2 * num_steps - 1


def _device(network: torch.nn.Module, *tensors: torch.Tensor | None) -> torch.device:
    for tensor in tensors:
        if tensor is not None:
            return tensor.device
    param = next(network.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@torch.inference_mode()
def sample_flow(network: torch.nn.Module, condition: torch.Tensor | None, shape: Sequence[int],
                num_steps: int, sampler: str = "euler",
                generator: torch.Generator | None = None,
                class_labels: torch.Tensor | None = None,
                noise: torch.Tensor | None = None) -> torch.Tensor:
    """Integrate the learned velocity from noise (sigma = 1) to the data (sigma = 0).

    Args:
        network: predicts v from ``[x_sigma, condition]`` and the time ``sigma * TIME_SCALE``
            (:func:`vsbench.diffusion.network.predict_noise` calls it); put in evaluation mode
            for the call and restored after.
        condition: channels concatenated with x_sigma (``[B, C, H, W]``), or None.
        shape: ``[B, channels, H, W]`` of the sample.
        num_steps: steps of the uniform grid (see :func:`network_evaluations`).
        sampler: ``euler`` (diffusers' scheduler step) or ``heun``.
        generator: for the initial noise (default: torch's global generator).
        class_labels: int64 ``[B]`` for a class-conditional network, else None.
        noise: the initial noise itself (``shape``), instead of drawing it.

    Returns:
        the sample at sigma = 0, float32, in the model range.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"Unknown sampler '{sampler}'; use one of {', '.join(SAMPLERS)}.")
    device = _device(network, condition, noise)
    scheduler = make_flow_scheduler()
    scheduler.set_timesteps(sigmas=sigma_grid(num_steps), device=device)
    x = (randn_tensor(tuple(shape), generator=generator, device=device, dtype=torch.float32)
         if noise is None else noise.to(device, torch.float32))
    sigmas = scheduler.sigmas

    def velocity(y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return predict_noise(network, y, sigma * TIME_SCALE, condition, class_labels).float()

    was_training = network.training
    network.eval()
    try:
        for i, t in enumerate(scheduler.timesteps):
            v = velocity(x, sigmas[i])
            if sampler == "heun" and sigmas[i + 1] > 0:
                # Heun: average the slopes at both ends of the Euler step.
                end = x + (sigmas[i + 1] - sigmas[i]) * v
                v = 0.5 * (v + velocity(end, sigmas[i + 1]))
            x = scheduler.step(v, t, x).prev_sample.float()
    finally:
        network.train(was_training)
    return x
