"""The hyperparameters every conditional diffusion method shares, and their presets (torch-free).

The dataclass defaults are the paper's settings (DiffStain section 3 and its public Palette
configuration); the ``smoke`` preset shrinks the network and the sampler (20 ancestral steps),
and predicts v instead of the noise (measured below), so that training and evaluation finish
in minutes on a laptop CPU. All diffusion methods use :func:`diffusion_presets`, so that they
are compared with one budget.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Literal

from vsbench.config import ConfigError

LOSSES = ("l1", "l2")
SAMPLERS = ("ddpm", "ddim", "dpm")
PREDICTIONS = ("epsilon", "v_prediction")

# The most of the clean image (sqrt(alpha_bar) at the last training step) a schedule may leave.
# The denoiser learns to read the image's mean brightness from that residue, and pure noise,
# where sampling starts, then tells it "mid-grey": with 1000 steps of the paper's betas
# (0.082 left) the smoke model's samples were 0.3 too bright everywhere (MSE 0.13 against 0.022
# for the training-mean image). The paper's 2000 steps leave 0.0067.
MAX_TERMINAL_SIGNAL = 0.02


def terminal_signal(num_train_timesteps: int, beta_start: float, beta_end: float) -> float:
    """sqrt(alpha_bar_T) of the linear schedule: how much of y_0 is left in y_T."""
    steps = num_train_timesteps
    log_alpha = sum(math.log1p(-(beta_start + (beta_end - beta_start) * i / max(steps - 1, 1)))
                    for i in range(steps))
    return math.exp(0.5 * log_alpha)


@dataclass
class DiffusionParams:
    """Hyperparameters of a conditional diffusion method (every field is ``--set``-able).

    Attributes:
        width: channels of the denoiser's first level (the paper's code: 64).
        channel_mults: channel multiplier per resolution level; the denoiser halves the
            resolution between levels (the paper's code: 1, 2, 4, 8).
        layers_per_block: residual blocks per level (the paper's code: 2).
        dropout: dropout in the residual blocks (the paper's code: 0.2).
        attention_levels: levels (0 = full resolution) whose blocks get self-attention. The
            middle block always has it. Empty by default: the public Palette and DiffStain
            configurations ask for attention at downsampling 16 with four levels (the lowest is
            8), so only their middle block, at the lowest resolution, attends.
        head_dim: channels per attention head (the paper's code: 32); it must divide the
            channels of every attention level and of the lowest level.
        num_train_timesteps: length of the training noise schedule (the paper: 2000).
        beta_start: first beta of the linear schedule (the paper: 1e-6).
        beta_end: last beta of the linear schedule (the paper: 1e-2).
        prediction: what the network outputs: ``epsilon``, the noise (the paper), or
            ``v_prediction``, v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) y_0 (Salimans and
            Ho, 2022), which the samplers turn back into noise and y_0 estimates.
        loss: ``l1`` (the paper) or ``l2`` (the public code) between the network's output and
            its target (the true noise, or the true v).
        ema_decay: decay of the exponential moving average of the weights used to evaluate
            (the paper: 0.9999).
        ema_warmup: ramp the decay up as min(ema_decay, (1 + n) / (10 + n)) after n updates, so
            that a short run's average is not dominated by the first weights.
        sampler: ``ddpm`` (ancestral, the paper's), ``ddim`` or ``dpm`` (DPM-Solver++, 2nd order).
        sample_steps: reverse-process steps at evaluation (the paper: 2000, the full schedule).
        clip_sample: clip the sampler's estimate of y_0 to the data range [-1, 1] at every step
            (as Palette does); it keeps few-step samplers from overshooting.
    """

    width: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 4, 8)
    layers_per_block: int = 2
    dropout: float = 0.2
    attention_levels: tuple[int, ...] = ()
    head_dim: int = 32
    num_train_timesteps: int = 2000
    beta_start: float = 1e-6
    beta_end: float = 1e-2
    prediction: Literal["epsilon", "v_prediction"] = "epsilon"
    loss: Literal["l1", "l2"] = "l1"
    ema_decay: float = 0.9999
    ema_warmup: bool = True
    sampler: Literal["ddpm", "ddim", "dpm"] = "ddpm"
    sample_steps: int = 2000
    clip_sample: bool = True

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values the toolkit cannot work with."""
        if self.width < 1:
            raise ConfigError(f"--set width={self.width}: must be at least 1.")
        if not self.channel_mults or min(self.channel_mults) < 1:
            raise ConfigError("--set channel_mults: give one positive multiplier per level, "
                              "e.g. 1,2,4,8.")
        if len(self.channel_mults) > 6:
            raise ConfigError(f"--set channel_mults: {len(self.channel_mults)} levels halve the "
                              "image more often than a multiple of 32 allows; use at most 6.")
        if self.layers_per_block < 1:
            raise ConfigError(f"--set layers_per_block={self.layers_per_block}: must be at "
                              "least 1.")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"--set dropout={self.dropout}: must be in [0, 1).")
        levels = len(self.channel_mults)
        bad = [a for a in self.attention_levels if not 0 <= a < levels]
        if bad or len(set(self.attention_levels)) != len(self.attention_levels):
            raise ConfigError(f"--set attention_levels={','.join(map(str, self.attention_levels))}"
                              f": give distinct levels between 0 and {levels - 1} (one per "
                              "channel multiplier), or nothing for the middle block only.")
        if self.head_dim < 1:
            raise ConfigError(f"--set head_dim={self.head_dim}: must be at least 1.")
        attending = sorted({self.width * self.channel_mults[a] for a in self.attention_levels}
                           | {self.width * self.channel_mults[-1]})
        if any(c % self.head_dim for c in attending):
            raise ConfigError(f"--set head_dim={self.head_dim}: the attention blocks have "
                              f"{', '.join(map(str, attending))} channels (width x channel_mults);"
                              " use a head_dim that divides them all, e.g. --set "
                              f"head_dim={min(attending)}.")
        if self.num_train_timesteps < 2:
            raise ConfigError(f"--set num_train_timesteps={self.num_train_timesteps}: must be at "
                              "least 2.")
        if not 0 < self.beta_start < self.beta_end < 1:
            raise ConfigError(f"--set beta_start={self.beta_start} beta_end={self.beta_end}: "
                              "need 0 < beta_start < beta_end < 1.")
        signal = terminal_signal(self.num_train_timesteps, self.beta_start, self.beta_end)
        if signal > MAX_TERMINAL_SIGNAL:
            raise ConfigError(
                f"--set num_train_timesteps={self.num_train_timesteps} beta_end={self.beta_end}: "
                f"the schedule ends with {signal:.3f} of the image left (sqrt(alpha_bar_T)), but "
                "sampling starts from pure noise, so the samples drift to mid-grey; raise "
                f"beta_end or num_train_timesteps until it is below {MAX_TERMINAL_SIGNAL}.")
        if self.prediction not in PREDICTIONS:
            raise ConfigError(f"--set prediction={self.prediction}: must be one of "
                              f"{', '.join(PREDICTIONS)}.")
        if self.loss not in LOSSES:
            raise ConfigError(f"--set loss={self.loss}: must be one of {', '.join(LOSSES)}.")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"--set ema_decay={self.ema_decay}: must be in [0, 1).")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"--set sampler={self.sampler}: must be one of "
                              f"{', '.join(SAMPLERS)}.")
        if not 1 <= self.sample_steps <= self.num_train_timesteps:
            raise ConfigError(f"--set sample_steps={self.sample_steps}: must be between 1 and "
                              f"num_train_timesteps ({self.num_train_timesteps}).")


# The smoke preset, chosen on the validation plate of the default synthetic dataset (24 images,
# 64 px, seed 0, palette; MSE / PCC / SSIM averaged over channels; training CPU seconds on one
# thread). The floors there: training-mean image MSE 0.0224 (SSIM 0.394), per-channel linear map
# of the brightfield PCC 0.300; the unet smoke run reaches 0.0108 / 0.701 / 0.650.
#   epsilon, width 32, 30 epochs, 1000 steps  0.132 / 0.52 / 0.18   (samples ~0.3 too bright)
#   epsilon, width 16, 60 epochs, 2000 steps  0.144 / 0.62 / 0.24   (the same drift to grey)
#   v,       width 32, 30 epochs, lr 2e-3     0.0179 / 0.49 / 0.35  209 s
#   v,       width 16, 60 epochs, lr 2e-3     0.0162 / 0.55 / 0.36  171 s
#   v,       width 16, 100 epochs, lr 2e-3    0.0132 / 0.62 / 0.48  272 s
#   v,       width 16, 80 epochs, lr 4e-3     0.0136 / 0.61 / 0.50  218 s  <- smoke
# Why v: with the paper's noise prediction, a few hundred steps leave the noise estimate ~0.03
# off per pixel at the top of the schedule, where y_0 = (y_t - sqrt(1 - a) eps) / sqrt(a) divides
# by sqrt(a) = 0.0067: the first steps' y_0 estimates are clipped noise (mean: mid-grey), and
# the later steps keep that brightness. A v-network's y_0 estimate there is its own output, not
# an amplified residual. The `paper` preset keeps epsilon. Samplers on the 60-epoch v model:
# DDIM 20 steps 0.0163 / 0.545 / 0.363 (unclipped 0.0171 / 0.535 / 0.329), DDIM 10 0.0155 /
# 0.559 / 0.367, DDIM 50 0.0168 / 0.537 / 0.352, DPM-Solver++ 20 0.0178 / 0.520 / 0.324,
# ancestral DDPM 20 0.0152 / 0.568 / 0.433, DDPM 100 0.0162 / 0.560 / 0.425. EMA against
# the raw weights (100-epoch model): 0.0132 / 0.621 / 0.480 against 0.0133 / 0.605 / 0.496.
# The sampler, on the smoke model itself (80 epochs, seed 0; 24 validation images; PCC / SSIM,
# benchmarks/sampling_quality.py --split val): the full ancestral chain (2000 steps) 0.594 /
# 0.508, 46 s per image; ancestral on 20 steps of it 0.631 / 0.547, 0.09 s (x511); on 50 steps
# 0.617 / 0.535; DDIM 20 0.611 / 0.490 and DDIM 10 0.627 / 0.495 (SSIM 0.013-0.018 below the
# full chain); DPM-Solver++ 20 0.589 / 0.447. Ancestral 20 is the one few-step sampler here that
# is not worse than the full chain on either metric (the GPU at 256 px, test split, agrees:
# +0.019 PCC, +0.039 SSIM, x96), so it is the default; the `paper` preset keeps the paper's
# 2000 steps.
SMOKE: dict[str, Any] = {
    "width": 16,
    "channel_mults": (1, 2, 2),
    "layers_per_block": 1,
    "dropout": 0.0,
    "attention_levels": (),
    "head_dim": 32,
    "prediction": "v_prediction",
    "sampler": "ddpm",
    "sample_steps": 20,
    "epochs": 80,
    "lr": 4e-3,
}

# The paper's settings are the dataclass defaults; the run presets give 512 px, batch 1 and
# lr 5e-4. The public code trains 202 epochs ("approximately 200 iterations" in the paper).
PAPER: dict[str, Any] = {"epochs": 200}


def diffusion_presets(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The presets every diffusion method uses, as fresh copies (``smoke`` and ``paper``).

    Args:
        extra: per preset name, method-specific additions, e.g. ``smoke={"rounds": 1}``.
    """
    presets = {"smoke": copy.deepcopy(SMOKE), "paper": copy.deepcopy(PAPER)}
    for name, values in extra.items():
        presets.setdefault(name, {}).update(values)
    return presets
