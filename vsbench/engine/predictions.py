"""A run's test predictions on disk: every predicted field, so it can be scored again later.

``test_predictions.npz`` (:data:`vsbench.layout.TEST_PREDICTIONS_FILE`) holds ``prediction``
(``(N, C, H, W)`` float16, clamped to [0, 1]), ``sample_ids`` and ``channels``, written
atomically once the run has predicted its test split. float16 keeps 3 significant digits,
well below the metrics' resolution; the run scores its biological tiers on the same rounded
arrays, so scoring them again (``vsbench evaluate``) reproduces its numbers. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from vsbench import atomic
from vsbench.errors import ResultsError
from vsbench.layout import TEST_PREDICTIONS_FILE
from vsbench.readback import reading


@dataclass(frozen=True)
class SavedPredictions:
    """A run's saved test predictions."""

    prediction: np.ndarray  # (N, C, H, W) float16
    sample_ids: tuple[str, ...]
    channels: tuple[str, ...]


def save_test_predictions(run_folder: Path, prediction: np.ndarray, sample_ids: Sequence[str],
                          channels: Sequence[str]) -> Path:
    """Write a run's test predictions (``(N, C, H, W)``, values in [0, 1]); return the path."""
    prediction = np.clip(np.asarray(prediction, dtype=np.float32), 0, 1).astype(np.float16)
    if prediction.ndim != 4 or len(prediction) != len(sample_ids):
        raise ValueError(f"predictions of shape {prediction.shape} for {len(sample_ids)} "
                         "samples")
    path = Path(run_folder) / TEST_PREDICTIONS_FILE
    atomic.write_npz(path, prediction=prediction, sample_ids=np.array(sample_ids, dtype=str),
                     channels=np.array(channels, dtype=str))
    return path


def load_test_predictions(run_folder: Path) -> SavedPredictions:
    """A run's saved test predictions; :class:`ResultsError` naming the run and the fix when
    it has none (a run made before they were kept) or the file is damaged."""
    path = Path(run_folder) / TEST_PREDICTIONS_FILE
    if not path.is_file():
        raise ResultsError(f"{run_folder}: no {TEST_PREDICTIONS_FILE} (the run was made before "
                           "runs kept their test predictions); re-run it with `vsbench run` to "
                           "score it.")
    with reading(path, "re-run the run with `vsbench run` to score it."):
        with np.load(path) as data:
            return SavedPredictions(data["prediction"], tuple(data["sample_ids"].tolist()),
                                   tuple(data["channels"].tolist()))
