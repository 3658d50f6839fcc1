"""The plugin point of the segmenter: the default watershed, or one a package registers.

A package that brings another segmenter (Cellpose or StarDist with the user's own weights)
declares a factory in the entry-point group ``vsbench.segmenters``::

    [project.entry-points."vsbench.segmenters"]
    cellpose = "my_package.segment:make_segmenter"

The factory takes no argument and returns an object with the :class:`Segmenter` protocol.
Scoring picks one by name (``vsbench evaluate --segmenter NAME``); ``watershed``, the default,
is built in and needs no download. What a segmenter's ``record()`` returns is part of the key
of the ground-truth cache, so two segmenters never share cached objects.
"""

from __future__ import annotations

import importlib.metadata as md
from typing import Protocol, Sequence

import numpy as np

from vsbench.biometrics.segmentation import Objects, WatershedSegmenter
from vsbench.errors import PluginError

ENTRY_POINT_GROUP = "vsbench.segmenters"
DEFAULT_SEGMENTER = WatershedSegmenter.name


class Segmenter(Protocol):
    """What scoring needs of a segmenter."""

    name: str

    def record(self) -> dict[str, object]:
        """Its name and settings, as JSON (recorded in the run; keys the cache)."""

    def segment(self, image: np.ndarray, channels: Sequence[str]) -> Objects:
        """Nuclei (and cells, when it can) of one field ``(C, H, W)`` in [0, 1]."""


def available_segmenters() -> list[str]:
    """The names of the built-in segmenter and of those registered by packages."""
    return sorted({DEFAULT_SEGMENTER, *(ep.name for ep in md.entry_points(
        group=ENTRY_POINT_GROUP))})


def segmenter_for(name: str = DEFAULT_SEGMENTER) -> Segmenter:
    """The segmenter called ``name``; an unknown one raises with the valid names."""
    if name == DEFAULT_SEGMENTER:
        return WatershedSegmenter()
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            try:
                segmenter = ep.load()()
            except Exception as exc:  # a broken plugin is named, not a traceback
                raise PluginError(f"The segmenter '{name}' ({ep.value}) failed to load: "
                                  f"{type(exc).__name__}: {exc}; fix or uninstall it.") from None
            if not callable(getattr(segmenter, "segment", None)):
                raise PluginError(f"The segmenter '{name}' ({ep.value}) has no segment(); "
                                  "fix the plugin.")
            return segmenter
    raise PluginError(f"Unknown segmenter '{name}'. Valid segmenters: "
                      f"{', '.join(available_segmenters())}.")
