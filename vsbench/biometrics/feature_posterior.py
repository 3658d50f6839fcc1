"""Per-cell features of a predicted distribution: the posterior tier's feature columns.

Every sample of a test field's ensemble is measured with cp-measure on the ground truth's
objects, as the feature tier measures the prediction, so each cell has ``S`` predicted values
per (channel, feature) beside its real value. Features have their own units, so every score
of a feature is divided by the standard deviation of its real values over the test split's
cells (1.0: an error of one between-cell standard deviation). Per feature, over all cells
(``feature_posterior.csv``):

- ``crps``: the mean over cells of the ensemble CRPS (:func:`vsbench.posterior.crps_ensemble`),
  scaled; a point mass (a deterministic method) scores its scaled absolute error;
- ``coverage_50`` / ``coverage_90``: the fraction of cells whose real value lies in the
  ensemble's central 50 % / 90 % interval (a calibrated ensemble of S samples: about
  level (S - 1) / (S + 1), :func:`vsbench.posterior.calibrated_coverage`; a point mass covers
  nothing);
- ``spread``: the mean over cells of the ensemble's standard deviation, scaled.

Per test field and channel (``per_image_feature_posterior.csv``, the posterior board's
``feature_*`` columns): the median over the channel's features of the field's mean scaled
CRPS, and the coverage over the field's (cell, feature) pairs. Cross-channel features are in
the per-feature file, not in the per-channel summaries.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from vsbench.biometrics.features import FeatureSettings, measure_field
from vsbench.biometrics.ground_truth import GroundTruth, load
from vsbench.layout import FEATURE_POSTERIOR_FILE, PER_IMAGE_FEATURE_POSTERIOR_FILE
from vsbench.posterior import COVERAGE_LEVELS, crps_ensemble

SUMMARY_VERSION = 1
PER_IMAGE_COLUMNS = ("feature_crps", "feature_coverage_50", "feature_coverage_90")
MIN_CELLS = 3  # a feature defined on fewer cells has no meaningful between-cell spread


def _covered(samples: np.ndarray, real: np.ndarray, level: float) -> np.ndarray:
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return (real >= low) & (real <= high)


class FeatureEnsembles:
    """Accumulates, field by field, the features of every sample of an ensemble on the
    ground truth's objects; :meth:`rows`, :meth:`per_image` and :meth:`summary` score them."""

    def __init__(self, truth: GroundTruth, channels: Sequence[str],
                 settings: FeatureSettings) -> None:
        self.truth, self.channels, self.settings = truth, tuple(channels), settings
        self._index = {sample_id: i for i, sample_id in enumerate(truth.sample_ids)}
        # (channel, feature) -> per field: (sample id, samples (S, n), real (n,))
        self._values: dict[tuple[str, str], list[tuple[str, np.ndarray, np.ndarray]]] = {}
        self.seconds = 0.0
        self.n_samples = 0

    def add(self, sample_id: str, ensemble: np.ndarray) -> None:
        """Measure every sample of ``ensemble`` ``(S, C, H, W)`` of field ``sample_id`` on
        the ground truth's objects."""
        if sample_id not in self._index:
            raise ValueError(f"field {sample_id} is not in the ground truth of the test split")
        index = self._index[sample_id]
        real = self.truth.features[index]
        if not real:  # a field without objects has no features
            return
        start = time.perf_counter()
        labels = self.truth.measure_objects(index)
        measured = [measure_field(np.clip(np.asarray(s, np.float32), 0, 1), labels,
                                  self.channels, self.settings) for s in ensemble]
        self.seconds += time.perf_counter() - start
        self.n_samples = max(self.n_samples, len(measured))
        for key, values in real.items():
            n = len(values)
            samples = np.stack([m.get(key, np.full(n, np.nan)) for m in measured])
            self._values.setdefault(key, []).append((sample_id, samples,
                                                     np.asarray(values, np.float64)))

    def scored(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Per feature: the scale, the per-cell scaled CRPS and coverage, their fields."""
        out = {}
        for key, fields in self._values.items():
            samples = np.concatenate([s for _, s, _ in fields], axis=1)
            real = np.concatenate([r for _, _, r in fields])
            owner = np.concatenate([[i] * len(r) for i, _, r in fields])
            finite = np.isfinite(real) & np.isfinite(samples).all(axis=0)
            if finite.sum() < MIN_CELLS:
                continue
            scale = float(np.std(real[finite]))
            if not scale > 0:  # a constant feature: no spread to scale by
                continue
            x, y = samples[:, finite], real[finite]
            out[key] = {"scale": scale, "owner": owner[finite],
                        "crps": crps_ensemble(x, y) / scale,
                        "spread": x.std(axis=0) / scale,
                        **{f"coverage_{round(l * 100)}": _covered(x, y, l)
                           for l in COVERAGE_LEVELS}}
        return out

    def rows(self, scored: Mapping | None = None) -> list[dict[str, Any]]:
        """One row per feature: its cells, scale, scaled CRPS, coverage and spread."""
        scored = self.scored() if scored is None else scored
        rows = []
        for (channel, feature), s in sorted(scored.items()):
            rows.append({"channel": channel, "feature": feature, "n_objects": len(s["crps"]),
                         "scale": s["scale"], "crps": float(s["crps"].mean()),
                         **{f"coverage_{round(l * 100)}": float(s[f"coverage_{round(l * 100)}"]
                                                              .mean()) for l in COVERAGE_LEVELS},
                         "spread": float(s["spread"].mean())})
        return rows

    def per_image(self, scored: Mapping | None = None) -> list[dict[str, Any]]:
        """One row per test field and channel: the median over features of the field's mean
        scaled CRPS, and the coverage over its (cell, feature) pairs."""
        scored = self.scored() if scored is None else scored
        rows = []
        for sample_id in self.truth.sample_ids:
            for channel in self.channels:
                crps, covered = [], {l: [] for l in COVERAGE_LEVELS}
                for (c, _), s in scored.items():
                    if c != channel:
                        continue
                    mine = s["owner"] == sample_id
                    if not mine.any():
                        continue
                    crps.append(float(s["crps"][mine].mean()))
                    for l in COVERAGE_LEVELS:
                        covered[l].append(s[f"coverage_{round(l * 100)}"][mine])
                if not crps:
                    continue
                rows.append({"sample_id": sample_id, "channel": channel,
                             "feature_crps": float(np.median(crps)),
                             **{f"feature_coverage_{round(l * 100)}":
                                float(np.concatenate(covered[l]).mean())
                                for l in COVERAGE_LEVELS}})
        return rows

    def summary(self, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Per channel (and their Average) the median scaled CRPS over features, the mean
        coverage and the median spread; the sample count and the measuring time."""
        rows = self.rows() if rows is None else rows
        channels = {}
        for channel in self.channels:
            mine = [r for r in rows if r["channel"] == channel]
            if mine:
                channels[channel] = {
                    "median_crps": float(np.median([r["crps"] for r in mine])),
                    **{f"coverage_{round(l * 100)}": float(np.mean(
                        [r[f"coverage_{round(l * 100)}"] for r in mine]))
                       for l in COVERAGE_LEVELS},
                    "median_spread": float(np.median([r["spread"] for r in mine])),
                    "n_features": len(mine)}
        names = ("median_crps", *(f"coverage_{round(l * 100)}" for l in COVERAGE_LEVELS),
                 "median_spread")
        average = {n: float(np.mean([v[n] for v in channels.values()])) if channels
                   else math.nan for n in names}
        return {"version": SUMMARY_VERSION, "n_samples": self.n_samples,
                "objects": "nuclei" if self.truth.cells is None else "cells",
                "scaled_by": "standard deviation of the real values over the test cells",
                "channels": channels, "average": average,
                "seconds_measuring": round(self.seconds, 4),
                "files": [FEATURE_POSTERIOR_FILE, PER_IMAGE_FEATURE_POSTERIOR_FILE]}


def settings_from_json(record: Mapping[str, Any]) -> FeatureSettings:
    """The :class:`FeatureSettings` a run recorded (``biometrics.features.settings``)."""
    known = FeatureSettings.__dataclass_fields__
    values = {k: v for k, v in record.items() if k in known}
    if "feature_sets" in values:
        values["feature_sets"] = tuple(values["feature_sets"])
    return FeatureSettings(**values)


def feature_ensembles(biometrics: Mapping[str, Any] | None, cache_dir: Path | None,
                      channels: Sequence[str]) -> tuple[FeatureEnsembles | None, str | None]:
    """The accumulator for a run whose feature tier summary is ``biometrics`` (its ground
    truth read from ``cache_dir``), or None and why not."""
    biometrics = biometrics or {}
    if (biometrics.get("skipped") or "error" in biometrics
            or "features" not in biometrics.get("tiers", []) or "ground_truth" not in biometrics):
        why = biometrics.get("skipped") or biometrics.get("error") or "no feature tier"
        return None, f"the run has no per-cell features ({why}): no feature posterior"
    key = biometrics["ground_truth"]["cache_key"]
    path = Path(cache_dir) / f"{key}.npz" if cache_dir is not None else None
    if path is None or not path.is_file():
        return None, (f"the ground truth {key} is not in the data root's cache: score "
                      "`vsbench evaluate --tier features` first")
    settings = settings_from_json((biometrics.get("features") or {}).get("settings") or {})
    return FeatureEnsembles(load(path), channels, settings), None
