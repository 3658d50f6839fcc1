"""One board builder for every tier, the pixel one included.

:func:`build_leaderboards` makes the pixel boards, :func:`vsbench.leaderboard.tiers.
build_tier_boards` every other tier's; both group runs with :func:`board_groups` (per
comparability key, the methods, then the controls) and build each board here.

Given one comparability key's runs (a long table: one row per run, group and metric, as
:func:`vsbench.leaderboard.load.load_runs` and :func:`vsbench.leaderboard.tiers.load_tier_runs`
make them) and a tier (:class:`vsbench.tiers.TierSpec`: its metrics and directions, default
sort, unit, per-unit table and board rules), :func:`build_board` averages each row's runs,
orders the columns (the Average last), ranks the rows (the methods section only: controls are
never ranked) and adds the intervals and paired tests of
:mod:`vsbench.leaderboard.statistics`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from vsbench import stats
from vsbench.errors import LeaderboardError
from vsbench.leaderboard.board import SORT_SYNTAX, Leaderboard, parse_sort_by
from vsbench.leaderboard.contrasts import attach_contrasts
from vsbench.leaderboard.load import GROUP_KEYS, names, row_epochs
from vsbench.leaderboard.statistics import add_statistics, guidance
from vsbench.protocol import AVERAGE, SAMPLER_ONLY
from vsbench.tiers.pixel import TIER as PIXEL


def build_leaderboards(runs: pd.DataFrame, sort_by: tuple[str, str] | str | None = None,
                       with_stats: bool = True) -> list[Leaderboard]:
    """Group runs by comparability key, average each method's runs, rank them on ``sort_by``
    (``(channel, metric)``, default Average PCC) and, with ``with_stats``, add confidence
    intervals and paired tests from the runs' per-image metrics.

    A board without the sort channel (another channel set) is ranked on the Average of the
    same metric. A sort channel that no board has is a :class:`LeaderboardError`.
    """
    sort_by = parse_sort_by(sort_by) if isinstance(sort_by, str) or sort_by is None else sort_by
    boards = []
    if runs.empty:
        return boards
    if sort_by[0] not in set(runs["channel"]):
        raise LeaderboardError(f"--sort-by {sort_by[0]}/{sort_by[1]}: no channel "
                               f"'{sort_by[0]}'; the runs have {names(runs['channel'])} "
                               f"({SORT_SYNTAX}).")
    for key, section, group in board_groups(runs):
        boards.append(build_board(key, group, PIXEL, section, PIXEL.read_units, sort_by,
                                  with_stats, with_guidance=True))
    if with_stats:
        attach_contrasts(boards)
    return boards


def board_groups(runs: pd.DataFrame) -> Iterator[tuple[dict, str, pd.DataFrame]]:
    """The runs of each board: per comparability key, the methods' runs (section
    ``methods``), then the controls' (``controls``: never ranked with the methods), each as
    ``(key, section, long table)``; empty sections are left out. Every tier's boards are
    grouped here."""
    keyed = runs.fillna({"image_size": -1, "eval_image_size": -1})
    if "control" not in keyed.columns:
        keyed = keyed.assign(control=False)
    keyed["control"] = keyed["control"].fillna(False).astype(bool)
    for key, whole in keyed.groupby(list(GROUP_KEYS), sort=True, dropna=False):
        for section, group in (("methods", whole[~whole["control"]]),
                               ("controls", whole[whole["control"]])):
            if not group.empty:
                yield dict(zip(GROUP_KEYS, key)), section, group


def build_board(key: dict, group: pd.DataFrame, spec: Any, section: str,
                read_units: Callable[[Path], pd.DataFrame | None],
                sort_by: tuple[str, str] | None = None, with_stats: bool = True,
                with_guidance: bool = False) -> Leaderboard:
    """One board of ``spec``'s tier for one key and section (``methods`` or ``controls``).

    ``read_units``: a run folder's per-unit table (the intervals and tests are over it);
    ``sort_by``: the column asked for (None: the tier's own; a board without that channel is
    ranked on the Average of the same metric); ``with_guidance``: add guided minus unguided
    (the runs' first estimates: the pixel tier).
    """
    channel_order = list(dict.fromkeys(group["channel"]))
    if AVERAGE in channel_order:
        channel_order = [c for c in channel_order if c != AVERAGE] + [AVERAGE]
    # dropna=False: a column undefined for every row (e.g. the PCC of a constant channel)
    # is shown as such, not dropped.
    pivot = dict(index="label", columns=["channel", "metric"], values="value", dropna=False)
    table = group.pivot_table(aggfunc="mean", **pivot)
    columns = [(c, m) for c in channel_order for m in spec.metrics if (c, m) in table.columns]
    std = group.pivot_table(aggfunc="std", **pivot).reindex(index=table.index, columns=columns)
    sizes: dict[str, int] = {}
    if spec.ensemble_size is not None and "n_samples" in group:
        sizes = {label: int(n) for label, n in group.groupby("label")["n_samples"].max().items()
                 if pd.notna(n)}
        if sizes and max(sizes.values()) == 1:  # no sampler: coverage and spread say nothing
            columns = [c for c in columns if c[1] not in SAMPLER_ONLY]
    table, std = table[columns], std[columns]
    table[("", "runs")] = group.groupby("label")["seed"].nunique()
    board_sort = _sort_column(spec, table, columns, sort_by)
    table = table.sort_values(board_sort, ascending=not spec.higher_is_better[board_sort[1]],
                              kind="stable", na_position="last")
    table.index.name = "method"
    per_run = group.drop_duplicates("folder")[["label", "method", "configuration", "seed",
                                               "run", "folder"]]
    board = Leaderboard(key, table, std=std.loc[table.index], sort_by=board_sort,
                        runs=per_run.reset_index(drop=True), section=section,
                        epochs=row_epochs(group), unit=spec.unit, tier=spec.name,
                        ensemble_sizes=sizes, tier_notes=board_notes(spec, group))
    if section == "methods":  # controls are never ranked
        board.rank = stats.rank(table[board_sort], board_sort[1])
    if with_stats:
        _add_statistics(board, spec, read_units, with_guidance)
    return board


def _sort_column(spec: Any, table: pd.DataFrame, columns: list, sort_by) -> tuple[str, str]:
    if sort_by is not None:  # asked for: that column, or the Average of its metric
        return sort_by if sort_by in columns else (AVERAGE, sort_by[1])
    chosen = spec.board_sort(table) if spec.board_sort is not None else None
    if chosen in columns:
        return chosen
    return spec.default_sort if spec.default_sort in columns else columns[0]


def board_notes(spec: Any, group: pd.DataFrame) -> list[str]:
    """What a tier's board must say: its declared notes (e.g. the ladder's limits), its
    rules' notes on the rows, and runs scored under different versions of the tier (whose
    values are not computed the same way)."""
    notes = list(spec.notes)
    if spec.board_notes is not None:
        notes += spec.board_notes(group)
    if "tier_version" in group:
        versions = group.drop_duplicates("folder").groupby("tier_version")["label"].unique()
        if len(versions) > 1:
            listed = "; ".join(f"version {int(v)}: {', '.join(map(str, labels))}"
                               for v, labels in versions.items())
            notes.append(f"The runs were scored by different versions of the {spec.name} "
                         f"tier ({listed}); rescore the older ones with `vsbench evaluate "
                         f"--tier {spec.name} RUN...` to compare them on one footing.")
    return notes


def _add_statistics(board: Leaderboard, spec: Any,
                    read_units: Callable[[Path], pd.DataFrame | None],
                    with_guidance: bool) -> None:
    """Intervals and paired tests (:mod:`vsbench.leaderboard.statistics`) over the per-unit
    tables of the board's runs; a row some of whose runs have none gets neither (intervals
    from some seeds would not be about the mean of all of them), and a note says so."""
    frames, folders = {}, {}
    for row, runs in board.runs.groupby("label", sort=False):
        read = {folder: read_units(Path(folder)) for folder in runs["folder"]}
        lacking = [Path(f).name for f, frame in read.items() if frame is None]
        if lacking:
            board.notes.append(f"{row}: no confidence interval or paired test - "
                               f"{len(lacking)} of {len(read)} runs have no readable "
                               f"{spec.files[0]} ({', '.join(lacking)}).")
            continue
        frames[row] = list(read.values())
        folders[row] = [Path(f) for f in read]
    add_statistics(board, frames, folders,
                   guidance=(lambda design: guidance(board, frames, folders, design))
                   if with_guidance else None)
