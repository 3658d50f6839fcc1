"""CellProfiler features per object and channel, measured with cp-measure.

The objects are the ground truth's (cells where the channel set has a cell channel, else
nuclei), so the real and the predicted image are measured in the same places. Per channel:
intensity, Haralick texture, granularity and radial distribution; per pair of channels, the
Pearson correlation inside each object. The cheap settings below keep the tier within its
budget on CPU; they are recorded in the run (:meth:`FeatureSettings.to_json`). Position
features (``Location_*``) are dropped: they say where a cell is, not what it looks like.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

# One field's features: (channel, feature) -> one value per object (objects 1..N in order);
# a cross-channel feature's channel is "A|B".
FieldFeatures = dict[tuple[str, str], np.ndarray]


@dataclass(frozen=True)
class FeatureSettings:
    """Which cp-measure feature sets run, and their (cheap) parameters."""

    feature_sets: tuple[str, ...] = ("intensity", "texture", "granularity",
                                     "radial_distribution")
    cross_channel: bool = True  # per-object Pearson correlation of every pair of channels
    edge_measurements: bool = False  # intensity on the object's edge (CellProfiler's *Edge)
    texture_scale: int = 3
    texture_gray_levels: int = 64  # 16 collapses dim objects to level 0 (NaN texture)
    granularity_subsample: float = 1.0  # small fields: no subsampling
    granularity_element_size: int = 3
    granularity_spectrum_length: int = 4
    radial_bins: int = 4

    def to_json(self) -> dict[str, object]:
        """The settings as a JSON object (what the run records)."""
        out = dataclasses.asdict(self)
        out["feature_sets"] = list(self.feature_sets)
        return out


def _parameters(name: str, settings: FeatureSettings) -> dict[str, object]:
    if name == "intensity":
        return {"edge_measurements": settings.edge_measurements}
    if name == "texture":
        return {"scale": settings.texture_scale, "gray_levels": settings.texture_gray_levels}
    if name == "granularity":
        return {"subsample_size": settings.granularity_subsample,
                "image_sample_size": settings.granularity_subsample,
                "element_size": settings.granularity_element_size,
                "granular_spectrum_length": settings.granularity_spectrum_length}
    if name == "radial_distribution":
        return {"bin_count": settings.radial_bins}
    return {}


def measure_field(image: np.ndarray, labels: np.ndarray, channels: Sequence[str],
                  settings: FeatureSettings) -> FieldFeatures:
    """The features of every object of ``labels`` (``(H, W)``, objects ``1..N``) in every
    channel of ``image`` (``(C, H, W)``); no objects: an empty dict."""
    from cp_measure.bulk import get_core_measurements, get_correlation_measurements

    labels = np.asarray(labels, dtype=np.int32)
    n = int(labels.max(initial=0))
    if n == 0:
        return {}
    core = get_core_measurements()
    pixels = [np.asarray(image[c], dtype=np.float64) for c in range(len(channels))]
    out: FieldFeatures = {}
    with warnings.catch_warnings():  # cp-measure divides by zero on one-pixel objects
        warnings.simplefilter("ignore", RuntimeWarning)
        for c, channel in enumerate(channels):
            for name in settings.feature_sets:
                values = core[name](labels, pixels[c], **_parameters(name, settings))
                for feature, column in values.items():
                    if not feature.startswith("Location_"):
                        out[(channel, feature)] = _column(column, n)
        if settings.cross_channel:
            pearson = get_correlation_measurements()["pearson"]
            for a, b in itertools.combinations(range(len(channels)), 2):
                values = pearson(pixels[a], pixels[b], labels)
                out[(f"{channels[a]}|{channels[b]}", "Correlation_Pearson")] = _column(
                    values["Correlation_Pearson"], n)
    return out


def _column(values: object, n: int) -> np.ndarray:
    column = np.asarray(values, dtype=np.float64).ravel()
    if column.size != n:  # cp-measure returns one value per object; anything else is a bug
        raise ValueError(f"cp-measure returned {column.size} values for {n} objects")
    return column
