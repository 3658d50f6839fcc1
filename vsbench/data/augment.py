"""Paired geometric augmentation: one transform of the data's symmetry group for input and
target alike.

A transform is a code 0..7: ``code % 4`` quarter turns (counter-clockwise, ``torch.rot90``),
then a left-right flip when ``code >= 4``; code 0 is the identity. The torch dataset applies one
random code to both brightfield and fluorescence of a sample (drawing them per channel or per
image is a known bug of public virtual-staining code) and reports it in the batch
(``augmentation``), so that a method can transform what it derived from the unaugmented sample
(e.g. cached masks) the same way.

Which codes are valid is a property of the data, declared by its source
(:attr:`vsbench.data.source.DatasetSource.symmetry`): widefield brightfield looks the same
rotated and flipped (``dihedral``), while directional contrast (oblique illumination, DIC,
phase gradient) shows its relief lit from another side once rotated or flipped (``none``; or
``rot180`` / ``flips`` where only those keep the contrast's look). Only codes of the declared
group are drawn.
"""

from __future__ import annotations

import torch

from vsbench.data.symmetry import SYMMETRIES, check_symmetry, symmetry_of

__all__ = ["IDENTITY", "N_TRANSFORMS", "SYMMETRIES", "check_symmetry", "dihedral",
           "paired_augment", "random_code", "symmetry_of"]

IDENTITY = 0
N_TRANSFORMS = 8
def dihedral(image: torch.Tensor, code: int) -> torch.Tensor:
    """Apply transform ``code`` to the last two axes of ``image``."""
    image = torch.rot90(image, code % 4, dims=(-2, -1))
    return torch.flip(image, dims=(-1,)) if code >= 4 else image


def random_code(generator: torch.Generator | None = None, symmetry: str = "dihedral") -> int:
    """One of the transforms of ``symmetry``'s group, uniformly."""
    if symmetry == "dihedral":  # drawn as before groups existed: runs stay reproducible
        k, flip = torch.randint(0, 4, (2,), generator=generator).tolist()
        return k + 4 * (flip % 2)
    codes = SYMMETRIES[check_symmetry(symmetry)]
    if len(codes) == 1:
        return codes[0]
    return codes[int(torch.randint(0, len(codes), (1,), generator=generator))]


def paired_augment(brightfield: torch.Tensor, fluorescence: torch.Tensor,
                   generator: torch.Generator | None = None, symmetry: str = "dihedral"
                   ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Apply one random transform of ``symmetry``'s group to both images; return them and its
    code."""
    code = random_code(generator, symmetry)
    return dihedral(brightfield, code), dihedral(fluorescence, code), code
