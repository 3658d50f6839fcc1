"""The geometric symmetry groups a dataset source may declare (torch-free: the sources import
it; :mod:`vsbench.data.augment` draws transforms from them).

A group is the set of transform codes of :mod:`vsbench.data.augment` it holds (``code % 4``
quarter turns, then a left-right flip when ``code >= 4``).
"""

from __future__ import annotations

from vsbench.errors import ConfigError

#: The symmetry groups a source may declare, as the codes they hold. ``flips``: the identity,
#: the half turn and the two mirror images (left-right is 4, up-down is 6 = half turn + 4).
SYMMETRIES: dict[str, tuple[int, ...]] = {
    "dihedral": tuple(range(8)),
    "flips": (0, 2, 4, 6),
    "rot180": (0, 2),
    "none": (0,),
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
