"""The feature tier: CellProfiler's measurements (cp-measure) of the predicted stains on the
ground truth's cells, against the real stains' (:mod:`vsbench.biometrics`). Per channel and
their Average, the mean over features of the real-vs-predicted Pearson r over cells
(``feature_r``) and the fraction of features with r >= 0.5 (``feature_good``); per-unit table
``feature_scores.csv`` (one row per channel and feature). Ranked on Average feature_r."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vsbench.layout import CELL_FEATURES_FILE, FEATURE_SCORES_FILE
from vsbench.protocol import AVERAGE
from vsbench.tiers.biological import score_biological
from vsbench.tiers.contract import TierSpec, number

# Per channel: the mean over features of the real-vs-predicted Pearson r over cells, and the
# fraction of features with r >= 0.5.
FEATURE_METRICS: tuple[str, ...] = ("feature_r", "feature_good")
HIGHER_IS_BETTER = {m: True for m in FEATURE_METRICS}


def read_units(folder: Path) -> pd.DataFrame | None:
    """Per feature, columns ``(channel, metric)`` and their Average; None without the file."""
    from vsbench.biometrics.feature_scores import GOOD_CORRELATION

    path = Path(folder) / FEATURE_SCORES_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={"channel": str, "feature": str})
    frame = frame[~frame["channel"].str.contains("|", regex=False)]
    frame = frame.assign(feature_r=frame["pearson"].astype(float),
                         feature_good=np.where(frame["pearson"].notna(),
                                               (frame["pearson"] >= GOOD_CORRELATION) * 1.0,
                                               np.nan))
    wide = frame.set_index(["feature", "channel"])[list(FEATURE_METRICS)].unstack(
        "channel").swaplevel(axis=1)
    for metric in FEATURE_METRICS:
        wide[(AVERAGE, metric)] = wide.xs(metric, axis=1, level=1).mean(axis=1)
    return wide


def report_figures(board: Any, runs: pd.DataFrame, data_root: Path, palette: Any) -> list:
    """The tier's figures in ``vsbench report``, the real-vs-predicted feature scatter
    (drawn by :mod:`vsbench.report.feature_figures`, imported here so that the tier needs
    no matplotlib)."""
    from vsbench.report.feature_figures import figures

    return figures(board, runs, data_root, palette)


def headline(biometrics: Any) -> str:
    """The median feature r and the fraction of good features ``run`` and others print."""
    average = (biometrics.get("features") or {}).get("average") or {}
    return (f"feature r {number(average.get('median_pearson'))} (median over features), "
            f"{number(average.get('fraction_good'))} of features with r >= 0.5")


TIER = TierSpec(
    name="features",
    description="cell features: cp-measure's measurements of the prediction on the ground "
                "truth's cells against the real stain's (Pearson r per feature)",
    metrics=FEATURE_METRICS,
    higher_is_better=HIGHER_IS_BETTER,
    default_sort=(AVERAGE, "feature_r"), unit="features",
    files=(FEATURE_SCORES_FILE, CELL_FEATURES_FILE),
    record_key="biometrics", read_units=read_units,
    scored=lambda summary: bool(summary.get("features")),
    score=score_biological, headline=headline, figures=report_figures,
    key_numbers={"median feature r": (("features", "average", "median_pearson"), True)})
