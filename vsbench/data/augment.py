"""Paired geometric augmentation: one dihedral transform for input and target alike.

A transform is a code 0..7: ``code % 4`` quarter turns (counter-clockwise, ``torch.rot90``),
then a left-right flip when ``code >= 4``; code 0 is the identity. The torch dataset applies one
random code to both brightfield and fluorescence of a sample (drawing them per channel or per
image is a known bug of public virtual-staining code) and reports it in the batch
(``augmentation``), so that a method can transform what it derived from the unaugmented sample
(e.g. cached masks) the same way.
"""

from __future__ import annotations

import torch

IDENTITY = 0
N_TRANSFORMS = 8


def dihedral(image: torch.Tensor, code: int) -> torch.Tensor:
    """Apply transform ``code`` to the last two axes of ``image``."""
    image = torch.rot90(image, code % 4, dims=(-2, -1))
    return torch.flip(image, dims=(-1,)) if code >= 4 else image


def random_code(generator: torch.Generator | None = None) -> int:
    """One of the eight transforms, uniformly."""
    k, flip = torch.randint(0, 4, (2,), generator=generator).tolist()
    return k + 4 * (flip % 2)


def paired_augment(brightfield: torch.Tensor, fluorescence: torch.Tensor,
                   generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Apply one random dihedral transform to both images; return them and its code."""
    code = random_code(generator)
    return dihedral(brightfield, code), dihedral(fluorescence, code), code
