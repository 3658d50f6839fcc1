"""Every board's intervals and paired tests, on every tier (one function, one bootstrap).

A board's rows each have one frame of per-unit values per run (seed): per test image (pixel,
instance and posterior tiers), per feature (features tier) or per perturbation (profiles
tier). :func:`add_statistics` gives each row a 95% interval of its mean and each ranked row
the p-value of its difference from the best row, both from the hierarchical bootstrap of
:mod:`vsbench.resampling` (seeds and clusters of units resampled), with clusters:

- test images: the well of each field (``test_fields.csv``, written by every run; sites nested
  in wells). A run made before that file has none: its images count as independent, and the
  caption says so.
- features: a Haralick texture feature's angles (``Contrast_3_00_64`` .. ``Contrast_3_03_64``)
  are one cluster; every other feature is its own.
- perturbations: each its own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from vsbench import resampling
from vsbench.layout import PER_IMAGE_UNGUIDED_FILE, TEST_FIELDS_FILE
from vsbench.resampling import Design
from vsbench.stats import pool_runs, read_per_image

# A Haralick feature as cp-measure names it: NAME_SCALE_ANGLE_LEVELS (angle 00..03).
_HARALICK = re.compile(r"^(?P<name>.+)_(?P<scale>\d+)_(?P<angle>\d\d)_(?P<levels>\d+)$")


def haralick_group(feature: str) -> str:
    """The feature's name without its Haralick angle (a non-Haralick feature: itself)."""
    match = _HARALICK.match(str(feature))
    if match is None:
        return str(feature)
    return f"{match['name']}_{match['scale']}_{match['levels']}"


def field_wells(folders: Sequence[Path]) -> pd.Series | None:
    """Test field -> ``plate/well``, from the first of ``folders`` that has
    ``test_fields.csv`` (None when none has: a run made before the file)."""
    for folder in folders:
        path = Path(folder) / TEST_FIELDS_FILE
        try:
            frame = pd.read_csv(path, dtype=str)
        except (OSError, ValueError):
            continue
        if {"sample_id", "plate", "well"} <= set(frame.columns):
            return pd.Series((frame["plate"] + "/" + frame["well"]).to_numpy(),
                             index=frame["sample_id"].to_numpy())
    return None


def board_design(units: pd.Index, unit: str, folders: Sequence[Path]) -> Design:
    """The clusters of a board's units (see the module docstring)."""
    if unit == "test images":
        wells = field_wells(folders)
        if wells is not None and units.isin(wells.index).all():
            return Design.of(units, wells, "wells")
        return Design.of(units, None, "")
    if unit == "features":
        return Design.of(units, {u: haralick_group(u) for u in units}, "features")
    return Design.of(units, None, "")


def design_note(design: Design, unit: str, n_units: int) -> str:
    """What a board's intervals and tests resample, for its caption."""
    what = f"{n_units} {unit}"
    if design.what == "wells":
        return (f"seeds and, independently, the {design.n_clusters} wells of the {what}, "
                f"then the sites within each drawn well")
    if design.what == "features" and design.n_clusters < n_units:
        return (f"seeds and, independently, the {what} as {design.n_clusters} groups (the "
                f"angles of one Haralick feature count once)")
    if unit == "test images":
        return (f"seeds and, independently, the {what} (each its own cluster: the runs "
                f"record no wells, so the sites of one well count as independent)")
    return f"seeds and, independently, the {what}"


def add_statistics(board, frames: dict[str, list[pd.DataFrame]],
                   folders: dict[str, list[Path]],
                   guidance: Callable[[Design], pd.DataFrame | None] | None = None) -> None:
    """Fill ``board``'s ``per_image`` (the mean over seeds, unit by unit), ``ci_low`` /
    ``ci_high``, ``p_value`` (against the best row, on the sort column; controls: none),
    ``n_images`` and ``interval_note`` from ``frames`` (per row, one frame per run, indexed by
    unit, columns ``(channel, metric)``). ``guidance``: computes the guided-minus-unguided
    table over the same design."""
    columns = board.metric_columns()
    index = pd.MultiIndex.from_tuples(columns)
    board.ci_low = pd.DataFrame(np.nan, index=board.table.index, columns=index)
    board.ci_high = board.ci_low.copy()
    board.p_value = pd.Series(np.nan, index=board.table.index, dtype=float)
    for row, runs in frames.items():
        board.per_image[row] = pd.concat(runs).groupby(level=0, sort=False).mean()
    if not frames:
        return
    units = pd.Index(pd.unique(np.concatenate([np.asarray(r.index, dtype=object)
                                               for runs in frames.values() for r in runs])))
    design = board_design(units, board.unit, [f for fs in folders.values() for f in fs])
    for row, runs in frames.items():
        low, high = resampling.interval(runs, design, index)
        board.ci_low.loc[row], board.ci_high.loc[row] = low, high
    if guidance is not None:
        board.guidance = guidance(design)
    if board.section == "controls":  # no rank, so no test against a best row
        board.p_value = None
        return
    best = board.table.index[0]
    if best not in frames:
        return
    reference = board.per_image[best][board.sort_by]
    board.n_images = int(reference.notna().sum())
    board.interval_note = design_note(design, board.unit, board.n_images)
    for row, runs in frames.items():
        if row != best:
            board.p_value[row] = resampling.paired_p(runs, frames[best], design, board.sort_by)


def guidance(board, frames: dict[str, list[pd.DataFrame]], folders: dict[str, list[Path]],
             design: Design) -> pd.DataFrame | None:
    """Guided minus unguided per test image, for every row whose runs all recorded their
    unguided first estimates (None when no row did); its p pairs each run with itself."""
    columns = board.metric_columns()
    rows = {}
    for row, guided in frames.items():
        read = [read_per_image(f, PER_IMAGE_UNGUIDED_FILE) for f in folders[row]]
        if any(frame is None for frame in read):
            continue
        unguided = [pool_runs([frame]) for frame in read]
        pooled_guided = board.per_image[row]
        pooled_unguided = pool_runs(read)
        values = {}
        for col in columns:
            if col not in pooled_guided.columns or col not in pooled_unguided.columns:
                continue
            a, b = pooled_guided[col].align(pooled_unguided[col], join="inner")
            values[(*col, "diff")] = float((a - b).mean())
            values[(*col, "p")] = resampling.paired_p(guided, unguided, design, col,
                                                      paired_seeds=True)
        rows[row] = values
    if not rows:
        return None
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame
