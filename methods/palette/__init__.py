"""``palette``: conditional diffusion from brightfield to the fluorescence channels.

Palette (Saharia et al., SIGGRAPH 2022) as the DiffStain paper uses it (its Table 1 row
"Palette"): the brightfield planes, scaled to [-1, 1], are concatenated with the noisy target
y_t on the channel axis, and a U-Net predicts the noise of the dataset's fluorescence channels;
no masks, no class labels. The toolkit's
:class:`vsbench.diffusion.method.ConditionalDiffusionMethod` is exactly this method, with no
hook overridden; the hyperparameters are the shared
:class:`vsbench.diffusion.params.DiffusionParams` and presets, so ``palette`` differs from the
other diffusion methods only by what they add.
"""

from __future__ import annotations

from vsbench import MethodSpec, hookimpl
from vsbench.diffusion.params import DiffusionParams, diffusion_presets


def build(params: DiffusionParams, info):
    """Build the method (imports torch and diffusers)."""
    from vsbench.diffusion.method import ConditionalDiffusionMethod

    return ConditionalDiffusionMethod(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="palette",
        description="Palette: conditional diffusion, brightfield concatenated with y_t.",
        reference="Saharia et al., SIGGRAPH 2022 (Palette); DiffStain Table 1 baseline",
        params=DiffusionParams,
        factory=build,
        presets=diffusion_presets(),
        stochastic=True,  # a sampler: scored as an ensemble by the posterior tier
    )]
