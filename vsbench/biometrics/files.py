"""The files the biological tiers write into a run folder (atomically), and their readers.

``per_image_instance.csv`` (one row per test field and object kind), ``cell_features.csv.gz``
(one row per object, channel and feature: ``sample_id, object, channel, feature, real,
predicted``) and ``feature_scores.csv`` (one row per feature). Names in :mod:`vsbench.layout`.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

from vsbench import atomic
from vsbench.biometrics.tiers import TierResults
from vsbench.layout import CELL_FEATURES_FILE, FEATURE_SCORES_FILE, PER_IMAGE_INSTANCE_FILE


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_tier_files(folder: Path, results: TierResults) -> list[Path]:
    """Write what ``results`` holds into the run folder ``folder``; return the paths."""
    written = []
    if results.per_image:
        path = Path(folder) / PER_IMAGE_INSTANCE_FILE
        atomic.write_text(path, _csv(results.per_image))
        written.append(path)
    if results.cell_features:
        path = Path(folder) / CELL_FEATURES_FILE
        # mtime=0: the same features give the same bytes.
        atomic.write_bytes(path, gzip.compress(_csv(results.cell_features).encode(),
                                               compresslevel=6, mtime=0))
        written.append(path)
    if results.feature_scores:
        path = Path(folder) / FEATURE_SCORES_FILE
        atomic.write_text(path, _csv([s.to_json() for s in results.feature_scores]))
        written.append(path)
    return written


def read_per_image_instance(folder: Path) -> list[dict[str, str]]:
    """The rows of a run's ``per_image_instance.csv`` (as text); none: an empty list."""
    path = Path(folder) / PER_IMAGE_INSTANCE_FILE
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
