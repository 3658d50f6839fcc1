"""Per-image metrics read back and pooled, ranks, p-value formatting, and the flat (one-level)
bootstrap and Wilcoxon test.

- ``read_per_image`` / ``pool_runs``: a run's ``per_image_metrics.csv``, and one method's runs
  pooled per test image (each image's value the mean over runs). The per-image "Average" is the
  mean over the channels of that image (NaN channels, e.g. an undefined PCC on a constant
  ground truth, are left out), as the Average column of Table 1.
- The boards' intervals and tests are NOT made here: they are the hierarchical bootstrap of
  :mod:`vsbench.resampling` (seeds and wells), applied by :mod:`vsbench.leaderboard.statistics`.
- ``bootstrap_ci`` (percentile bootstrap over rows, ``scipy.stats.bootstrap``) and
  ``paired_p_value`` (Wilcoxon signed-rank, ``scipy.stats.wilcoxon``) treat rows as
  independent: right for one network's paired fields (``benchmarks/mask_guidance_val.py``),
  and kept as the earlier boards' method that ``benchmarks/bootstrap_coverage.py`` measures
  the hierarchical one against.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats as sps

from vsbench.layout import PER_IMAGE_FILE
from vsbench.protocol import AVERAGE, HIGHER_IS_BETTER, METRICS

CONFIDENCE = 0.95
N_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def read_per_image(folder: Path, name: str = PER_IMAGE_FILE) -> pd.DataFrame | None:
    """A run's per-image metrics (columns sample_id, channel, mse, mae, pcc, ssim), or None
    when the run folder has no readable ``per_image_metrics.csv`` (``name``: another file of
    that form, e.g. ``per_image_metrics_unguided.csv``)."""
    path = Path(folder) / name
    try:
        frame = pd.read_csv(path, dtype={"sample_id": str, "channel": str})
        if not {"sample_id", "channel", *METRICS} <= set(frame.columns) or frame.empty:
            return None
        frame[list(METRICS)] = frame[list(METRICS)].astype(float)
    except (OSError, ValueError, csv.Error):
        return None
    return frame


def pool_runs(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Pool one method's runs per test image.

    Returns a frame indexed by sample_id with columns ``(channel, metric)`` for every channel
    and for the Average: each value is the mean over runs of that image's value.
    """
    frames = list(frames)
    if not frames:
        return pd.DataFrame(columns=pd.MultiIndex.from_tuples([], names=["channel", "metric"]))
    long = pd.concat(frames, ignore_index=True)
    channel_order = list(dict.fromkeys(long["channel"]))
    # mean() skips NaN: an image whose PCC is undefined in one run keeps the other runs' value.
    per_image = long.groupby(["sample_id", "channel"], sort=False)[list(METRICS)].mean()
    wide = per_image.unstack("channel")  # columns (metric, channel)
    wide = wide.swaplevel(axis=1)
    columns = [(c, m) for c in channel_order for m in METRICS]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(columns, names=["channel", "metric"]))
    for metric in METRICS:
        wide[(AVERAGE, metric)] = wide.xs(metric, axis=1, level="metric").mean(axis=1,
                                                                               skipna=True)
    return wide


def bootstrap_ci(values: pd.DataFrame, confidence: float = CONFIDENCE,
                 n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED
                 ) -> tuple[pd.Series, pd.Series]:
    """Percentile bootstrap confidence interval of the mean over rows (test images), for every
    column at once (the same resamples for every column).

    Columns with fewer than two finite values get NaN bounds.
    """
    low = pd.Series(np.nan, index=values.columns, dtype=float)
    high = low.copy()
    data = values.to_numpy(dtype=float).T  # [columns, images]
    usable = np.isfinite(data).sum(axis=1) >= 2
    if data.shape[1] < 2 or not usable.any():
        return low, high
    # Resamples are drawn in batches of at most ~4e6 values (32 MB), whatever the test set.
    batch = int(max(1, min(n_resamples, 4e6 // data[usable].size)))
    with np.errstate(all="ignore"):
        result = sps.bootstrap((data[usable],), _nanmean, axis=-1, vectorized=True,
                               n_resamples=n_resamples, batch=batch,
                               confidence_level=confidence, method="percentile",
                               rng=np.random.default_rng(seed))
    low[usable] = result.confidence_interval.low
    high[usable] = result.confidence_interval.high
    return low, high


def _nanmean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    # A resample made only of NaN images has no mean; it must not warn on every such draw.
    with np.errstate(all="ignore"):
        count = np.isfinite(x).sum(axis=axis)
        total = np.nansum(x, axis=axis)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def paired_p_value(a: pd.Series, b: pd.Series) -> float:
    """Two-sided Wilcoxon signed-rank p-value of ``a`` against ``b`` over the test images
    (index: sample_id) where both are finite; 1.0 when every difference is zero, NaN with
    fewer than two paired images."""
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    if len(joined) < 2:
        return math.nan
    diff = (joined["a"] - joined["b"]).to_numpy()
    if not np.any(diff != 0):
        return 1.0
    return float(sps.wilcoxon(diff, zero_method="wilcox", alternative="two-sided").pvalue)


def rank(values: pd.Series, metric: str) -> pd.Series:
    """Rank 1 = best, in the metric's direction; ties share the better rank."""
    return values.rank(ascending=not HIGHER_IS_BETTER[metric], method="min").astype("Int64")


def format_p(p: float) -> str:
    """A p-value as papers print it."""
    if p is None or not np.isfinite(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
