"""``palette-threshold``: Palette with masks from adaptive thresholding guiding the denoising.

The DiffStain paper's Table 1 row "Palette dagger": the same mask-guided denoising as
``diffstain`` (:mod:`vsbench.diffusion.guided`, same hyperparameters and defaults), with
structure masks from a scikit-image threshold of each channel of the current estimate instead
of neural spectral clustering, so the two methods differ only in the mask source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vsbench import MethodSpec, hookimpl
from vsbench.config import ConfigError
from vsbench.diffusion.guided_params import MaskGuidedParams
from vsbench.diffusion.params import diffusion_presets

THRESHOLDS = ("otsu", "li", "local")


@dataclass
class PaletteThresholdParams(MaskGuidedParams):
    """Mask-guidance hyperparameters plus the threshold.

    Attributes:
        threshold: per image and channel, ``local`` (the default: adaptive thresholding, as
            the paper says; ``skimage.filters.threshold_local``: a pixel is foreground above
            the Gaussian-weighted mean of its ``threshold_block`` neighbourhood, and above the
            image's Otsu threshold times ``threshold_floor``, so flat background does not
            become half foreground), ``otsu`` (global Otsu) or ``li`` (minimum cross
            entropy).
        threshold_block: the local neighbourhood, in pixels (odd).
        threshold_floor: for ``local``, the fraction of the Otsu threshold a pixel must reach.
    """

    threshold: Literal["otsu", "li", "local"] = "local"
    # Chosen by mask IoU with the synthetic renderer's true structures on the validation
    # split (benchmarks/README.md, "Mask quality"): 15 px / 0.5 had 0.679 on ground truth.
    threshold_block: int = 63
    threshold_floor: float = 0.8

    def validate(self) -> None:
        super().validate()
        if self.threshold not in THRESHOLDS:
            raise ConfigError(f"--set threshold={self.threshold}: use one of "
                              f"{', '.join(THRESHOLDS)}.")
        if self.threshold_block < 3 or self.threshold_block % 2 == 0:
            raise ConfigError(f"--set threshold_block={self.threshold_block}: must be an odd "
                              "number of at least 3.")


def build(params: PaletteThresholdParams, info):
    """Build the method (imports torch and diffusers)."""
    from vsbench_methods.palette_threshold.method import PaletteThresholdMethod

    return PaletteThresholdMethod(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="palette-threshold",
        description="Palette with thresholded structure masks guiding the denoising.",
        reference="DiffStain (MICCAI 2025) Table 1, Palette with adaptive-threshold masks",
        params=PaletteThresholdParams,
        factory=build,
        presets=diffusion_presets(),
        stochastic=True,  # a sampler: scored as an ensemble by the posterior tier
        trains_as="palette",  # Palette's network and training; only inference differs
    )]
