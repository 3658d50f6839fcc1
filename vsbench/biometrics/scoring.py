"""Score one run's test predictions for the biological tiers and write its files.

:func:`score_run` is what a run does after predicting its test split and what
``vsbench evaluate`` does for a finished run: skip with a note when the channel set has no
nuclear stain; otherwise get the ground truth (from the data root's cache, else from the real
stains, then cached), score the predictions (:func:`vsbench.biometrics.tiers.score_tiers`),
write the tier files into the run folder and return the ``biometrics`` summary of
``metrics.json``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from vsbench.plain import plain_json  # noqa: F401 - also imported from here
from vsbench.biometrics.features import FeatureSettings
from vsbench.biometrics.files import write_tier_files
from vsbench.biometrics.ground_truth import cache_key, ground_truth
from vsbench.biometrics.segmenters import DEFAULT_SEGMENTER, segmenter_for
from vsbench.biometrics.tiers import TIERS, score_tiers, skip_note, skipped_summary


def score_run(folder: Path, predictions: np.ndarray, sample_ids: Sequence[str],
              channels: Sequence[str], *, dataset_fingerprint: str, split_hash: str,
              cache_dir: Path | None, targets: Callable[[], np.ndarray],
              tiers: Sequence[str] = TIERS, segmenter: str = DEFAULT_SEGMENTER,
              features: FeatureSettings | None = None, workers: int = 1) -> dict[str, Any]:
    """Score ``predictions`` (``(N, C, H, W)``, ``sample_ids``' order) for ``tiers``, write the
    tier files into ``folder`` and return the summary. ``targets()`` gives the real stains in
    the same order; it is called only when the ground truth is not cached in ``cache_dir``."""
    note = skip_note(channels)
    if note is not None:
        return skipped_summary(note, tiers)
    chosen = segmenter_for(segmenter)
    features = features or FeatureSettings()
    predictions = np.asarray(predictions)
    size = (int(predictions.shape[-2]), int(predictions.shape[-1]))
    key = cache_key(dataset_fingerprint, split_hash, sample_ids, size, channels, chosen,
                    features)
    start = time.perf_counter()
    truth = ground_truth(cache_dir, key, targets, sample_ids, channels, chosen, features)
    truth_seconds = time.perf_counter() - start
    results = score_tiers(predictions.astype(np.float32), truth, channels, chosen, features,
                          tiers, workers=workers)
    write_tier_files(folder, results)
    summary = results.summary
    summary["seconds"]["ground_truth"] = round(truth_seconds, 4)
    summary["ground_truth"] = {"cache_key": key, "from_cache": truth.from_cache}
    return plain_json(summary)
