"""``diffstain``: Palette with masks from neural spectral clustering guiding the denoising.

DiffStain (Han, Jiang and Pei, MICCAI 2025; Table 1 "DiffStain"): the conditional diffusion
model of ``palette``, and at inference mask-guided denoising (section 2.3,
:mod:`vsbench.diffusion.guided`) with structure masks from neural spectral clustering (section
2.2, :mod:`vsbench.nsc`) of the current fluorescence estimate. The ``nsc_*`` hyperparameters
are those of :class:`vsbench.nsc.config.NSCConfig` (``nsc_download`` is its
``allow_download``). Which backbone and weights a run used is in its ``config.json``
(``method_record.mask_source``); ``vsbench weights`` lists the backbones and how to get their
weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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

    # Flat fields, so that each is a --set key; their defaults are NSCConfig's (one source).
    nsc_backbone: str = NSCConfig.backbone
    nsc_weights: str | None = NSCConfig.weights
    nsc_download: bool = NSCConfig.allow_download
    nsc_fallback: bool = NSCConfig.fallback
    nsc_features: Literal["tokens", "keys"] = NSCConfig.features
    nsc_fov: int = NSCConfig.fov
    nsc_input_size: int = NSCConfig.input_size
    nsc_r: int = NSCConfig.r
    nsc_k: int = NSCConfig.k
    nsc_top: int = NSCConfig.top
    nsc_solver: Literal["eigsh", "lobpcg", "dense"] = NSCConfig.solver
    nsc_n_init: int = NSCConfig.n_init
    nsc_seed: int = NSCConfig.seed

    def nsc_config(self) -> NSCConfig:
        """The :class:`NSCConfig` these hyperparameters describe."""
        return NSCConfig(backbone=self.nsc_backbone, weights=self.nsc_weights,
                         allow_download=self.nsc_download, fallback=self.nsc_fallback,
                         features=self.nsc_features, fov=self.nsc_fov,
                         input_size=self.nsc_input_size, r=self.nsc_r, k=self.nsc_k,
                         top=self.nsc_top, solver=self.nsc_solver, n_init=self.nsc_n_init,
                         seed=self.nsc_seed)

    def validate(self) -> None:
        super().validate()
        self.nsc_config().validate()


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
    )]
