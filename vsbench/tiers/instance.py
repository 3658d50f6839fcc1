"""The instance tier: nuclei and cells segmented on the prediction and matched to the ground
truth's at IoU >= 0.5 (:mod:`vsbench.biometrics`). Per object kind, the mean over test images
of F1, precision, recall, mean matched IoU, AP and the relative count error; per-unit table
``per_image_instance.csv`` (one row per field and object kind). Ranked on nuclei F1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from vsbench.layout import PER_IMAGE_INSTANCE_FILE
from vsbench.tiers.biological import score_biological
from vsbench.tiers.contract import TierSpec, number

# Per object kind (nuclei, cells): matching scores, and the relative count error.
INSTANCE_METRICS: tuple[str, ...] = ("f1", "precision", "recall", "mean_iou", "ap",
                                     "count_error")
HIGHER_IS_BETTER = {**{m: True for m in INSTANCE_METRICS}, "count_error": False}


def read_units(folder: Path) -> pd.DataFrame | None:
    """Per test field, columns ``(objects, metric)``; None without the file."""
    path = Path(folder) / PER_IMAGE_INSTANCE_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={"sample_id": str, "objects": str})
    wide = frame.set_index(["sample_id", "objects"])[list(INSTANCE_METRICS)].unstack(
        "objects").swaplevel(axis=1)
    return wide.astype(float)


def report_figures(board: Any, runs: pd.DataFrame, data_root: Path, palette: Any) -> list:
    """The tier's figures in ``vsbench report``, the nuclei outlines (drawn by
    :mod:`vsbench.report.instance_figures`, imported here so that the tier needs no
    matplotlib)."""
    from vsbench.report.instance_figures import figures

    return figures(board, runs, data_root, palette)


def headline(biometrics: Any) -> str:
    """The nuclei and cells F1 ``run``, ``evaluate`` and ``score`` print."""
    instance = biometrics.get("instance") or {}
    nuclei, cells = instance.get("nuclei") or {}, instance.get("cells") or {}
    return (f"nuclei F1 {number(nuclei.get('f1'))}, cells F1 {number(cells.get('f1'))} "
            f"(matched at IoU >= {biometrics.get('iou_threshold', 0.5)})")


TIER = TierSpec(
    name="instance",
    description="nuclei and cells found: segmented on the prediction, matched to the ground "
                "truth's at IoU >= 0.5 (F1, precision, recall, IoU, AP, count error)",
    metrics=INSTANCE_METRICS,
    higher_is_better=HIGHER_IS_BETTER,
    default_sort=("nuclei", "f1"), unit="test images", files=(PER_IMAGE_INSTANCE_FILE,),
    record_key="biometrics", read_units=read_units,
    scored=lambda summary: bool(summary.get("instance")),
    score=score_biological,
    expected_units=lambda record: int(record.n_test_images),
    notes=("The known-answer ladder: nuclei F1 does not separate small noise (SD 0.05 and 0.1 "
           "both 0.997).",),
    key_numbers={"nuclei F1": (("instance", "nuclei", "f1"), True)},
    headline=headline, figures=report_figures)
