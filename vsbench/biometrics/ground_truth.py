"""The ground truth of the biological tiers: its objects and its features, cached.

The real stains of a test split are segmented and measured once per dataset fingerprint,
split, field size, sample set and settings (segmenter and features), never once per method:
:func:`ground_truth` reads ``<data_root>/<dataset>/biometrics/<key>.npz``
(:attr:`vsbench.layout.DatasetFolder.biometrics_cache`) when it exists and writes it
(atomically) when it does not.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from vsbench import atomic
from vsbench.biometrics.features import FeatureSettings, FieldFeatures, measure_field
from vsbench.biometrics.segmentation import Objects
from vsbench.biometrics.segmenters import Segmenter
from vsbench.readback import DAMAGED_FILE_ERRORS

# Bump when what the cache holds, or how it is computed, changes.
CACHE_VERSION = 1


@dataclass(frozen=True)
class GroundTruth:
    """The real stains' objects and features, field by field (in ``sample_ids``' order)."""

    sample_ids: tuple[str, ...]
    nuclei: np.ndarray  # (N, H, W) int32
    cells: np.ndarray | None  # (N, H, W) int32, None without a cell channel
    features: tuple[FieldFeatures, ...]  # measured on measure_objects(i)
    from_cache: bool = False

    def objects(self, index: int) -> Objects:
        """The objects of field ``index``."""
        return Objects(self.nuclei[index], None if self.cells is None else self.cells[index])

    def measure_objects(self, index: int) -> np.ndarray:
        """The objects the features are measured on: cells where there are, else nuclei."""
        return self.nuclei[index] if self.cells is None else self.cells[index]


def cache_key(dataset_fingerprint: str, split_hash: str, sample_ids: Sequence[str],
              size: tuple[int, int], channels: Sequence[str], segmenter: Segmenter,
              features: FeatureSettings) -> str:
    """16 hex digits naming a cached ground truth: everything its numbers depend on."""
    text = json.dumps({"version": CACHE_VERSION, "fingerprint": dataset_fingerprint,
                       "split": split_hash, "ids": list(sample_ids), "size": list(size),
                       "channels": list(channels), "segmenter": segmenter.record(),
                       "features": features.to_json()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def compute(targets: np.ndarray, sample_ids: Sequence[str], channels: Sequence[str],
            segmenter: Segmenter, features: FeatureSettings) -> GroundTruth:
    """Segment and measure the real stains ``targets`` (``(N, C, H, W)`` in [0, 1])."""
    nuclei, cells, measured = [], [], []
    for image in targets:
        objects = segmenter.segment(np.asarray(image, dtype=np.float32), channels)
        nuclei.append(objects.nuclei)
        cells.append(objects.cells)
        where = objects.nuclei if objects.cells is None else objects.cells
        measured.append(measure_field(image, where, channels, features))
    has_cells = all(c is not None for c in cells) and bool(cells)
    return GroundTruth(tuple(sample_ids), np.stack(nuclei).astype(np.int32),
                       np.stack(cells).astype(np.int32) if has_cells else None,
                       tuple(measured))


def save(path: Path, truth: GroundTruth) -> None:
    """Write ``truth`` to ``path`` (an ``.npz``, atomically)."""
    keys = sorted({key for field in truth.features for key in field})
    counts = [len(next(iter(f.values()))) if f else 0 for f in truth.features]
    values = np.full((len(keys), sum(counts)), np.nan)
    start = 0
    for field, count in zip(truth.features, counts):
        for row, key in enumerate(keys):
            if key in field:
                values[row, start:start + count] = field[key]
        start += count
    arrays = {"sample_ids": np.array(truth.sample_ids, dtype=str), "nuclei": truth.nuclei,
              "feature_keys": np.array(keys, dtype=str).reshape(len(keys), 2),
              "feature_values": values, "object_counts": np.array(counts, dtype=np.int64)}
    if truth.cells is not None:
        arrays["cells"] = truth.cells
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_npz(path, **arrays)


def load(path: Path) -> GroundTruth:
    """Read what :func:`save` wrote."""
    with np.load(path) as data:
        keys = [tuple(k) for k in data["feature_keys"].tolist()]
        values, counts = data["feature_values"], data["object_counts"]
        features, start = [], 0
        for count in counts.tolist():
            features.append({key: values[row, start:start + count]
                             for row, key in enumerate(keys)} if count else {})
            start += count
        return GroundTruth(tuple(data["sample_ids"].tolist()), data["nuclei"],
                           data["cells"] if "cells" in data.files else None,
                           tuple(features), from_cache=True)


def ground_truth(cache_dir: Path | None, key: str,
                 targets: Callable[[], np.ndarray], sample_ids: Sequence[str],
                 channels: Sequence[str], segmenter: Segmenter,
                 features: FeatureSettings) -> GroundTruth:
    """The cached ground truth ``<cache_dir>/<key>.npz``, computed from ``targets()`` (only
    called on a miss) and stored when missing; ``cache_dir=None``: no cache."""
    path = Path(cache_dir) / f"{key}.npz" if cache_dir is not None else None
    if path is not None and path.is_file():
        try:
            truth = load(path)
            if truth.sample_ids == tuple(sample_ids):
                return truth
        except DAMAGED_FILE_ERRORS:
            pass  # a damaged cache file is recomputed and replaced
    truth = compute(targets(), sample_ids, channels, segmenter, features)
    if path is not None:
        save(path, truth)
    return truth
