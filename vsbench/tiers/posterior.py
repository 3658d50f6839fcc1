"""The posterior tier: a sampler scored as one (:mod:`vsbench.posterior`). Per test image, per
channel and their Average: the ensemble CRPS, the coverage of the central 50 % / 90 % intervals,
the fraction of truths outside the ensemble's range, the diversity (``per_image_posterior.csv``),
the sample mean's MAE and PCC (``per_image_metrics_mean.csv``), and the samples' cell features'
scaled CRPS and coverage (``per_image_feature_posterior.csv``, where the run has it:
:mod:`vsbench.biometrics.feature_posterior`). Ranked on Average CRPS. A deterministic method,
or a submission, is scored as a point mass (its CRPS is its MAE)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from vsbench.layout import (FEATURE_POSTERIOR_FILE, PER_IMAGE_FEATURE_POSTERIOR_FILE,
                            PER_IMAGE_MEAN_FILE, PER_IMAGE_POSTERIOR_FILE,
                            POSTERIOR_SAMPLES_FILE)
from vsbench.protocol import AVERAGE
from vsbench.tiers.contract import TierInputs, TierSpec, number

# Per test image and channel: ensemble CRPS (a point mass: the MAE), coverage of the central
# 50 % / 90 % per-pixel intervals (best: closest to a calibrated ensemble's,
# vsbench.protocol.CALIBRATED_LEVELS), the fraction of truths outside the ensemble's range,
# diversity (no best), the sample mean's MAE and PCC, and the samples' cell features' scaled
# CRPS and coverage (vsbench.biometrics.feature_posterior).
POSTERIOR_METRICS: tuple[str, ...] = ("crps", "coverage_50", "coverage_90", "outside_range",
                                      "diversity", "mae_mean", "pcc_mean", "feature_crps",
                                      "feature_coverage_50", "feature_coverage_90")
HIGHER_IS_BETTER = dict(crps=False, coverage_50=True, coverage_90=True, outside_range=False,
                        diversity=True, mae_mean=False, pcc_mean=True, feature_crps=False,
                        feature_coverage_50=True, feature_coverage_90=True)


def posterior_units(folder: Path, strict: bool = False) -> pd.DataFrame | None:
    """A run's posterior values per test image, columns ``(channel, metric)``; None when a
    file is missing or unreadable (``strict``: a damaged file raises what reading it raised,
    for the caller to name)."""
    try:
        frame = pd.read_csv(Path(folder) / PER_IMAGE_POSTERIOR_FILE,
                            dtype={"sample_id": str, "channel": str})
        mean = pd.read_csv(Path(folder) / PER_IMAGE_MEAN_FILE,
                           dtype={"sample_id": str, "channel": str})
    except (OSError, ValueError):
        if strict:
            raise
        return None
    mean = mean.rename(columns={"mae": "mae_mean_protocol", "pcc": "pcc_mean"})
    frame = frame.merge(mean[["sample_id", "channel", "pcc_mean"]], on=["sample_id", "channel"],
                        how="left")
    try:  # the samples' cell features (absent in runs scored before them)
        cells = pd.read_csv(Path(folder) / PER_IMAGE_FEATURE_POSTERIOR_FILE,
                            dtype={"sample_id": str, "channel": str})
        frame = frame.merge(cells, on=["sample_id", "channel"], how="left")
    except (OSError, ValueError):
        pass
    metrics = [m for m in POSTERIOR_METRICS if m in frame.columns]
    if strict and "crps" not in metrics:
        raise ValueError("no crps column")
    try:
        wide = frame.set_index(["sample_id", "channel"])[metrics].unstack(
            "channel").swaplevel(axis=1).astype(float)
    except KeyError:
        if strict:
            raise
        return None
    for metric in metrics:
        wide[(AVERAGE, metric)] = wide.xs(metric, axis=1, level=1).mean(axis=1)
    return wide


def score(inputs: TierInputs, done: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The ``posterior`` summary: the context's own sampler (``inputs.sample``: a run's method,
    or a finished run's reloaded checkpoint), else the predictions as a point mass."""
    biometrics = done.get("biometrics")
    if inputs.sample is not None:
        return inputs.sample(biometrics)
    import numpy as np

    from vsbench.biometrics.feature_posterior import feature_ensembles
    from vsbench.engine.posterior import score_posterior

    cells, note = feature_ensembles(biometrics, inputs.cache_dir, inputs.channels)
    real = inputs.targets()
    ids = list(inputs.sample_ids)
    return score_posterior(inputs.folder, inputs.channels,
                           {i: np.asarray(inputs.prediction[k], np.float32)
                            for k, i in enumerate(ids)},
                           {i: real[k] for k, i in enumerate(ids)}, stochastic=False,
                           n_samples=1, seed=0, cell_features=cells, cell_features_note=note)


def _read(folder: Path) -> pd.DataFrame | None:
    return posterior_units(folder, strict=True)


def ensemble_size(record: Any) -> float:
    """A run's samples per test image (1: a point mass; NaN: not recorded)."""
    size = (record.posterior or {}).get("n_samples")
    return float(size) if isinstance(size, int) else float("nan")


def headline(posterior: Mapping[str, Any]) -> str:
    """The ensemble CRPS and interval coverage, with what a calibrated ensemble of the run's
    size would cover; a deterministic method's tier says it does not apply."""
    if not posterior.get("stochastic", True):
        return "not applicable: the method is deterministic (one prediction per field)"
    from vsbench.posterior import calibrated_coverage

    average = posterior.get("average") or {}
    n = int(posterior.get("n_samples") or 0)
    target = (f" (a calibrated {n}-sample ensemble: {calibrated_coverage(0.5, n):.2f} / "
              f"{calibrated_coverage(0.9, n):.2f})") if n >= 1 else ""
    return (f"CRPS {number(average.get('crps'), 4)}, coverage 50 % / 90 % "
            f"{number(average.get('coverage_50'), 2)} / {number(average.get('coverage_90'), 2)}"
            f"{target}")


def report_figures(board: Any, runs: pd.DataFrame, data_root: Path, palette: Any) -> list:
    """The tier's figures in ``vsbench report``, the calibration curves and the sample
    gallery (drawn by :mod:`vsbench.report.posterior_figures`, imported here so that the
    tier needs no matplotlib)."""
    from vsbench.report.posterior_figures import figures

    return figures(board, runs, data_root, palette)


TIER = TierSpec(
    name="posterior",
    description="a sampler scored as one: ensemble CRPS, interval coverage, outside-range "
                "fraction and diversity of n_samples samples (a point mass: CRPS = MAE)",
    metrics=POSTERIOR_METRICS,
    higher_is_better=HIGHER_IS_BETTER,
    default_sort=(AVERAGE, "crps"), unit="test images",
    files=(PER_IMAGE_POSTERIOR_FILE, PER_IMAGE_MEAN_FILE, POSTERIOR_SAMPLES_FILE,
           FEATURE_POSTERIOR_FILE, PER_IMAGE_FEATURE_POSTERIOR_FILE),
    record_key="posterior", read_units=_read, scored=lambda summary: True,
    score=score, requires=("features",),
    expected_units=lambda record: int(record.n_test_images),
    own_progress=True,  # the sampling draws its own bar
    ensemble_size=ensemble_size, headline=headline,
    figures=report_figures)
