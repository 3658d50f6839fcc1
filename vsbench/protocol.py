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
SSIM_KERNEL, SSIM_SIGMA, DATA_RANGE = 11, 1.5, 1.0
