"""Scores of a predicted distribution: what a sampler (a diffusion method) is judged by.

A generative method draws ``S`` samples of the stain per test image. Besides the first sample
(today's score) and the sample mean (a point estimate), the ensemble is scored as a
distribution, per pixel:

- CRPS in its energy form, ``E|X - y| - 1/2 E|X - X'|``, the pair term over the distinct
  pairs (the fair CRPS: unbiased for the sampled distribution whatever ``S``; a single sample
  or ``S`` identical ones - a point mass - score exactly the MAE, and deterministic methods
  sit on the same column); lower is better;
- the truth's rank among the samples (:func:`truth_ranks`): flat for a calibrated ensemble
  whatever the distribution; ``outside_range``, the fraction below or above every sample, is
  ``2 / (S + 1)`` when calibrated (0.40 for 4 samples), higher when the spread is too narrow;
- coverage of the central 50 % and 90 % per-pixel intervals (the ensemble's quantiles): a
  too-narrow spread covers the truth below the rate a calibrated ensemble reaches, which for
  ``S`` samples is not the nominal level but ``level * (S - 1) / (S + 1)``
  (:func:`calibrated_coverage`: 0.30 and 0.54 for 4 samples, the nominal level as S grows);
- diversity: the mean over pixels of the ensemble's per-pixel standard deviation.

Pure array code (torch-free); the tier that draws the samples calls it per image and channel.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

COVERAGE_LEVELS = (0.5, 0.9)


def _check(samples: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    samples, target = np.asarray(samples, dtype=np.float64), np.asarray(target, np.float64)
    if samples.ndim < 1 or samples.shape[1:] != target.shape:
        raise ValueError(f"samples {samples.shape} must be (S, *target.shape) with target "
                         f"{target.shape}")
    if samples.shape[0] < 1:
        raise ValueError("an ensemble needs at least one sample")
    return samples, target


def crps_ensemble(samples: np.ndarray, target: np.ndarray, fair: bool = True) -> np.ndarray:
    """Per-element CRPS of an ensemble ``samples`` (S, ...) against ``target`` (...), energy
    form. ``fair`` (the default): the pair term over the ``S (S - 1)`` pairs of distinct
    samples, an unbiased estimate of the CRPS of the distribution the samples are drawn from
    (Ferro 2014; the ``S x S`` form penalises small ensembles by ``E|X - X'| / 2S``); one
    sample, or ``S`` identical ones, score the MAE either way. O(S log S) per element: the
    pair term from the sorted samples, ``sum_ij |x_i - x_j| = 2 sum_k (2k - S + 1) x_(k)``."""
    samples, target = _check(samples, target)
    s = samples.shape[0]
    spread = np.abs(samples - target).mean(axis=0)
    ordered = np.sort(samples, axis=0)
    weights = (2 * np.arange(s) - s + 1).reshape((s,) + (1,) * target.ndim)
    pairs = 2 * (weights * ordered).sum(axis=0) / (s * (s - 1) if fair and s > 1 else s * s)
    return spread - 0.5 * pairs


def truth_ranks(samples: np.ndarray, target: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per element, the rank of the target among the ``S`` samples (0..S: how many samples lie
    below it; ties, common where stains clip at 0, are broken at random, seeded). For an
    ensemble drawn from the truth's own distribution every rank has probability 1 / (S + 1),
    whatever that distribution is: the rank histogram's flatness is the calibration check
    that needs no assumption about the values."""
    samples, target = _check(samples, target)
    below = (samples < target).sum(axis=0)
    tied = (samples == target).sum(axis=0)
    rng = np.random.default_rng(seed)
    return below + np.floor(rng.random(target.shape) * (tied + 1)).astype(int)


def calibrated_outside(n_samples: int) -> float:
    """The fraction of truths outside the range of a calibrated ensemble of ``n_samples``
    (rank 0 or S): ``2 / (S + 1)``, exact for any continuous distribution."""
    if n_samples < 1:
        raise ValueError("an ensemble needs at least one sample")
    return 2.0 / (n_samples + 1)


def interval_coverage(samples: np.ndarray, target: np.ndarray,
                      levels: Sequence[float] = COVERAGE_LEVELS) -> dict[float, float]:
    """For each level, the fraction of elements whose target lies in the ensemble's central
    interval of that level (between its (1-level)/2 and (1+level)/2 quantiles)."""
    samples, target = _check(samples, target)
    out = {}
    for level in levels:
        if not 0 < level < 1:
            raise ValueError(f"coverage level {level} must be in (0, 1)")
        low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=0)
        out[float(level)] = float(((target >= low) & (target <= high)).mean())
    return out


def calibrated_coverage(level: float, n_samples: int) -> float:
    """The coverage a calibrated ensemble (``n_samples`` samples drawn from the truth's own
    distribution) reaches on average with the intervals of :func:`interval_coverage`
    (linearly interpolated quantiles): ``(S - 1) level / (S + 1)``, 0.30 / 0.54 at 50 % / 90 %
    for 4 samples, 0 for one (a point mass covers nothing), the nominal level as S grows.

    Exact for uniform values: the interpolated quantile at position ``h = (S - 1) q`` of ``S``
    sorted uniforms has mean ``(h + 1) / (S + 1)``, and an independent uniform truth lies below
    it with that probability. Interpolation between samples of other shapes moves it a little
    (measured at S = 4: 0.32 / 0.56 for normal values, 0.32 / 0.55 for exponential ones)."""
    if not 0 < level < 1:
        raise ValueError(f"coverage level {level} must be in (0, 1)")
    if n_samples < 1:
        raise ValueError("an ensemble needs at least one sample")
    return level * (n_samples - 1) / (n_samples + 1)


def diversity(samples: np.ndarray) -> float:
    """The mean over elements of the ensemble's standard deviation (0 for one sample)."""
    samples = np.asarray(samples, dtype=np.float64)
    return float(samples.std(axis=0).mean()) if samples.shape[0] > 1 else 0.0


def ensemble_scores(samples: np.ndarray, target: np.ndarray,
                    levels: Sequence[float] = COVERAGE_LEVELS,
                    ranks: np.ndarray | None = None) -> dict[str, float]:
    """The posterior tier's numbers for one image and channel: ``crps`` (mean over pixels),
    ``coverage_50`` / ``coverage_90`` (per level), ``outside_range`` (the fraction of pixels
    whose truth is below or above every sample: :func:`calibrated_outside` when calibrated),
    ``diversity``, and the MAE of the first sample and of the sample mean (``mae_first``,
    ``mae_mean``). ``ranks``: :func:`truth_ranks` of the same arrays, when the caller has
    them already."""
    samples, target = _check(samples, target)
    ranks = truth_ranks(samples, target) if ranks is None else ranks
    out = {"crps": float(crps_ensemble(samples, target).mean()),
           "outside_range": float(np.isin(ranks, (0, samples.shape[0])).mean()),
           "diversity": diversity(samples),
           "mae_first": float(np.abs(samples[0] - target).mean()),
           "mae_mean": float(np.abs(samples.mean(axis=0) - target).mean())}
    for level, value in interval_coverage(samples, target, levels).items():
        out[f"coverage_{round(level * 100)}"] = value
    return out


CALIBRATION_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # the calibration curve
SUMMARY_VERSION = 2  # 2: the fair CRPS, outside_range and the rank histogram
SCORE_NAMES = ("crps", "coverage_50", "coverage_90", "outside_range", "diversity",
               "mae_first", "mae_mean")


class PosteriorScores:
    """The posterior tier's numbers, image by image: per image and channel the
    :func:`ensemble_scores` (``rows``) and the empirical coverage at every
    :data:`CALIBRATION_LEVELS` level (pooled over images, per channel, for the curve)."""

    def __init__(self, channels: Sequence[str]) -> None:
        self.channels = tuple(channels)
        self.rows: list[dict[str, float | str]] = []
        self._calibration: dict[str, list[dict[float, float]]] = {c: [] for c in channels}
        self._ranks: dict[str, np.ndarray] = {}  # per channel, counts of the truth's rank
        self._sizes: set[int] = set()  # ensemble sizes seen (one, in a run)

    def add(self, sample_id: str, samples: np.ndarray, target: np.ndarray) -> None:
        """Score one image's ensemble ``samples`` ``(S, C, H, W)`` against ``target``
        ``(C, H, W)`` (values on [0, 1])."""
        samples, target = _check(samples, target)
        if target.shape[0] != len(self.channels):
            raise ValueError(f"{target.shape[0]} channels, expected {len(self.channels)}")
        self._sizes.add(int(samples.shape[0]))
        for c, channel in enumerate(self.channels):
            ranks = truth_ranks(samples[:, c], target[c])
            scores = ensemble_scores(samples[:, c], target[c], ranks=ranks)
            self.rows.append({"sample_id": sample_id, "channel": channel,
                              **{k: scores[k] for k in SCORE_NAMES}})
            self._calibration[channel].append(
                interval_coverage(samples[:, c], target[c], CALIBRATION_LEVELS))
            counts = np.bincount(ranks.ravel(), minlength=samples.shape[0] + 1)
            previous = self._ranks.get(channel)
            self._ranks[channel] = (counts if previous is None or len(previous) != len(counts)
                                    else previous + counts)

    def summary(self) -> dict:
        """Per channel and Average (over channels) the mean over images of each score, and
        the calibration curve (nominal levels, empirical coverage per channel and Average)."""
        if not self.rows:
            raise ValueError("no image was scored")
        channels = {}
        for channel in self.channels:
            group = [r for r in self.rows if r["channel"] == channel]
            channels[channel] = {k: float(np.mean([r[k] for r in group])) for k in SCORE_NAMES}
        average = {k: float(np.mean([v[k] for v in channels.values()])) for k in SCORE_NAMES}
        curve = {channel: [float(np.mean([c[level] for c in values]))
                           for level in CALIBRATION_LEVELS]
                 for channel, values in self._calibration.items()}
        curve["Average"] = [float(np.mean([curve[c][i] for c in self.channels]))
                            for i in range(len(CALIBRATION_LEVELS))]
        size = next(iter(self._sizes)) if len(self._sizes) == 1 else None
        calibrated = ([calibrated_coverage(level, size) for level in CALIBRATION_LEVELS]
                      if size else None)
        ranks = {}
        if size:  # one ensemble size: one histogram (mixed sizes have no common bins)
            ranks = {c: (v / v.sum()).tolist() for c, v in self._ranks.items()}
            ranks["Average"] = np.mean([ranks[c] for c in self.channels], axis=0).tolist()
        return {"channels": channels, "average": average,
                # the truth's rank among the samples, as frequencies (flat: 1 / (S + 1) each)
                "rank_histogram": ranks,
                "calibrated_outside": calibrated_outside(size) if size else None,
                "calibration": {"nominal": list(CALIBRATION_LEVELS), "empirical": curve,
                                # what a calibrated ensemble of this size covers on average
                                "calibrated": calibrated},
                "calibrated_coverage": {f"coverage_{round(l * 100)}": calibrated_coverage(
                    l, size) for l in COVERAGE_LEVELS} if size else None,
                "n_images": len({r["sample_id"] for r in self.rows})}
