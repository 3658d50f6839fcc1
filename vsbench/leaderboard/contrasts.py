"""Guided methods against the controls that restart from the same first estimates.

Guided minus unguided (:func:`vsbench.leaderboard.statistics.guidance`) mixes two effects: the
masks' information and the restart itself (the estimate noised again and denoised, which with
``guide=mask`` also resets the background to black). A control such as
``palette-zero-guide`` (every mask empty) or ``palette-oracle-masks`` (masks of the ground
truth) runs the same refinement from the same first estimate; guided minus such a control is
what the method's masks add over that mask source, and nothing else.

A guided row is paired with a control row seed by seed, and only where the two runs of a seed
really share their first estimates: the same test images, and their unguided scores
(``per_image_metrics_unguided.csv``) equal to rounding, i.e. the same network and the same
noise. Pairs that do not share them (another network, another sampler seed) are left out, and
a row with no such pair gets no contrast. The difference is the mean over the paired seeds and
test images; its p is the hierarchical bootstrap of :mod:`vsbench.resampling` with the paired
seeds drawn together (the same runs' design as the board's intervals).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vsbench import resampling
from vsbench.layout import PER_IMAGE_UNGUIDED_FILE
from vsbench.leaderboard.statistics import board_design
from vsbench.protocol import METRICS
from vsbench.stats import pool_runs, read_per_image

SEEDS = ("", "", "seeds")  # the contrast table's column: the seeds paired


def same_first_estimates(a: pd.DataFrame | None, b: pd.DataFrame | None) -> bool:
    """Whether two runs' unguided per-image scores (:func:`vsbench.stats.read_per_image`
    frames) are those of the same first estimates: the same images and channels, every
    metric equal to 1e-9."""
    if a is None or b is None or len(a) != len(b):
        return False
    keys = ["sample_id", "channel"]
    a, b = a.sort_values(keys, kind="stable"), b.sort_values(keys, kind="stable")
    if not (a[keys].to_numpy() == b[keys].to_numpy()).all():
        return False
    x, y = a[list(METRICS)].to_numpy(dtype=float), b[list(METRICS)].to_numpy(dtype=float)
    return bool(np.allclose(x, y, rtol=0, atol=1e-9, equal_nan=True))


def _seed_folders(runs: pd.DataFrame) -> dict[int, Path]:
    """Seed -> run folder of one row (the first run of a seed, when a row has two)."""
    out: dict[int, Path] = {}
    for seed, folder in zip(runs["seed"], runs["folder"]):
        out.setdefault(int(seed), Path(folder))
    return out


def control_contrasts(board, controls) -> pd.DataFrame | None:
    """Per (guided row, control row) of a methods ``board`` and the ``controls`` board of the
    same key: the mean paired difference, guided minus control, of every metric column and
    its p, with the seeds paired (index ``(method, control)``; columns ``(channel, metric,
    "diff" | "p")`` and :data:`SEEDS`). None when no row pairs with any control."""
    if controls is None or board.runs is None or controls.runs is None:
        return None
    columns = board.metric_columns()
    unguided: dict[Path, pd.DataFrame | None] = {}

    def first(folder: Path) -> pd.DataFrame | None:
        if folder not in unguided:
            unguided[folder] = read_per_image(folder, PER_IMAGE_UNGUIDED_FILE)
        return unguided[folder]

    rows = {}
    control_rows = {label: _seed_folders(g) for label, g in controls.runs.groupby("label",
                                                                                  sort=False)}
    by_label = dict(tuple(board.runs.groupby("label", sort=False)))
    for label in [row for row in board.table.index if row in by_label]:  # rank order
        guided = _seed_folders(by_label[label])
        if not any(first(f) is not None for f in guided.values()):
            continue  # an unguided method: nothing to restart from
        for control, control_folders in control_rows.items():
            seeds = [s for s, f in guided.items() if s in control_folders
                     and same_first_estimates(first(f), first(control_folders[s]))]
            if not seeds:
                continue
            a = [read_per_image(guided[s]) for s in seeds]
            b = [read_per_image(control_folders[s]) for s in seeds]
            if any(frame is None for frame in a + b):
                continue
            mean_a, mean_b = pool_runs(a), pool_runs(b)
            a, b = [pool_runs([f]) for f in a], [pool_runs([f]) for f in b]
            units = pd.Index(pd.unique(np.concatenate([f.index.to_numpy(dtype=object)
                                                       for f in a])))
            design = board_design(units, board.unit, [guided[s] for s in seeds])
            values: dict[tuple, float] = {SEEDS: float(len(seeds))}
            for col in columns:
                if col not in mean_a.columns or col not in mean_b.columns:
                    continue
                x, y = mean_a[col].align(mean_b[col], join="inner")
                values[(*col, "diff")] = float((x - y).mean())
                values[(*col, "p")] = resampling.paired_p(a, b, design, col,
                                                          paired_seeds=True)
            rows[(label, control)] = values
    if not rows:
        return None
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["method", "control"])
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def attach_contrasts(boards: list) -> None:
    """Give every methods board the contrasts against the controls board of its key."""
    controls = {_key(b): b for b in boards if b.section == "controls"}
    for board in boards:
        if board.section == "methods" and board.per_image:
            board.contrasts = control_contrasts(board, controls.get(_key(board)))


def _key(board) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in board.key.items()))
