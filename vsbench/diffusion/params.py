"""The hyperparameters every conditional diffusion method shares, and their presets (torch-free).

The dataclass defaults are the paper's settings (DiffStain section 3 and its public Palette
configuration); the ``smoke`` preset shrinks the network, the schedule and the sampler so that
training and evaluation finish in minutes on a laptop CPU. All diffusion methods use
:func:`diffusion_presets`, so that they are compared with one budget.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from vsbench.config import ConfigError

LOSSES = ("l1", "l2")
SAMPLERS = ("ddpm", "ddim", "dpm")


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
        loss: ``l1`` (the paper) or ``l2`` (the public code) between predicted and true noise.
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


# The smoke preset, measured on the default synthetic dataset at 64 px on a 2-core CPU (see
# the figures in vsbench/diffusion/method.py's docstring). It sets run settings too (epochs, lr).
SMOKE: dict[str, Any] = {
    "width": 32,
    "channel_mults": (1, 2, 2),
    "layers_per_block": 1,
    "dropout": 0.0,
    "attention_levels": (),
    "head_dim": 32,
    "num_train_timesteps": 1000,
    "ema_decay": 0.995,
    "sampler": "ddim",
    "sample_steps": 20,
    "epochs": 30,
    "lr": 2e-3,
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
