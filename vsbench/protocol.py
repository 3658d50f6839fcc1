"""The metric protocol's names and directions (torch-free): what a leaderboard ranks.

The computation lives in :mod:`vsbench.metrics` (torch); everything that only reads results
(records, store, leaderboards, reports, the CLI's ``compare``) needs only these names.

Per test image and channel, on the [0, 1] scale: MSE, MAE, Pearson correlation over the image's
pixels and SSIM (Gaussian window 11, sigma 1.5, data range 1); then the mean over test images per
channel, and the Average over channels (the DiffStain paper's Table 1).
"""

from __future__ import annotations

METRICS: tuple[str, ...] = ("mse", "mae", "pcc", "ssim")

# Metric -> higher is better. The pixel metrics are here; every other tier declares its own
# with its metrics (vsbench.tiers.TierSpec.higher_is_better: a direction is kept with its
# metric, as lm-evaluation-harness's register_metric keeps higher_is_better), and the tier
# registry (vsbench.tiers.registry) adds them here when it loads the tiers, before any of
# their boards exist.
HIGHER_IS_BETTER: dict[str, bool] = {"mse": False, "mae": False, "pcc": True, "ssim": True}
AVERAGE = "Average"  # the column of the mean over channels

# Where a column's best is not "higher" or "lower": a coverage is best closest to what a
# calibrated ensemble of the run's size reaches (its nominal level here; the level a board
# aims at: vsbench.posterior.calibrated_coverage), a diversity has no best (a wide spread is
# neither good nor bad by itself: shown, never bold). A point mass (a deterministic method)
# has no spread, so it is shown but never bold on these columns (SAMPLER_ONLY); its CRPS is
# its MAE, a fair comparison, so it is ranked on CRPS with the samplers.
CALIBRATED_LEVELS: dict[str, float] = {"coverage_50": 0.5, "coverage_90": 0.9,
                                       "feature_coverage_50": 0.5, "feature_coverage_90": 0.9}
NO_BEST: tuple[str, ...] = ("diversity",)
# The fraction of truths outside the ensemble's range: best closest to 2 / (S + 1), the
# calibrated value for any distribution (vsbench.posterior.calibrated_outside).
OUTSIDE_RANGE = "outside_range"
TARGETED: tuple[str, ...] = (*CALIBRATED_LEVELS, OUTSIDE_RANGE)  # best: closest to a target
SAMPLER_ONLY: tuple[str, ...] = (*TARGETED, *NO_BEST)
SSIM_KERNEL, SSIM_SIGMA, DATA_RANGE = 11, 1.5, 1.0
