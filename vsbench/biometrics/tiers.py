"""Both biological tiers on a run's test predictions, and what they write.

:func:`score_tiers` segments every predicted field with the segmenter the ground truth was
segmented with and matches its nuclei and cells to the ground truth's (instance tier), and
measures the predicted stains on the ground truth's objects (feature tier). Fields are
independent, so with ``workers > 1`` they are spread over processes. The result holds one
row per field and object kind (``per_image_instance.csv``), one row per object, channel and
feature (``cell_features.csv``), one row per feature (``feature_scores.csv``) and the summary
that ``metrics.json`` keeps under ``biometrics`` (:data:`SUMMARY_VERSION`).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from vsbench.biometrics.feature_scores import FeatureScore, score_features, summarize
from vsbench.biometrics.features import FeatureSettings, FieldFeatures, measure_field
from vsbench.biometrics.ground_truth import GroundTruth
from vsbench.biometrics.matching import InstanceScores, match_instances
from vsbench.biometrics.segmentation import NUCLEAR_CHANNELS, channel_index
from vsbench.biometrics.segmenters import Segmenter

SUMMARY_VERSION = 1
# The two tiers this pass scores, by the sections of the summary they write.
INSTANCE, FEATURES = "instance", "features"
TIERS = (INSTANCE, FEATURES)
INSTANCE_SCORES = ("precision", "recall", "f1", "mean_iou", "count_error", "ap")


def skip_note(channels: Sequence[str]) -> str | None:
    """Why the tiers cannot run on this channel set (no nuclear stain), or None."""
    if channel_index(channels, NUCLEAR_CHANNELS) is None:
        return (f"no DNA-like channel among {', '.join(channels)} (one of "
                f"{', '.join(NUCLEAR_CHANNELS)}): the instance and feature tiers were skipped")
    return None


@dataclass
class TierResults:
    """What :func:`score_tiers` found."""

    per_image: list[dict[str, Any]] = field(default_factory=list)
    cell_features: list[dict[str, Any]] = field(default_factory=list)
    feature_scores: list[FeatureScore] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def _field(args: tuple) -> tuple[list[tuple[str, InstanceScores]], FieldFeatures | None,
                                 dict[str, float]]:
    """One field's work: segment and match (instance), measure (features); with timings."""
    prediction, truth_objects, measure_on, channels, segmenter, features, tiers, threshold = args
    seconds = {"segmentation": 0.0, "matching": 0.0, FEATURES: 0.0}
    matches: list[tuple[str, InstanceScores]] = []
    if INSTANCE in tiers:
        start = time.perf_counter()
        objects = segmenter.segment(prediction, channels)
        seconds["segmentation"] = time.perf_counter() - start
        start = time.perf_counter()
        matches.append(("nuclei", match_instances(truth_objects.nuclei, objects.nuclei,
                                                  threshold)))
        if truth_objects.cells is not None and objects.cells is not None:
            matches.append(("cells", match_instances(truth_objects.cells, objects.cells,
                                                     threshold)))
        seconds["matching"] = time.perf_counter() - start
    measured = None
    if FEATURES in tiers:
        start = time.perf_counter()
        measured = measure_field(prediction, measure_on, channels, features)
        seconds[FEATURES] = time.perf_counter() - start
    return matches, measured, seconds


def score_tiers(predictions: np.ndarray, truth: GroundTruth, channels: Sequence[str],
                segmenter: Segmenter, features: FeatureSettings,
                tiers: Sequence[str] = TIERS, threshold: float = 0.5,
                workers: int = 1) -> TierResults:
    """Score ``predictions`` (``(N, C, H, W)`` in [0, 1], in ``truth.sample_ids``' order)."""
    if len(predictions) != len(truth.sample_ids):
        raise ValueError(f"{len(predictions)} predictions for {len(truth.sample_ids)} fields")
    jobs = [(np.clip(np.asarray(p, np.float32), 0, 1), truth.objects(i),
             truth.measure_objects(i), tuple(channels), segmenter, features, tuple(tiers),
             threshold) for i, p in enumerate(predictions)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(_field, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    else:
        done = [_field(job) for job in jobs]
    results = TierResults()
    seconds = {"segmentation": 0.0, "matching": 0.0, FEATURES: 0.0}
    for sample_id, (matches, _, spent) in zip(truth.sample_ids, done):
        for kind, scores in matches:
            results.per_image.append({"sample_id": sample_id, "objects": kind,
                                      **scores.to_json()})
        for key, value in spent.items():
            seconds[key] += value
    summary: dict[str, Any] = {"version": SUMMARY_VERSION, "tiers": list(tiers),
                               "segmenter": segmenter.record(), "iou_threshold": threshold,
                               "seconds": {k: round(v, 4) for k, v in seconds.items()}}
    if INSTANCE in tiers:
        summary[INSTANCE] = instance_summary(results.per_image)
    if FEATURES in tiers:
        predicted = [m for _, m, _ in done]
        results.feature_scores = score_features(truth.features, predicted)
        results.cell_features = _cell_rows(truth, predicted)
        summary[FEATURES] = features_summary(results.feature_scores, features, truth)
    results.summary = summary
    return results


def _mean(values: list[float]) -> float:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def instance_summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per object kind, the mean over fields of each instance score (NaN fields left out),
    and the total true and predicted objects."""
    out: dict[str, dict[str, float]] = {}
    for kind in dict.fromkeys(r["objects"] for r in rows):
        group = [r for r in rows if r["objects"] == kind]
        out[kind] = {name: _mean([r[name] for r in group]) for name in INSTANCE_SCORES}
        out[kind]["n_true"] = int(sum(r["n_true"] for r in group))
        out[kind]["n_pred"] = int(sum(r["n_pred"] for r in group))
    return out


def features_summary(scores: list[FeatureScore], settings: FeatureSettings,
                     truth: GroundTruth) -> dict[str, Any]:
    """The feature tier's summary: per channel, per channel pair, and their average."""
    per_channel = summarize(scores)
    single = {k: v for k, v in per_channel.items() if "|" not in k}
    pairs = {k: v for k, v in per_channel.items() if "|" in k}
    average = {name: _mean([v[name] for v in single.values()])
               for name in ("median_pearson", "median_spearman", "fraction_good",
                            "median_error")}
    return {"objects": "nuclei" if truth.cells is None else "cells",
            "n_objects": int(sum(len(next(iter(f.values()))) for f in truth.features if f)),
            "settings": settings.to_json(), "channels": single, "cross_channel": pairs,
            "average": average}


def _cell_rows(truth: GroundTruth, predicted: list[FieldFeatures | None]
               ) -> list[dict[str, Any]]:
    rows = []
    for sample_id, real, pred in zip(truth.sample_ids, truth.features, predicted):
        for (channel, feature), values in sorted(real.items()):
            other = pred[(channel, feature)] if pred else None
            for index, value in enumerate(values):
                rows.append({"sample_id": sample_id, "object": index + 1, "channel": channel,
                             "feature": feature, "real": float(value),
                             "predicted": float(other[index]) if other is not None
                             else math.nan})
    return rows


def skipped_summary(note: str, tiers: Sequence[str]) -> dict[str, Any]:
    """The summary of a run whose channel set has no nuclear stain."""
    return {"version": SUMMARY_VERSION, "tiers": list(tiers), "skipped": note}
