"""A run's per-image table checked against what it must hold before a leaderboard counts it.

``per_image_metrics.csv`` is where a board's intervals and paired tests come from, so a table
cut short (a full disk, 12 of 24 rows), holding other images, or edited, would give them from a
fragment under a caption that counts the run's test images. :func:`per_image_problem` says what
is wrong with a run's table, or None: it must hold every test image of the run exactly once per
channel - the ids matched against the run's ``test_predictions.npz`` or its split manifest
(when it is still the run's split), else counted against ``metrics.json``'s
``n_test_images`` - each value in its metric's range
(:func:`vsbench.records.value_problem`; PCC may be undefined), and each channel's mean must be
the one ``metrics.json`` records. A run without a readable table is not refused here: its row
only loses the intervals (:mod:`vsbench.leaderboard.board` names it in a note).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from vsbench import stats
from vsbench.layout import PER_IMAGE_FILE, TEST_PREDICTIONS_FILE
from vsbench.protocol import METRICS
from vsbench.records import ConfigRecord, MetricsRecord, value_problem

MEAN_TOLERANCE = 1e-6  # a mean of the table against metrics.json (both from the same floats)


def recorded_test_ids(folder: Path, metrics: MetricsRecord,
                      config: ConfigRecord | None) -> tuple[Sequence[str] | None, str]:
    """The run's test sample ids and where they come from: its saved test predictions, else
    its split manifest while that is still the run's split (same hash); ``(None, "")`` when
    neither is there."""
    saved = Path(folder) / TEST_PREDICTIONS_FILE
    if saved.is_file():
        try:
            with np.load(saved) as data:
                return [str(i) for i in data["sample_ids"].tolist()], TEST_PREDICTIONS_FILE
        except Exception:  # a damaged npz: the split or the count still decide  # noqa: BLE001
            pass
    manifest = Path(config.split_manifest) if config and config.split_manifest else None
    if manifest is not None and manifest.is_file():
        from vsbench.data.splits import read_split  # torch-free; only when a manifest is there

        try:
            split = read_split(manifest)
        except (OSError, ValueError):
            return None, ""
        if split.hash == metrics.split_hash:
            return list(split.parts.get("test", ())), f"split {manifest}"
    return None, ""


def per_image_problem(folder: Path, metrics: MetricsRecord,
                      config: ConfigRecord | None) -> str | None:
    """What is wrong with the run's ``per_image_metrics.csv`` (see the module), or None when
    it is right or not there at all."""
    frame = stats.read_per_image(folder)
    if frame is None:
        return None
    name = PER_IMAGE_FILE
    if frame[["sample_id", "channel"]].isna().any(axis=None):
        return f"{name} has a row without its sample_id or channel (cut short?)"
    channels = list(metrics.channels)
    seen = set(frame["channel"])
    if seen != set(channels):
        other = sorted(seen ^ set(channels))
        return (f"{name} has channels {', '.join(sorted(seen))}, the run's metrics.json "
                f"{', '.join(channels)} (differ in {', '.join(other)})")
    twice = frame.duplicated(["sample_id", "channel"])
    if twice.any():
        row = frame[twice].iloc[0]
        return f"{name} lists test image {row['sample_id']} ({row['channel']}) more than once"
    per_channel = frame.groupby("channel")["sample_id"].nunique()
    ids = set(frame["sample_id"])
    if (per_channel != len(ids)).any():
        short = per_channel[per_channel != len(ids)].index[0]
        return f"{name} lacks {short} for some test images"
    expected, source = recorded_test_ids(folder, metrics, config)
    if expected is not None:
        missing = [i for i in expected if i not in ids]
        extra = sorted(ids - set(expected))
        if missing or extra:
            return (f"{name} holds {len(ids)} test image(s), the run's {source} "
                    f"{len(expected)}: {len(missing)} missing (e.g. "
                    f"{', '.join(missing[:2]) or '-'}), {len(extra)} not among them (e.g. "
                    f"{', '.join(extra[:2]) or '-'})")
    elif len(ids) != metrics.n_test_images:
        return (f"{name} holds {len(ids)} test image(s), metrics.json n_test_images "
                f"{metrics.n_test_images}")
    for metric in METRICS:
        values = frame[metric].to_numpy(dtype=float)
        bad = [v for v in values if not (metric == "pcc" and math.isnan(v))
               and value_problem(metric, v)]
        if bad:
            return f"{name} has a {metric.upper()} that {value_problem(metric, bad[0])}"
    return _mean_problem(frame, metrics)


def _mean_problem(frame: pd.DataFrame, metrics: MetricsRecord) -> str | None:
    """A channel whose mean over the table is not the one metrics.json records."""
    means = frame.groupby("channel")[list(METRICS)].mean()  # skips NaN, as the run did
    for channel, values in metrics.channels.items():
        for metric in METRICS:
            recorded, table = float(values[metric]), float(means.loc[channel, metric])
            same = (math.isnan(recorded) and math.isnan(table)) or (
                abs(recorded - table) <= MEAN_TOLERANCE)
            if not same:
                return (f"metrics.json {channel} {metric.upper()} is {recorded:.6g} but the "
                        f"mean of {PER_IMAGE_FILE} is {table:.6g}")
    return None
