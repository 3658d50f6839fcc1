"""The pixel tier: MSE, MAE, PCC and SSIM per test image and channel, and their Average over
channels (:mod:`vsbench.metrics`), computed in the prediction loop itself; per-unit table
``per_image_metrics.csv``. Ranked on Average PCC."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vsbench.layout import PER_IMAGE_FILE
from vsbench.protocol import AVERAGE, HIGHER_IS_BETTER, METRICS
from vsbench.tiers.contract import TierSpec

# The tier boards and ``compare``'s column options (--channels, --metrics, --sort-by) default
# to; the one tier scored inside the prediction loop.
NAME = "pixel"


def read_units(folder: Path) -> pd.DataFrame | None:
    """Per test image, columns ``(channel, metric)`` and the Average; None when unreadable."""
    from vsbench import stats

    frame = stats.read_per_image(folder)
    return None if frame is None else stats.pool_runs([frame])


TIER = TierSpec(
    name=NAME,
    description="pixel scores per test image and channel: MSE, MAE, PCC, SSIM",
    metrics=METRICS, higher_is_better={m: HIGHER_IS_BETTER[m] for m in METRICS},
    default_sort=(AVERAGE, "pcc"), unit="test images", files=(PER_IMAGE_FILE,),
    record_key="average", read_units=read_units, scored=lambda summary: True,
    expected_units=lambda record: int(record.n_test_images),
    key_numbers={"pixel PCC": (("pcc",), True), "pixel SSIM": (("ssim",), True)})
