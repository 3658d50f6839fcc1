"""The runs a leaderboard ranks, read from a results folder through the results store.

:func:`load_runs` turns every completed run of :class:`vsbench.store.ResultsStore` into rows of
a long table (one row per run, channel and metric) and names the run folders it skipped (records
the store cannot read or that hold values no scoring writes, per-image tables that are not the
run's test images: :mod:`vsbench.leaderboard.checks`);
:func:`filter_runs` keeps some datasets and methods of that table.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import pandas as pd

from vsbench.errors import LeaderboardError
from vsbench.protocol import AVERAGE, METRICS
from vsbench.leaderboard.checks import per_image_problem
from vsbench.leaderboard.configurations import count_runs
from vsbench.store import ResultsStore

# What makes two runs comparable: runs that differ in any of these are never ranked together.
GROUP_KEYS = ("dataset", "dataset_fingerprint", "split_hash", "preset", "image_size",
              "eval_image_size", "channel_set")
RUN_COLUMNS = [*GROUP_KEYS, "method", "configuration", "label", "seed", "run", "folder",
               "control", "epochs", "channel", "metric", "value"]


def _key(record) -> tuple:
    """The comparability key of a run's metrics record (the values of :data:`GROUP_KEYS`)."""
    values = {k: getattr(record, k, None) for k in GROUP_KEYS}
    values["channel_set"] = ",".join(record.channels)
    values["eval_image_size"] = record.scored_size
    return tuple(values[k] for k in GROUP_KEYS)


def _average(record) -> dict[str, float]:
    """The record's Average, under the documented rule: the mean over the channels whose
    value is defined (a constant ground-truth channel has an undefined PCC and is left out;
    NaN only when no channel is defined). Records written before that rule kept NaN."""
    out = {}
    for metric in METRICS:
        value = float(record.average[metric])
        if math.isnan(value):
            defined = [float(v[metric]) for v in record.channels.values()
                       if not math.isnan(float(v[metric]))]
            value = sum(defined) / len(defined) if defined else math.nan
        out[metric] = value
    return out


def load_runs(results_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """A long table of the runs leaderboards count (one row per run, channel and metric) and a
    warning line for every run folder that is not counted, with the reason.

    Rows are configurations (:mod:`vsbench.leaderboard.configurations`): ``configuration`` is
    the config hash without the seed, ``label`` the row name; one run per configuration and
    seed (the latest) is kept.
    """
    rows = []
    usable, skipped = ResultsStore(results_dir).completed()
    warnings = [f"skipped {run.problem}" for run in skipped]
    checked = []
    for run in usable:  # a table that is not the run's test images is never ranked
        problem = per_image_problem(run.folder.path, run.metrics, run.config)
        if problem is None:
            checked.append(run)
        else:
            warnings.append(f"skipped {run.folder.path}: {problem} - not ranked; re-run it "
                            "(`vsbench run`), or delete the folder.")
    counted, notes = count_runs(checked, lambda run: _key(run.metrics))
    warnings += notes
    for item in counted:
        record, folder = item.run.metrics, item.run.folder.path
        base = dict(zip(GROUP_KEYS, _key(record)))
        # a control method (config.json "control"): its own section, never ranked with methods
        control = bool(item.run.config.control) if item.run.config is not None else False
        base.update(method=record.method, configuration=item.configuration,
                    label=board_label(item),
                    seed=record.seed, run=folder.name, folder=str(folder), control=control,
                    epochs=run_epochs(item.run.config))
        for channel, values in [*record.channels.items(), (AVERAGE, _average(record))]:
            for metric in METRICS:
                rows.append({**base, "channel": channel, "metric": metric,
                             "value": float(values[metric])})
    return pd.DataFrame(rows, columns=RUN_COLUMNS), warnings


def board_label(item) -> str:
    """A counted run's row label on every board: predictions scored by `vsbench score`, not
    trained here, are ranked and marked so."""
    submitted = item.run.config is not None and item.run.config.submitted
    return f"{item.label} (submitted)" if submitted else item.label


def run_epochs(config) -> float:
    """The epochs a run trained (NaN: a submission, or not recorded)."""
    epochs = None if config is None or config.submitted else (config.run or {}).get("epochs")
    return float(epochs) if isinstance(epochs, int) else float("nan")


def row_epochs(group: pd.DataFrame) -> dict[str, int]:
    """Per row of a board's long table, the epochs its runs trained (rows whose runs differ,
    or did not record it, are left out)."""
    epochs = {}
    if "epochs" in group:
        for label, values in group.groupby("label")["epochs"]:
            known = set(values.dropna().astype(int))
            if len(known) == 1:
                epochs[label] = known.pop()
    return epochs


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
