"""The runs a leaderboard ranks, read from a results folder through the results store.

:func:`load_runs` turns every completed run of :class:`vsbench.store.ResultsStore` into rows of
a long table (one row per run, channel and metric) and names the run folders it skipped;
:func:`filter_runs` keeps some datasets and methods of that table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from vsbench.errors import LeaderboardError
from vsbench.protocol import AVERAGE, METRICS
from vsbench.store import ResultsStore

# What makes two runs comparable: runs that differ in any of these are never ranked together.
GROUP_KEYS = ("dataset", "dataset_fingerprint", "split_hash", "preset", "image_size",
              "eval_image_size", "channel_set")
RUN_COLUMNS = [*GROUP_KEYS, "method", "seed", "run", "folder", "channel", "metric", "value"]


def load_runs(results_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """A long table of every completed run (one row per run, channel and metric) and the
    warnings for run folders that were skipped."""
    rows = []
    usable, skipped = ResultsStore(results_dir).completed()
    warnings = [f"skipped {run.problem}" for run in skipped]
    for run in usable:
        record, folder = run.metrics, run.folder.path
        base = {k: getattr(record, k, None) for k in GROUP_KEYS}
        base["channel_set"] = ",".join(record.channels)
        base["eval_image_size"] = record.scored_size
        base.update(method=record.method, seed=record.seed, run=folder.name,
                    folder=str(folder))
        for channel, values in [*record.channels.items(), (AVERAGE, record.average)]:
            for metric in METRICS:
                rows.append({**base, "channel": channel, "metric": metric,
                             "value": float(values[metric])})
    return pd.DataFrame(rows, columns=RUN_COLUMNS), warnings


def split_list(text: str | Sequence[str] | None) -> list[str] | None:
    """``"A, B"`` or ``["A", "B"]`` as a list of names; None (no filter) when empty."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    return [i.strip() for i in items if i.strip()] or None


def names(values) -> str:
    """The distinct values, sorted and comma-separated (what an error message lists)."""
    return ", ".join(sorted(set(map(str, values))))


def filter_runs(runs: pd.DataFrame, dataset: str | None = None,
                methods: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Keep the runs of one dataset and/or some methods (comma-separated names); a name that
    matches no run is a :class:`LeaderboardError` listing the ones there are."""
    if dataset is not None:
        if dataset not in set(runs["dataset"]):
            raise LeaderboardError(f"--dataset {dataset}: no completed runs on it; the runs "
                                   f"are on {names(runs['dataset'])}.")
        runs = runs[runs["dataset"] == dataset]
    wanted = split_list(methods)
    if wanted is not None:
        unknown = [m for m in wanted if m not in set(runs["method"])]
        if unknown:
            raise LeaderboardError(f"--methods: no completed runs of {', '.join(unknown)}; "
                                   f"the runs are of {names(runs['method'])}.")
        runs = runs[runs["method"].isin(wanted)]
    return runs
