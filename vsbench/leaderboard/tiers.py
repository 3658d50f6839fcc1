"""Leaderboards of every tier but the pixel one (``vsbench compare --tier NAME|all``).

The same rows (configurations, one run per seed), grouping, means, spreads, ranks,
hierarchical bootstrap intervals and paired tests as the pixel tier
(:mod:`vsbench.leaderboard.board`), on the columns each tier declares
(:class:`vsbench.tiers.TierSpec`: metrics and directions, default sort, unit, per-unit
reader, notes, and its board rules: an ensemble size per run where its columns judge a
spread, a sort column other than the default, notes from the rows; the built-in ones are
described in :mod:`vsbench.tiers.instance`, :mod:`~vsbench.tiers.features`,
:mod:`~vsbench.tiers.profiles` and :mod:`~vsbench.tiers.posterior`).

A counted run without the tier (made before it, or on a channel set without DNA) is named in
a note with the command that scores it."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from vsbench import stats
from vsbench.errors import ResultsError
from vsbench.leaderboard.board import Leaderboard, board_groups
from vsbench.leaderboard.configurations import count_runs
from vsbench.leaderboard.statistics import add_statistics
from vsbench.leaderboard.load import GROUP_KEYS, RUN_COLUMNS, _key, row_epochs, run_epochs
from vsbench.readback import reading
from vsbench.protocol import AVERAGE, SAMPLER_ONLY
from vsbench.store import ResultsStore
from vsbench.tiers.profiles import ACTIVITY, CROSS_MODAL
from vsbench.tiers.registry import all_tiers, built_in, tier as tier_spec


def tier_choices() -> tuple[str, ...]:
    """``compare --tier``'s choices: every tier of the registry, and ``all``."""
    return (*all_tiers(), "all")


def board_tiers() -> list[str]:
    """The tiers with boards of their own here (the pixel board is
    :mod:`vsbench.leaderboard.board`'s)."""
    return [name for name in all_tiers() if name != "pixel"]


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def per_unit(folder: Path, tier: str, expected_units: int | None = None
             ) -> pd.DataFrame | None:
    """A run's values per unit (instance: test image; features: feature name) with columns
    ``(channel, metric)``; None when the run has no such file. A file that is there but
    cannot be read, or holds fewer units than ``expected_units``, is a :class:`ResultsError`
    naming it (a fragment must not be ranked as the whole)."""
    spec = tier_spec(tier)
    path = Path(folder) / spec.files[0]
    if not path.is_file():
        return None
    with reading(path, f"score the tier again with `vsbench evaluate --tier {tier} "
                       f"{folder}`."):
        values = spec.read_units(Path(folder))
        if values is None:
            raise ValueError("not the table this tier writes")
    if expected_units is not None and len(values) < expected_units:
        raise ResultsError(f"{path}: holds {len(values)} of the run's {expected_units} units "
                           f"(a partial file); score the tier again with `vsbench evaluate "
                           f"--tier {tier} {folder}`.")
    return values


def expected_units(record, tier: str) -> int | None:
    """How many units the run's tier summary says it scored (None: not recorded)."""
    return tier_spec(tier).expected_units(record)


def has_tier(record, tier: str) -> bool:
    """Whether a run's metrics record has scores of ``tier`` (not skipped, not failed)."""
    return tier_spec(tier).has(record)


def load_tier_runs(results_dir: Path, tier: str) -> tuple[pd.DataFrame, list[str]]:
    """The long table (as :func:`vsbench.leaderboard.load.load_runs`) of the tier's values of
    every counted run that has the tier, and notes naming those that lack it."""
    usable, skipped = ResultsStore(results_dir).completed()
    warnings = [f"skipped {run.problem}" for run in skipped]
    counted, notes = count_runs(usable, lambda run: _key(run.metrics))
    warnings += notes
    rows, lacking = [], []
    spec = tier_spec(tier)
    for item in counted:
        record, folder = item.run.metrics, item.run.folder.path
        base = dict(zip(GROUP_KEYS, _key(record)))
        control = bool(item.run.config.control) if item.run.config is not None else False
        base.update(method=record.method, configuration=item.configuration, label=item.label,
                    seed=record.seed, run=folder.name, folder=str(folder), control=control,
                    n_samples=(spec.ensemble_size(record) if spec.ensemble_size is not None
                               else math.nan),
                    tier_version=tier_spec(tier).version(record),
                    epochs=run_epochs(item.run.config))
        try:
            values = (per_unit(folder, tier, expected_units(record, tier))
                      if has_tier(record, tier) else None)
        except ResultsError as exc:  # damaged: named, and not on the board
            warnings.append(f"not on the {tier} board: {exc}")
            continue
        if values is None:
            lacking.append(str(folder))
            continue
        order = {c: i for i, c in enumerate(["nuclei", "cells", CROSS_MODAL, ACTIVITY,
                                             *record.channels, AVERAGE])}
        means = sorted(values.mean(axis=0).items(), key=lambda kv: order.get(kv[0][0], 99))
        for (channel, metric), column in means:
            rows.append({**base, "channel": channel, "metric": metric,
                         "value": _number(column)})
    if lacking:
        warnings.append(f"{len(lacking)} run(s) have no {tier} tier and are not on its board "
                        f"(score them with `vsbench evaluate --tier {tier} RUN...`; a channel "
                        f"set without DNA has none): {', '.join(lacking)}")
    return pd.DataFrame(rows, columns=[*RUN_COLUMNS, "n_samples", "tier_version"]), warnings


# What the known-answer ladder (vsbench.ladder, benchmarks/README.md) found a tier cannot
# order on the default data: said under its board (each tier declares its own notes).
LADDER_NOTES = {name: " ".join(spec.notes) for name, spec in built_in().items() if spec.notes}


def _tier_notes(tier: str, group: pd.DataFrame) -> list[str]:
    """What a tier's board must say: the ladder's limits, and runs scored under different
    versions of the tier (whose values are not computed the same way)."""
    spec = tier_spec(tier)
    notes = list(spec.notes)
    if spec.board_notes is not None:
        notes += spec.board_notes(group)
    if "tier_version" in group:
        versions = group.drop_duplicates("folder").groupby("tier_version")["label"].unique()
        if len(versions) > 1:
            listed = "; ".join(f"version {int(v)}: {', '.join(map(str, labels))}"
                               for v, labels in versions.items())
            notes.append(f"The runs were scored by different versions of the {tier} tier "
                         f"({listed}); rescore the older ones with `vsbench evaluate --tier "
                         f"{tier} RUN...` to compare them on one footing.")
    return notes


def build_tier_boards(runs: pd.DataFrame, tier: str) -> list[Leaderboard]:
    """One board per comparability key for ``tier``, ranked on its default column."""
    boards = []
    if runs.empty:
        return boards
    # the pixel tier's grouping: controls get their own board, never ranked with methods
    for key, section, group in board_groups(runs):
        boards.append(_tier_board(key, group, tier, section))
    return boards


def _tier_board(key: dict, group: pd.DataFrame, tier: str, section: str) -> Leaderboard:
    """One board of ``tier`` for one comparability key and section."""
    spec = tier_spec(tier)
    metrics = spec.metrics
    channel_order = list(dict.fromkeys(group["channel"]))
    if AVERAGE in channel_order:
        channel_order = [c for c in channel_order if c != AVERAGE] + [AVERAGE]
    pivot = dict(index="label", columns=["channel", "metric"], values="value",
                 dropna=False)
    table = group.pivot_table(aggfunc="mean", **pivot)
    columns = [(c, m) for c in channel_order for m in metrics if (c, m) in table.columns]
    std = group.pivot_table(aggfunc="std", **pivot).reindex(index=table.index,
                                                            columns=columns)
    sizes = {}
    if spec.ensemble_size is not None and "n_samples" in group:
        sizes = {label: int(n) for label, n in group.groupby("label")["n_samples"].max().items()
                 if pd.notna(n)}
        if sizes and max(sizes.values()) == 1:  # no sampler: coverage and spread say nothing
            columns = [c for c in columns if c[1] not in SAMPLER_ONLY]
    table = table[columns]
    std = std[columns]
    table[("", "runs")] = group.groupby("label")["seed"].nunique()
    sort_by = spec.default_sort if spec.default_sort in columns else columns[0]
    chosen = spec.board_sort(table) if spec.board_sort is not None else None
    sort_by = chosen if chosen in columns else sort_by
    table = table.sort_values(sort_by, ascending=not spec.higher_is_better[sort_by[1]],
                              kind="stable", na_position="last")
    table.index.name = "method"
    per_run = group.drop_duplicates("folder")[["label", "method", "configuration", "seed",
                                               "run", "folder"]]
    notes = _tier_notes(tier, group)
    board = Leaderboard(key, table, std=std.loc[table.index],
                        sort_by=sort_by, runs=per_run.reset_index(drop=True),
                        unit=spec.unit, tier=tier, section=section,
                        ensemble_sizes=sizes, epochs=row_epochs(group), tier_notes=notes)
    if section == "methods":  # controls are never ranked
        board.rank = stats.rank(table[sort_by], sort_by[1])
    _add_statistics(board, tier)
    return board


def _add_statistics(board: Leaderboard, tier: str) -> None:
    """Intervals and paired tests over the tier's units (:mod:`vsbench.leaderboard.statistics`)."""
    frames, folders = {}, {}
    for row, runs in board.runs.groupby("label", sort=False):
        read = [(Path(folder), per_unit(folder, tier)) for folder in runs["folder"]]
        read = [(folder, frame) for folder, frame in read if frame is not None]
        if read:
            frames[row] = [frame for _, frame in read]
            folders[row] = [folder for folder, _ in read]
    add_statistics(board, frames, folders)
