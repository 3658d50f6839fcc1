"""The metric protocol's names and directions (torch-free): what a leaderboard ranks.

The computation lives in :mod:`vsbench.metrics` (torch); everything that only reads results
(records, store, leaderboards, reports, the CLI's ``compare``) needs only these names.

Per test image and channel, on the [0, 1] scale: MSE, MAE, Pearson correlation over the image's
pixels and SSIM (Gaussian window 11, sigma 1.5, data range 1); then the mean over test images per
channel, and the Average over channels (the DiffStain paper's Table 1).
"""

from __future__ import annotations

METRICS: tuple[str, ...] = ("mse", "mae", "pcc", "ssim")
HIGHER_IS_BETTER: dict[str, bool] = {"mse": False, "mae": False, "pcc": True, "ssim": True}
AVERAGE = "Average"  # the column of the mean over channels

# The biological tiers' leaderboard metrics (vsbench.biometrics, vsbench.leaderboard.tiers):
# instance scores per object kind (nuclei, cells), and per channel the mean over features of
# the real-vs-predicted Pearson r over cells and the fraction of features with r >= 0.5.
INSTANCE_METRICS: tuple[str, ...] = ("f1", "precision", "recall", "mean_iou", "ap",
                                     "count_error")
FEATURE_METRICS: tuple[str, ...] = ("feature_r", "feature_good")
HIGHER_IS_BETTER.update({m: True for m in (*INSTANCE_METRICS, *FEATURE_METRICS)},
                        count_error=False)
# The posterior tier's columns (vsbench.posterior; per test image and channel): ensemble CRPS
# (a point mass: the MAE), coverage of the central 50 % / 90 % per-pixel intervals (a calibrated
# ensemble of S samples reaches about level (S-1)/(S+1): CALIBRATED_LEVELS below), the
# fraction of truths outside the ensemble's range, diversity, the sample mean's MAE and PCC.
# The profile tier's (per treated perturbation): the virtual stain's phenotypic-activity mAP
# and whether it is retrieved.
# The samples' cell features (vsbench.biometrics.feature_posterior): per field and channel the
# median over features of the CRPS scaled by the feature's between-cell SD, and the coverage.
POSTERIOR_METRICS: tuple[str, ...] = ("crps", "coverage_50", "coverage_90", "outside_range",
                                      "diversity",
                                      "mae_mean", "pcc_mean", "feature_crps",
                                      "feature_coverage_50", "feature_coverage_90")
PROFILE_METRICS: tuple[str, ...] = ("map", "retrieved")
HIGHER_IS_BETTER.update(crps=False, coverage_50=True, coverage_90=True, outside_range=False,
                        diversity=True,
                        mae_mean=False, pcc_mean=True, map=True, retrieved=True,
                        feature_crps=False, feature_coverage_50=True, feature_coverage_90=True)
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
