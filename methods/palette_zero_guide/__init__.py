"""``palette-zero-guide``: a control - mask guidance from an all-zero guide.

The mask-guided denoising of ``diffstain`` and ``palette-threshold`` (same network, presets,
start step and rounds), but every mask is empty, so with the default ``guide=mask`` (and with
``product``) z = 0 everywhere: black, -1 on the diffusion scale. What guidance gains over
unguided Palette with this guide is not the masks' doing but a brightness reset of the
estimate; a mask source is only worth something by what it adds over this row. It is a control
(``MethodSpec.control``): leaderboards show it apart from the methods and never rank it.
"""

from __future__ import annotations

from vsbench import MethodSpec, hookimpl
from vsbench.diffusion.guided_params import MaskGuidedParams
from vsbench.diffusion.params import diffusion_presets


def build(params: MaskGuidedParams, info):
    """Build the method (imports torch and diffusers)."""
    from vsbench_methods.palette_zero_guide.method import ZeroGuideMethod

    return ZeroGuideMethod(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="palette-zero-guide",
        description="Control: Palette with mask guidance from an all-zero guide (brightness "
                    "reset only).",
        reference="vsbench control for DiffStain (MICCAI 2025) section 2.3",
        params=MaskGuidedParams,
        factory=build,
        presets=diffusion_presets(),
        stochastic=True,  # a sampler: scored as an ensemble by the posterior tier
        trains_as="palette",  # Palette's network and training; only inference differs
        control=True,
    )]
