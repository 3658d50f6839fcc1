"""The default segmenter: nuclei and cells from a stain, deterministic and offline.

Nuclei come from the DNA channel as CellProfiler's IdentifyPrimaryObjects finds them: Gaussian
smoothing, an Otsu threshold (never below a floor, so an empty field stays empty), holes filled,
small specks removed, and touching nuclei split by a watershed on the distance transform seeded
at its local maxima. Cells are grown from the nuclei as IdentifySecondaryObjects' propagation
does: a watershed of the smoothed membrane/cytoplasm channel (AGP, else RNA) seeded with the
nuclei, limited to that channel's thresholded, hole-filled foreground. The same settings are
applied to the ground truth and to every prediction; they are recorded in the run
(:meth:`SegmentationSettings.to_json`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

# Channel names, lower-cased, that hold a nuclear (DNA) stain or a cell body/membrane stain.
NUCLEAR_CHANNELS = ("dna", "hoechst", "dapi", "nuclei", "nucleus")
CELL_CHANNELS = ("agp", "actin", "membrane", "rna", "cytoplasm")


@dataclass(frozen=True)
class SegmentationSettings:
    """The settings of the default segmenter (pixels of the scored field)."""

    smoothing_sigma: float = 1.0  # Gaussian smoothing before thresholding
    threshold_floor: float = 0.05  # the Otsu threshold is never lower (intensity in [0, 1])
    min_nucleus_area: int = 6  # smaller objects are specks, not nuclei
    peak_min_distance: int = 3  # between seeds of the distance-transform watershed
    cell_threshold_scale: float = 1.0  # times the cell channel's Otsu threshold
    cell_max_distance: int = 30  # a cell reaches at most this far from its nucleus

    def to_json(self) -> dict[str, float | int]:
        """The settings as a JSON object (what the run records)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Objects:
    """The label images of one field: nuclei, and cells (None without a cell channel)."""

    nuclei: np.ndarray  # (H, W) int32, 0 = background, objects 1..N
    cells: np.ndarray | None = None  # (H, W) int32, cell i grown from nucleus i


def channel_index(channels: Sequence[str], candidates: Sequence[str]) -> int | None:
    """The index of the first channel whose lower-cased name is in ``candidates`` (in the
    order of ``candidates``), or None."""
    lowered = [c.lower() for c in channels]
    for name in candidates:
        if name in lowered:
            return lowered.index(name)
    return None


def _threshold(image: np.ndarray, floor: float) -> float:
    from skimage.filters import threshold_otsu

    if float(image.max()) - float(image.min()) < 1e-6:
        return max(float(image.max()) + 1.0, floor)  # a flat field has no foreground
    return max(float(threshold_otsu(image)), floor)


def segment_nuclei(dna: np.ndarray, settings: SegmentationSettings) -> np.ndarray:
    """Nuclei of a DNA image (``(H, W)`` in [0, 1]) as an int32 label image."""
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    smooth = ndi.gaussian_filter(np.asarray(dna, dtype=np.float64), settings.smoothing_sigma)
    mask = ndi.binary_fill_holes(smooth > _threshold(smooth, settings.threshold_floor))
    mask = _without_small(mask, settings.min_nucleus_area)
    if not mask.any():
        return np.zeros(mask.shape, dtype=np.int32)
    distance = ndi.distance_transform_edt(mask)
    components, _ = ndi.label(mask)
    peaks = peak_local_max(distance, min_distance=settings.peak_min_distance,
                           labels=components, exclude_border=False)
    markers = np.zeros(mask.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-distance, markers, mask=mask)
    # A component without a peak (rare: a plateau) still is a nucleus.
    missed = mask & (labels == 0)
    if missed.any():
        extra, n = ndi.label(missed)
        labels[missed] = extra[missed] + labels.max()
    return _sequential(labels)


def grow_cells(nuclei: np.ndarray, body: np.ndarray,
               settings: SegmentationSettings) -> np.ndarray:
    """Cells grown from ``nuclei`` on a membrane/cytoplasm image ``body`` (``(H, W)``):
    cell ``i`` holds nucleus ``i``; int32 labels."""
    from skimage.segmentation import watershed

    smooth = ndi.gaussian_filter(np.asarray(body, dtype=np.float64), settings.smoothing_sigma)
    threshold = _threshold(smooth, settings.threshold_floor) * settings.cell_threshold_scale
    # A membrane stain outlines the cell: its filled outline is the cell's area.
    foreground = ndi.binary_fill_holes(smooth > threshold) | (nuclei > 0)
    near = ndi.distance_transform_edt(nuclei == 0) <= settings.cell_max_distance
    cells = watershed(smooth, nuclei, mask=foreground & near)
    return cells.astype(np.int32)


def _without_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    """``mask`` without its connected components of fewer than ``min_area`` pixels (by hand:
    scikit-image renamed ``remove_small_objects``' argument in 0.26)."""
    components, n = ndi.label(mask)
    if n == 0:
        return mask
    areas = np.bincount(components.ravel())
    keep = areas >= min_area
    keep[0] = False
    return keep[components]


def _sequential(labels: np.ndarray) -> np.ndarray:
    from skimage.segmentation import relabel_sequential

    return relabel_sequential(labels.astype(np.int32))[0].astype(np.int32)


class WatershedSegmenter:
    """The default segmenter (no weights, no download): see the module's docstring."""

    name = "watershed"

    def __init__(self, settings: SegmentationSettings | None = None) -> None:
        self.settings = settings or SegmentationSettings()

    def record(self) -> dict[str, object]:
        """What a run records about the segmenter: its name and settings."""
        return {"name": self.name, "settings": self.settings.to_json()}

    def segment(self, image: np.ndarray, channels: Sequence[str]) -> Objects:
        """Nuclei and cells of one field (``image``: ``(C, H, W)`` in [0, 1] with these
        ``channels``); the caller checks that a nuclear channel exists
        (:func:`channel_index`)."""
        dna = channel_index(channels, NUCLEAR_CHANNELS)
        if dna is None:
            raise ValueError(f"no nuclear channel among {', '.join(channels)}")
        nuclei = segment_nuclei(image[dna], self.settings)
        body = channel_index(channels, CELL_CHANNELS)
        cells = grow_cells(nuclei, image[body], self.settings) if body is not None else None
        return Objects(nuclei, cells)
