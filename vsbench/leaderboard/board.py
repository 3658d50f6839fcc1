"""The leaderboard object: runs grouped by comparability key, averaged, ranked and tested.

One table per (dataset, dataset fingerprint, split hash, preset, image size, channel set):
results made on different data, splits or evaluation settings are never averaged together.
Rows are configurations - a method with its resolved settings, labelled by what differs when a
method has several (:mod:`vsbench.leaderboard.configurations`) - with the mean over their runs
(one per seed), the standard deviation and the number of seeds; columns are (channel, metric) for every channel and for the Average. Each board also
carries 95% confidence intervals, a rank and a paired test against the best method, from a
hierarchical bootstrap over seeds and wells (:mod:`vsbench.leaderboard.statistics`). How a board is printed or exported is
:mod:`vsbench.leaderboard.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import pandas as pd

from vsbench import resampling
from vsbench.errors import LeaderboardError
from vsbench.leaderboard.load import split_list
from vsbench.posterior import calibrated_coverage, calibrated_outside
from vsbench.tiers.pixel import NAME as PIXEL
from vsbench.protocol import (AVERAGE, CALIBRATED_LEVELS, HIGHER_IS_BETTER, METRICS, NO_BEST,
                              OUTSIDE_RANGE, SAMPLER_ONLY, TARGETED)

DEFAULT_SORT = (AVERAGE, "pcc")
SORT_SYNTAX = "CHANNEL/METRIC, e.g. Average/pcc or DNA/ssim"


@dataclass
class Leaderboard:
    """One ranked table, its uncertainty, and the comparability key it was made under."""

    key: dict[str, object]
    table: pd.DataFrame  # index: row label (method [settings]); columns: MultiIndex (channel, metric) plus ("", "runs")
    stale: bool = False  # the split hash differs from the dataset's current manifest
    std: pd.DataFrame | None = None  # standard deviation over runs, same metric columns
    ci_low: pd.DataFrame | None = None  # hierarchical bootstrap CI, same metric columns
    ci_high: pd.DataFrame | None = None
    rank: pd.Series | None = None  # 1 = best on sort_by
    p_value: pd.Series | None = None  # bootstrap test against the rank-1 row on sort_by
    sort_by: tuple[str, str] = DEFAULT_SORT
    n_images: int = 0  # test images paired in the tests (0: no per-image metrics)
    per_image: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    runs: pd.DataFrame | None = field(default=None, repr=False)  # one row per run
    notes: list[str] = field(default_factory=list)  # what a reader must know (shown below)
    # ``methods``, or ``controls``: control methods (MethodSpec.control: an all-zero guide,
    # oracle masks), shown in their own board and never ranked (no rank, no test).
    section: str = "methods"
    # Guided minus unguided per row whose runs recorded their unguided first estimates
    # (per_image_metrics_unguided.csv): columns (channel, metric, "diff" | "p"), the mean
    # paired difference over test images and its bootstrap p (each run paired with itself).
    guidance: pd.DataFrame | None = None
    # Guided minus each control restarted from the same first estimates, seeds paired
    # (:mod:`vsbench.leaderboard.contrasts`): index (method, control), columns as guidance's
    # plus ("", "", "seeds").
    contrasts: pd.DataFrame | None = None
    unit: str = "test images"  # what the intervals and tests are over (tiers: features)
    tier: str = PIXEL  # the tier whose board this is (vsbench.tiers.registry)
    # The posterior tier: per row, its samples per test image (1: a point mass, shown but
    # never bold on SAMPLER_ONLY columns; a coverage is best closest to its row's target).
    ensemble_sizes: dict[str, int] = field(default_factory=dict)
    # Per row, the epochs its runs trained: rows trained for different budgets are named in
    # the caption (a difference between them may be the budget, not the method).
    epochs: dict[str, int] = field(default_factory=dict)
    # What a tier's board must say under its table (e.g. what it cannot tell apart).
    tier_notes: list[str] = field(default_factory=list)
    # What the intervals and tests resample (seeds, and the clusters of units).
    interval_note: str = ""

    @property
    def point_mass(self) -> set[str]:  # the posterior tier's rows of one sample per image
        return {row for row, size in self.ensemble_sizes.items() if size == 1}

    def title(self) -> str:
        """A one-line description of what this table compares."""
        k = self.key
        stale = " [STALE: not the current split manifest]" if self.stale else ""
        evaluated = k.get("eval_image_size")
        scored = (f", scored at {evaluated} px" if evaluated not in (None, -1, k["image_size"])
                  else "")
        controls = (" - CONTROLS (not methods: never ranked with them)"
                    if self.section == "controls" else "")
        tier = "" if self.tier == PIXEL else f"{self.tier} tier: "
        return (f"{tier}{k['dataset']} (fingerprint {k['dataset_fingerprint']}, split "
                f"{k['split_hash']}, preset {k['preset']}, {k['image_size']} px{scored})"
                f"{stale}{controls}")

    def caption(self) -> str:
        """What the numbers are: spread, interval, rank and test (one sentence each)."""
        channel, metric = self.sort_by
        if self.section == "controls":
            return ("Control methods (an all-zero guide, masks of the ground truth: an upper "
                    "bound), mean ± standard deviation over runs (seeds); not ranked, and not "
                    "tested against the methods' board. Best value per column in bold, second "
                    "underlined." + self._posterior_note() + self._tier_notes())
        best = self.table.index[0] if len(self.table) else "-"
        text = (f"Mean ± standard deviation over runs (seeds). Rank by {channel} "
                f"{metric.upper()}; p: two-sided hierarchical bootstrap test against {best} "
                f"on {channel} {metric.upper()}")
        if self.n_images:
            text += (f"; the 95% confidence intervals and the tests resample "
                     f"{self.interval_note or f'{self.n_images} {self.unit}'} "
                     f"({resampling.N_RESAMPLES} resamples), so they cover seed-to-seed and "
                     f"{self._unit_word()}-to-{self._unit_word()} variation")
            text += self._few_seeds_note()
        else:
            text += " (not computed: the runs have no per_image_metrics.csv)"
        return (text + ". Best value per column in bold, second underlined."
                + self._budget_note() + self._posterior_note() + self._tier_notes())

    def _few_seeds_note(self) -> str:
        """Says what the rows' numbers of seeds leave out of their intervals."""
        seeds = self.table.loc[list(self.per_image), ("", "runs")].dropna().astype(int)
        notes = ""
        single = [str(row) for row, n in seeds.items() if n == 1]
        if single:
            notes += (f". {', '.join(single)}: one run, so its interval covers the "
                      f"{self._unit_word()}s only")
        several = seeds[seeds > 1]
        if len(several) and several.min() < 5:
            fewest = int(several.min())
            notes += (f". With {fewest} seeds a row's seed-to-seed variation rests on {fewest} "
                      f"values: where it dominates, intervals are too narrow and tests too "
                      f"ready to reject (measured in benchmarks/README.md)")
        return notes

    def _unit_word(self) -> str:
        return {"test images": "image", "features": "feature",
                "perturbations": "perturbation"}.get(self.unit, self.unit)

    def _tier_notes(self) -> str:
        return "".join(f" {note}" for note in self.tier_notes)

    def _budget_note(self) -> str:
        """Names the training budgets when the rows trained for different numbers of epochs."""
        if len(set(self.epochs.values())) < 2:
            return ""
        groups: dict[int, list[str]] = {}
        for row in self.table.index:
            if row in self.epochs:
                groups.setdefault(self.epochs[row], []).append(str(row))
        listed = "; ".join(f"{n}: {', '.join(rows)}" for n, rows in sorted(groups.items()))
        return (f" The rows trained for different numbers of epochs ({listed}): a difference "
                f"between them may be the training budget, not the method (compare at one "
                f"budget with `--set epochs=N`).")

    def _posterior_note(self) -> str:
        """How the posterior tier's columns are judged (empty on other tiers)."""
        if not self.ensemble_sizes:
            return ""
        samplers = sorted({n for n in self.ensemble_sizes.values() if n > 1})
        if not samplers:
            return (" Every row is deterministic (a point mass): its CRPS is its MAE, and "
                    "coverage and diversity, which need samples, are not shown.")
        levels = ", ".join(f"{calibrated_coverage(0.5, n):.2f} / {calibrated_coverage(0.9, n):.2f}"
                           f" at {n} samples" for n in samplers)
        outside = ", ".join(f"{calibrated_outside(n):.2f} at {n} samples" for n in samplers)
        text = (f" A coverage is best closest to what a calibrated ensemble of the row's size "
                f"reaches ((S - 1) / (S + 1) of the nominal level: {levels}), outside_range "
                f"closest to 2 / (S + 1) ({outside}: exact for any distribution); a diversity "
                f"has no best.")
        if self.point_mass:
            text += (f" Deterministic rows ({', '.join(sorted(self.point_mass))}: a point mass) "
                     f"are ranked on CRPS, which is their MAE, but never bold on coverage or "
                     f"diversity.")
        return text

    def best(self) -> dict[tuple[str, str], list[str]]:
        """For each (channel, metric) column that has a best, the rows with the best value
        as printed (3 decimals: a tie shares the bold)."""
        return {col: groups[0] for col, groups in self._orders().items()}

    def second(self) -> dict[tuple[str, str], list[str]]:  # the rows second-best per column
        return {col: groups[1] for col, groups in self._orders().items() if len(groups) > 1}

    def target(self, row: str, metric: str) -> float | None:
        """The value a coverage column aims at for ``row``: what a calibrated ensemble of the
        row's size reaches (None: not a coverage column, or the row's size is unknown)."""
        size = self.ensemble_sizes.get(row)
        if metric not in TARGETED or not size or size < 2:
            return None
        if metric == OUTSIDE_RANGE:
            return calibrated_outside(int(size))
        return calibrated_coverage(CALIBRATED_LEVELS[metric], int(size))

    def _orders(self, digits: int = 3) -> dict[tuple[str, str], list[list[str]]]:
        """Per column, its rows from best to worst in groups of equal printed value."""
        out = {}
        for col in self.metric_columns():
            metric = col[1]
            if metric in NO_BEST:
                continue
            values = self.table[col].dropna()
            if metric in SAMPLER_ONLY:  # a point mass has no spread to judge
                values = values.drop(index=[r for r in values.index if r in self.point_mass])
            if metric in TARGETED:
                targets = pd.Series({r: self.target(r, metric) for r in values.index},
                                    dtype=float)
                values = values[targets.notna()]
                key = -(values - targets[values.index]).abs()  # closer is better
            else:
                key = values if HIGHER_IS_BETTER[metric] else -values
            if key.empty:
                continue
            key = key.round(digits).sort_values(ascending=False, kind="stable")
            out[col] = [list(group.index) for _, group in key.groupby(key, sort=False)]
        return out

    def metric_columns(self) -> list[tuple[str, str]]:
        """The (channel, metric) columns, in display order."""
        return [c for c in self.table.columns if c[1] in HIGHER_IS_BETTER]

    def channels(self) -> list[str]:
        """The channel columns shown (the dataset's channels, then the Average)."""
        return list(dict.fromkeys(c for c, _ in self.metric_columns()))

    def select(self, channels: Sequence[str] | None = None,
               metrics: Sequence[str] | None = None) -> "Leaderboard":
        """The same board showing only some channels (``Average`` is one) and metrics; the
        ranking and the tests are unchanged."""
        keep = [c for c in self.metric_columns()
                if (channels is None or c[0] in channels) and (metrics is None or c[1] in metrics)]
        cut = lambda frame: None if frame is None else frame[keep]  # noqa: E731
        return replace(self, table=self.table[[*keep, ("", "runs")]], std=cut(self.std),
                       ci_low=cut(self.ci_low), ci_high=cut(self.ci_high))


def parse_sort_by(text: str | None) -> tuple[str, str]:
    """``CHANNEL/METRIC`` (e.g. ``Average/pcc``, ``DNA/ssim``; the metric in any case)."""
    if text is None:
        return DEFAULT_SORT
    channel, sep, metric = text.rpartition("/")
    metric = metric.strip().lower()
    if not sep or not channel.strip() or metric not in METRICS:
        raise LeaderboardError(f"--sort-by {text}: expected {SORT_SYNTAX} (metric one of "
                               f"{', '.join(METRICS)}).")
    return channel.strip(), metric


def parse_metrics(text: str | None) -> list[str] | None:
    """``--metrics pcc,ssim`` (any case) as metric names."""
    wanted = split_list(text)
    if wanted is None:
        return None
    wanted = [m.lower() for m in wanted]
    unknown = [m for m in wanted if m not in METRICS]
    if unknown:
        raise LeaderboardError(f"--metrics: unknown metric(s) {', '.join(unknown)}; use "
                               f"{', '.join(METRICS)}.")
    return wanted


def select_columns(boards: list[Leaderboard], channels: str | Sequence[str] | None = None,
                   metrics: str | Sequence[str] | None = None) -> list[Leaderboard]:
    """Show only some channels (``Average`` counts as one) and metrics. A channel no board has
    is an error; a board having none of the channels is left out."""
    wanted = split_list(channels)
    metric_names = parse_metrics(metrics) if isinstance(metrics, str) or metrics is None \
        else list(metrics)
    if wanted is not None:
        known = {c for b in boards for c in b.channels()}
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise LeaderboardError(f"--channels: unknown channel(s) {', '.join(unknown)}; the "
                                   f"runs have {', '.join(sorted(known))}.")
    out = [b.select(wanted, metric_names) for b in boards]
    return [b for b in out if b.metric_columns()]


def mark_stale(boards: list[Leaderboard], data_root: Path) -> list[Leaderboard]:
    """Flag leaderboards whose split is not the dataset's current manifest under
    ``data_root`` (the split was regenerated after those runs)."""
    from vsbench.data.splits import read_split
    from vsbench.layout import dataset_folder

    for board in boards:
        manifest = dataset_folder(data_root, str(board.key["dataset"])).split_manifest
        if manifest.is_file():
            try:
                board.stale = read_split(manifest).hash != board.key["split_hash"]
            except ValueError:
                continue
    return boards
