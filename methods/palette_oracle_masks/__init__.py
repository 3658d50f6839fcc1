"""``palette-oracle-masks``: a control - mask guidance with masks of the ground truth.

The mask-guided denoising of ``palette-threshold`` and ``diffstain`` (same network, presets,
guide, start step and rounds), but every round's masks are computed from the ground-truth test
image (``batch["fluorescence"]``) with the same mask source (``mask_source=threshold``, with
palette-threshold's threshold settings, or ``nsc``, with diffstain's NSC settings). No real
method can know these masks: the row is an upper bound on what better masks could give, and a
control (``MethodSpec.control``): leaderboards show it in its own section, never ranked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vsbench import MethodSpec, hookimpl
from vsbench.config import ConfigError
from vsbench.diffusion.params import diffusion_presets
from vsbench.nsc.config import NSCConfig
from vsbench_methods.palette_threshold import PaletteThresholdParams

MASK_SOURCES = ("threshold", "nsc")


@dataclass
class OracleMasksParams(PaletteThresholdParams):
    """palette-threshold's hyperparameters plus the mask source and diffstain's NSC settings.

    Attributes:
        mask_source: ``threshold`` (the ``threshold*`` settings) or ``nsc`` (``nsc.*``).
        nsc: NSC settings, used with ``mask_source=nsc`` (``--set nsc.<key>=...``).
    """

    mask_source: Literal["threshold", "nsc"] = "threshold"
    nsc: NSCConfig = field(default_factory=NSCConfig)

    def validate(self) -> None:
        super().validate()
        if self.mask_source not in MASK_SOURCES:
            raise ConfigError(f"--set mask_source={self.mask_source}: use one of "
                              f"{', '.join(MASK_SOURCES)}.")
        self.nsc.validate()


def build(params: OracleMasksParams, info):
    """Build the method (imports torch and diffusers)."""
    from vsbench_methods.palette_oracle_masks.method import OracleMasksMethod

    return OracleMasksMethod(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="palette-oracle-masks",
        description="Control (upper bound): Palette with mask guidance from masks of the "
                    "ground-truth images.",
        reference="vsbench control for DiffStain (MICCAI 2025) section 2.3",
        params=OracleMasksParams,
        factory=build,
        presets=diffusion_presets(),
        stochastic=True,  # a sampler: scored as an ensemble by the posterior tier
        trains_as="palette",  # Palette's network and training; only inference differs
        control=True,
    )]
