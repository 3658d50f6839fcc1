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

from vsbench.errors import ResultsError
from vsbench.leaderboard.board import Leaderboard
from vsbench.leaderboard.configurations import count_runs
from vsbench.leaderboard.builder import board_groups, build_board
from vsbench.leaderboard.load import GROUP_KEYS, RUN_COLUMNS, _key, board_label, run_epochs
from vsbench.readback import reading
from vsbench.protocol import AVERAGE
from vsbench.store import ResultsStore
from vsbench.tiers.pixel import NAME as PIXEL
from vsbench.tiers.profiles import ACTIVITY, CROSS_MODAL
from vsbench.tiers.registry import all_tiers, built_in, tier as tier_spec


def tier_choices() -> tuple[str, ...]:
    """``compare --tier``'s choices: every tier of the registry, and ``all``."""
    return (*all_tiers(), "all")


def board_tiers() -> list[str]:
    """The tiers with boards of their own here (the pixel board is
    :mod:`vsbench.leaderboard.board`'s)."""
    return [name for name in all_tiers() if name != PIXEL]


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
        base.update(method=record.method, configuration=item.configuration,
                    label=board_label(item),
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
# order on the built-in synthetic data: said under its board (each tier declares its own notes).
LADDER_NOTES = {name: " ".join(spec.notes) for name, spec in built_in().items() if spec.notes}


def build_tier_boards(runs: pd.DataFrame, tier: str) -> list[Leaderboard]:
    """One board per comparability key for ``tier``, ranked on its default column."""
    boards = []
    if runs.empty:
        return boards
    # the pixel tier's grouping: controls get their own board, never ranked with methods
    spec = tier_spec(tier)
    for key, section, group in board_groups(runs):
        boards.append(build_board(key, group, spec, section,
                                  lambda folder: per_unit(folder, tier)))
    return boards
