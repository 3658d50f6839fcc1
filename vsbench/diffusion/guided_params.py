"""Hyperparameters of mask-guided denoising (DiffStain section 2.3), torch-free.

``diffstain`` (NSC masks) and ``palette-threshold`` (thresholded masks) share these and the
diffusion presets, so the two differ only in where their masks come from. The defaults were
chosen on the validation split; the figures are in ``benchmarks/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vsbench.config import ConfigError
from vsbench.diffusion.params import DiffusionParams

GUIDES = ("mask", "levels", "product")


@dataclass
class MaskGuidedParams(DiffusionParams):
    """The shared diffusion hyperparameters plus those of mask guidance.

    Attributes:
        start_fraction: t_s / T, where on the training schedule the noised mask z starts the
            reverse process (eq. 2). Small values return almost z itself (the public code's
            step 10 of 2500); 1 ignores z.
        guide: how z is formed from the binary mask m and the current estimate y: ``mask``
            (the paper's eq. 2: m itself, 0 and 1 on the image scale, -1 and +1 on the
            diffusion scale), ``levels`` (m scaled to the estimate's mean inside and outside
            the mask, per image and channel) or ``product`` (y * m).
        refine_rounds: rounds of guidance after the unguided first estimate; each takes masks
            of the previous round's output (0 = plain Palette sampling).
        mask_condition: ablation: also give the masks to the denoiser as condition channels,
            in training (masks of the training targets, computed once in ``prepare`` and cached
            under the data root) and at inference (no mask for the first estimate).
        mask_dropout: with ``mask_condition``, the probability that a training sample gets
            the "no mask" condition (what the first estimate sees at inference).
        mask_step: where the first round's masks come from: 0, the finished first estimate;
            f in (0, 1), the clean image the denoiser predicts at step f (T - 1) of the first
            pass (masks "generated at the early stages", DiffStain 2.3), taken on the way,
            at no extra cost. Later rounds take the previous round's output.
    """

    start_fraction: float = 0.5
    guide: Literal["mask", "levels", "product"] = "mask"
    refine_rounds: int = 1
    mask_condition: bool = False
    mask_dropout: float = 0.2
    mask_step: float = 0.0

    def validate(self) -> None:
        super().validate()
        if not 0 < self.start_fraction <= 1:
            raise ConfigError(f"--set start_fraction={self.start_fraction}: must be in (0, 1].")
        if self.guide not in GUIDES:
            raise ConfigError(f"--set guide={self.guide}: use one of {', '.join(GUIDES)}.")
        if self.refine_rounds < 0:
            raise ConfigError(f"--set refine_rounds={self.refine_rounds}: must not be negative.")
        if not 0 <= self.mask_step < 1:
            raise ConfigError(f"--set mask_step={self.mask_step}: must be in [0, 1) (0: masks "
                              "of the finished first estimate).")
        if not 0 <= self.mask_dropout < 1:
            raise ConfigError(f"--set mask_dropout={self.mask_dropout}: must be in [0, 1).")
