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

from vsbench.errors import ConfigError

IDENTITY = 0
N_TRANSFORMS = 8
#: The symmetry groups a source may declare, as the codes they hold. ``flips``: the identity,
#: the half turn and the two mirror images (left-right is 4, up-down is 6 = half turn + 4).
SYMMETRIES: dict[str, tuple[int, ...]] = {
    "dihedral": tuple(range(N_TRANSFORMS)),
    "flips": (0, 2, 4, 6),
    "rot180": (0, 2),
    "none": (IDENTITY,),
}


def check_symmetry(symmetry: str, where: str = "--set symmetry") -> str:
    """``symmetry`` if it names a group of :data:`SYMMETRIES`, else a :class:`ConfigError`."""
    if symmetry not in SYMMETRIES:
        raise ConfigError(f"{where}={symmetry}: use one of {', '.join(SYMMETRIES)} (dihedral for "
                          "widefield brightfield, none for oblique, DIC or phase-gradient "
                          "contrast).")
    return symmetry


def symmetry_of(source) -> str:
    """The symmetry group a dataset source declares (``none`` when it declares none)."""
    return check_symmetry(str(getattr(source, "symmetry", "none")),
                          f"the symmetry of dataset source {type(source).__name__}")


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
