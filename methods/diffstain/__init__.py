"""``diffstain``: Palette with masks from neural spectral clustering guiding the denoising.

DiffStain (Han, Jiang and Pei, MICCAI 2025; Table 1 "DiffStain"): the conditional diffusion
model of ``palette``, and at inference mask-guided denoising (section 2.3,
:mod:`vsbench.diffusion.guided`) with structure masks from neural spectral clustering (section
2.2, :mod:`vsbench.nsc`) of the current fluorescence estimate. Its ``nsc`` hyperparameters
are a :class:`vsbench.nsc.config.NSCConfig`, set as dotted keys (``--set nsc.backbone=NAME``,
``nsc.allow_download``, ...). Which backbone and weights a run used is in its ``config.json``
(``method_record.mask_source``); ``vsbench weights`` lists the backbones and how to get their
weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vsbench import MethodSpec, hookimpl
from vsbench.diffusion.guided_params import MaskGuidedParams
from vsbench.diffusion.params import diffusion_presets
from vsbench.nsc.config import NSCConfig


@dataclass
class DiffStainParams(MaskGuidedParams):
    """Mask-guidance hyperparameters plus those of NSC (defaults: the paper's r = k = 5,
    224-pixel fields of view, the public code's DINO ViT-S/8). The presets are palette's: in
    the smoke preset a 64 px image is one field of view, upsampled to the backbone's 224 px
    input (a 28 x 28 patch grid, 2.3 image pixels per patch)."""

    nsc: NSCConfig = field(default_factory=NSCConfig)  # --set nsc.<key>=...

    def validate(self) -> None:
        super().validate()
        self.nsc.validate()


def build(params: DiffStainParams, info):
    """Build the method (imports torch, diffusers and timm)."""
    from vsbench_methods.diffstain.method import DiffStainMethod

    return DiffStainMethod(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="diffstain",
        description="DiffStain: Palette with NSC structure masks guiding the denoising.",
        reference="Han, Jiang and Pei, MICCAI 2025 (DiffStain), sections 2.2-2.3",
        params=DiffStainParams,
        factory=build,
        presets=diffusion_presets(),
        stochastic=True,  # a sampler: scored as an ensemble by the posterior tier
        trains_as="palette",  # Palette's network and training; only inference differs
    )]
