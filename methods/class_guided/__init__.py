"""``class-guided``: Palette plus a learned embedding of the well's class label.

Class-guided image-to-image diffusion (Cross-Zamirski et al., ICCVW 2023; DiffStain Table 1,
"Class_per" and "Class_tar"): the denoiser is Palette's, and a learned embedding of the class
label is added to the noise-level embedding, reaching every residual block through its
scale-and-shift normalisation. ``label_kind`` picks the label: the well's perturbation (the
default) or its target, the two variants the paper compares. A dataset without that kind of
label, or with fewer than two classes of it (an empty label column), is an error before any
training, never a silent run without labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vsbench import MethodSpec, hookimpl
from vsbench.diffusion.params import DiffusionParams, diffusion_presets


@dataclass
class ClassGuidedParams(DiffusionParams):
    """The shared diffusion hyperparameters, plus the kind of class label to embed.

    Attributes:
        label_kind: ``perturbation`` (the compound or gene of the well) or ``target`` (what the
            perturbation acts on; several perturbations can share one).
    """

    label_kind: Literal["perturbation", "target"] = "perturbation"


def build(params: ClassGuidedParams, info):
    """Build the method (imports torch and diffusers); raises DataError without the labels."""
    from vsbench_methods.class_guided.method import ClassGuidedMethod

    return ClassGuidedMethod(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="class-guided",
        description="Class-guided diffusion: Palette plus a class embedding (perturbation/target).",
        reference="Cross-Zamirski et al., ICCVW 2023; DiffStain Table 1 baseline [8]",
        params=ClassGuidedParams,
        factory=build,
        presets=diffusion_presets(),
        stochastic=True,  # a sampler: scored as an ensemble by the posterior tier
        test_labels=True,  # conditioned on the true label at test time: flagged on profiles
    )]
