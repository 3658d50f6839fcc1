"""``flow-matching``: conditional flow matching (rectified flow) from brightfield to fluorescence.

The straight path from Gaussian noise to the fluorescence channels (Lipman et al., ICLR 2023;
Liu et al., ICLR 2023), conditioned as ``palette`` is: the brightfield planes, scaled to
[-1, 1], are concatenated with x_sigma on the channel axis, and the diffusion toolkit's U-Net
predicts the path's velocity (noise - data), trained with the mean squared error
(:mod:`vsbench.diffusion.flow`). Prediction integrates the velocity of the EMA weights from
fresh noise with a few Euler steps of diffusers' ``FlowMatchEulerDiscreteScheduler`` (4 network
evaluations by default), so every call draws a different sample: the posterior tier scores it
as an ensemble.

The network, its EMA and the presets' network sizes and training budgets are ``palette``'s
(:mod:`vsbench.diffusion.params`), so the two differ only by the path, the target and the
sampler.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from vsbench import MethodSpec, hookimpl
from vsbench.config import ConfigError
from vsbench.diffusion.params import PAPER, SMOKE, DiffusionParams

SAMPLERS = ("euler", "heun")
# The network fields shared with DiffusionParams (validated by it, so the messages are the same).
NETWORK_FIELDS = ("width", "channel_mults", "layers_per_block", "dropout", "attention_levels",
                  "head_dim", "ema_decay", "ema_warmup")


@dataclass
class FlowMatchingParams:
    """Hyperparameters of ``flow-matching`` (every field is ``--set``-able).

    Attributes:
        width, channel_mults, layers_per_block, dropout, attention_levels, head_dim: the
            denoiser U-Net, as in :class:`vsbench.diffusion.params.DiffusionParams` (the
            defaults are the DiffStain paper's network).
        ema_decay, ema_warmup: the EMA of the weights used to sample (as for palette).
        loss: ``l2`` (flow matching's objective: its minimiser is the marginal velocity) or
            ``l1``.
        sampler: ``euler`` (one network evaluation per step) or ``heun`` (two per step but the
            last).
        sample_steps: steps of the uniform time grid at prediction.
    """

    width: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 4, 8)
    layers_per_block: int = 2
    dropout: float = 0.2
    attention_levels: tuple[int, ...] = ()
    head_dim: int = 32
    ema_decay: float = 0.9999
    ema_warmup: bool = True
    loss: Literal["l1", "l2"] = "l2"
    sampler: Literal["euler", "heun"] = "euler"
    sample_steps: int = 4

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values the network or the sampler cannot use."""
        DiffusionParams(**{name: getattr(self, name) for name in NETWORK_FIELDS}).validate()
        if self.loss not in ("l1", "l2"):
            raise ConfigError(f"--set loss={self.loss}: must be one of l1, l2.")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"--set sampler={self.sampler}: must be one of "
                              f"{', '.join(SAMPLERS)}.")
        if self.sample_steps < 1:
            raise ConfigError(f"--set sample_steps={self.sample_steps}: must be at least 1.")


def _presets() -> dict[str, dict]:
    """palette's network sizes and training budgets (its smoke preset's sampler settings, which
    are the diffusion schedule's, do not apply)."""
    keep = {f.name for f in fields(FlowMatchingParams)} | {"epochs", "lr"}
    drop = {"sampler", "sample_steps"}
    return {"smoke": {k: v for k, v in SMOKE.items() if k in keep and k not in drop},
            "paper": {k: v for k, v in PAPER.items() if k in keep and k not in drop}}


def build(params: FlowMatchingParams, info):
    """Build the method (imports torch and diffusers)."""
    from vsbench_methods.flow_matching.method import FlowMatchingMethod

    return FlowMatchingMethod(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="flow-matching",
        description="Conditional flow matching (rectified flow): brightfield concatenated with "
                    "x_t, the network predicts the velocity; a few Euler steps.",
        reference="Lipman et al., ICLR 2023 (flow matching); Liu et al., ICLR 2023 (rectified "
                  "flow)",
        params=FlowMatchingParams,
        factory=build,
        presets=_presets(),
        stochastic=True,  # a sample from fresh noise per call: scored as an ensemble
    )]
