"""How well a prediction's cell features agree with the real stain's, feature by feature.

Per feature (a channel and a cp-measure measurement), over all measured cells of the test
split: the Pearson and the Spearman correlation of the real and the predicted values, and the
relative error of the median ``|median(pred) - median(real)| / |median(real)|`` (0 when
the medians are equal, NaN against a real median of 0 otherwise). A feature
that is constant on either side has no correlation (NaN) and is left out of the summaries,
which count it. Per channel: the median Pearson correlation over its features and the
fraction of them with a correlation of at least :data:`GOOD_CORRELATION`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping

import numpy as np

GOOD_CORRELATION = 0.5


@dataclass(frozen=True)
class FeatureScore:
    """The agreement of one feature over the test split's cells."""

    channel: str
    feature: str
    n_objects: int
    pearson: float
    spearman: float
    median_real: float
    median_pred: float
    median_error: float  # relative error of the median

    def to_json(self) -> dict[str, object]:
        """The score as a plain dict (a row of ``feature_scores.csv``)."""
        return asdict(self)


def _finite_pairs(real: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(real) & np.isfinite(pred)
    return real[keep], pred[keep]


def _correlations(real: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    from scipy.stats import rankdata

    if real.size < 3 or np.ptp(real) == 0 or np.ptp(pred) == 0:
        return math.nan, math.nan
    pearson = float(np.corrcoef(real, pred)[0, 1])
    spearman = float(np.corrcoef(rankdata(real), rankdata(pred))[0, 1])
    return pearson, spearman


def score_feature(channel: str, feature: str, real: np.ndarray,
                  pred: np.ndarray) -> FeatureScore:
    """The agreement of one feature's real and predicted values (one per cell)."""
    real, pred = _finite_pairs(np.asarray(real, np.float64), np.asarray(pred, np.float64))
    pearson, spearman = _correlations(real, pred)
    median_real = float(np.median(real)) if real.size else math.nan
    median_pred = float(np.median(pred)) if pred.size else math.nan
    if not real.size:
        error = math.nan
    elif median_pred == median_real:
        error = 0.0
    else:  # undefined against a real median of 0
        error = abs(median_pred - median_real) / abs(median_real) if median_real else math.nan
    return FeatureScore(channel, feature, int(real.size), pearson, spearman, median_real,
                        median_pred, error)


def score_features(real: Iterable[Mapping[tuple[str, str], np.ndarray]],
                   pred: Iterable[Mapping[tuple[str, str], np.ndarray]]) -> list[FeatureScore]:
    """The score of every feature, pooling the cells of all fields (``real`` and ``pred``:
    per field, the features of the same objects; see
    :func:`vsbench.biometrics.features.measure_field`)."""
    pooled_real: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    pooled_pred: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    for field_real, field_pred in zip(real, pred, strict=True):
        for key, values in field_real.items():
            pooled_real[key].append(np.asarray(values))
            pooled_pred[key].append(np.asarray(field_pred[key]))
    return [score_feature(channel, feature, np.concatenate(pooled_real[(channel, feature)]),
                          np.concatenate(pooled_pred[(channel, feature)]))
            for channel, feature in sorted(pooled_real)]


def _nanmedian(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def summarize(scores: Iterable[FeatureScore]) -> dict[str, dict[str, float]]:
    """Per channel (a cross-channel pair ``A|B`` counts as one) the median Pearson and Spearman
    correlation of its features, the fraction with Pearson >= :data:`GOOD_CORRELATION`, the
    median relative error of the medians, and how many features were defined."""
    by_channel: dict[str, list[FeatureScore]] = defaultdict(list)
    for score in scores:
        by_channel[score.channel].append(score)
    out = {}
    for channel, group in by_channel.items():
        defined = [s for s in group if math.isfinite(s.pearson)]
        out[channel] = {
            "median_pearson": _nanmedian([s.pearson for s in group]),
            "median_spearman": _nanmedian([s.spearman for s in group]),
            "fraction_good": (sum(s.pearson >= GOOD_CORRELATION for s in defined)
                              / len(defined)) if defined else math.nan,
            "median_error": _nanmedian([s.median_error for s in group]),
            "n_features": len(group), "n_defined": len(defined)}
    return out
