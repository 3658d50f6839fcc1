"""The hierarchical bootstrap behind every board's intervals and paired tests.

A board's row is a method trained on a few seeds and scored on units (test images, features,
perturbations). Its uncertainty has two sources: the networks (another seed trains another
network) and the units (other images of the same kind). Units are not independent either: the
sites of one well share its cells' treatment and plating, and the four angles of one Haralick
texture feature measure one texture. So one resample draws

- seeds with replacement (the row's runs), and, independently,
- clusters with replacement (wells; a Haralick feature's angles), then, within each drawn
  cluster, its units with replacement (sites nested in wells),

and takes the mean over the drawn (seed, unit) pairs: seeds and units are crossed (every seed
scored every unit), so they are resampled independently (Owen's pigeonhole bootstrap) and the
interval covers both. A paired test draws the same clusters and units for both rows (the same
images) and each row's seeds on their own (seed 0 of one method has nothing to do with seed 0
of another); its p-value is twice the smaller tail of the resampled difference around zero.

The bootstrap's variance of a mean of n values is (n - 1) / n of its sampling variance; for the
seeds, where n is 3, that shrinkage is undone by rescaling the seeds' part of each resample by
sqrt(n / (n - 1)). What it cannot do: with 3 seeds a seed resample is one of 10 multisets and
the seed variance is estimated from 3 values, so where seeds dominate, an interval is still
too narrow (a t interval would use 4.30 standard errors, not 1.96): the measured coverage and
false-positive rate are in ``benchmarks/README.md`` (``benchmarks/bootstrap_coverage.py``). A
p-value has the resolution 1 / resamples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
N_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
# Resamples are evaluated in batches holding at most this many values (about 32 MB).
_BATCH_VALUES = 4_000_000


@dataclass(frozen=True)
class Design:
    """The units of a board's rows, in one order, and the cluster each belongs to.

    ``clusters[i]`` is the cluster of ``units[i]``; a design without clusters makes every unit
    its own (the flat bootstrap over units)."""

    units: pd.Index
    clusters: np.ndarray  # int cluster code per unit
    what: str  # what the clusters are, for a board's caption ("wells", "features")

    @property
    def n_clusters(self) -> int:
        return int(self.clusters.max()) + 1 if len(self.clusters) else 0

    @classmethod
    def of(cls, units: Sequence, cluster_of: pd.Series | dict | None = None,
           what: str = "") -> "Design":
        """The design of ``units``; ``cluster_of`` maps a unit to its cluster's name (units
        it does not name are clusters of their own; None: no clustering)."""
        units = pd.Index(units)
        if cluster_of is None:
            return cls(units, np.arange(len(units)), what)
        mapping = pd.Series(cluster_of)
        names = [mapping.get(u, ("unit", u)) for u in units]
        codes = pd.factorize(pd.Series([str(n) for n in names]))[0]
        return cls(units, codes.astype(np.int64), what)


def _aligned(runs: Sequence[pd.DataFrame], design: Design, columns) -> np.ndarray:
    """The runs' values as one array ``[seeds, units, columns]`` in the design's unit order
    (NaN where a run lacks a unit)."""
    return np.stack([run.reindex(index=design.units, columns=columns).to_numpy(dtype=float)
                     for run in runs])


def _unit_counts(design: Design, n: int, rng: np.random.Generator) -> np.ndarray:
    """``[n, units]``: how often each unit is drawn in each of ``n`` two-stage resamples."""
    n_units, n_clusters = len(design.units), design.n_clusters
    order = np.argsort(design.clusters, kind="stable")
    sizes = np.bincount(design.clusters, minlength=n_clusters)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    counts = np.zeros((n, n_units), dtype=np.int64)
    rows = np.arange(n)
    for _ in range(n_clusters):
        drawn = rng.integers(0, n_clusters, n)  # one cluster per resample
        for position in range(int(sizes.max())):
            inside = position < sizes[drawn]  # a cluster of m units contributes m draws
            pick = offsets[drawn] + (rng.random(n) * sizes[drawn]).astype(np.int64)
            np.add.at(counts, (rows[inside], order[pick[inside]]), 1)
    return counts


def _seed_counts(n_seeds: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``[n, seeds]``: how often each seed is drawn in each resample."""
    if n_seeds == 1:
        return np.ones((n, 1), dtype=np.int64)
    draws = rng.integers(0, n_seeds, (n, n_seeds))
    return np.stack([(draws == s).sum(axis=1) for s in range(n_seeds)], axis=1)


def _means(values: np.ndarray, seeds: np.ndarray, units: np.ndarray) -> np.ndarray:
    """``[n, columns]``: each resample's mean over its drawn seeds of each seed's mean over
    the drawn units (finite values only), with the seeds' part rescaled by sqrt(S / (S - 1))
    so that its variance is the sampling variance of a mean of S seeds, not (S - 1) / S of it
    (the bootstrap's small-sample shrinkage, large at 3 seeds)."""
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0)
    total = np.einsum("suc,bu->bsc", filled, units, optimize=True)
    count = np.einsum("suc,bu->bsc", finite.astype(float), units, optimize=True)
    with np.errstate(all="ignore"), _quiet():
        per_seed = np.where(count > 0, total / np.maximum(count, 1), np.nan)  # [n, S, C]
        weights = np.where(np.isfinite(per_seed), seeds[:, :, None], 0)
        drawn = (np.nansum(per_seed * weights, axis=1)
                 / np.where(weights.sum(axis=1) > 0, weights.sum(axis=1), np.nan))
        n_seeds = values.shape[0]
        if n_seeds == 1:
            return drawn
        centre = np.nanmean(per_seed, axis=1)
        return centre + np.sqrt(n_seeds / (n_seeds - 1)) * (drawn - centre)


def _batches(values_per_resample: int, n_resamples: int):
    size = int(max(1, min(n_resamples, _BATCH_VALUES // max(values_per_resample, 1))))
    for start in range(0, n_resamples, size):
        yield min(size, n_resamples - start)


def interval(runs: Sequence[pd.DataFrame], design: Design, columns,
             confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
             seed: int = BOOTSTRAP_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of a row's mean (over seeds and units) for every column.

    ``runs``: one frame per seed, indexed by unit, with ``columns``. A column with fewer than
    two finite values gets NaN bounds."""
    values = _aligned(runs, design, columns)
    n_columns = values.shape[2]
    low = np.full(n_columns, np.nan)
    high = low.copy()
    usable = np.isfinite(values).sum(axis=(0, 1)) >= 2
    if len(design.units) < 2 or not usable.any():
        return low, high
    rng = np.random.default_rng(seed)
    draws = []
    for n in _batches(values[..., usable].size, n_resamples):
        draws.append(_means(values[..., usable], _seed_counts(len(runs), n, rng),
                            _unit_counts(design, n, rng)))
    means = np.concatenate(draws)
    alpha = (1 - confidence) / 2
    with np.errstate(all="ignore"), _quiet():
        low[usable] = np.nanquantile(means, alpha, axis=0)
        high[usable] = np.nanquantile(means, 1 - alpha, axis=0)
    return low, high


def paired_p(runs_a: Sequence[pd.DataFrame], runs_b: Sequence[pd.DataFrame], design: Design,
             column, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
             paired_seeds: bool = False) -> float:
    """Two-sided bootstrap p-value of ``mean(a) - mean(b)`` on one column: the same clusters
    and units for both rows, each row's seeds drawn on its own (``paired_seeds``: the same
    seeds, for two scorings of the same runs, e.g. guided and unguided). 1.0 when every
    paired value is equal, NaN with fewer than two units both have."""
    a = _aligned(runs_a, design, [column])
    b = _aligned(runs_b, design, [column])
    with _quiet():
        mean_a, mean_b = np.nanmean(a, axis=0), np.nanmean(b, axis=0)
    both = (np.isfinite(mean_a) & np.isfinite(mean_b))[:, 0]
    if int(both.sum()) < 2:
        return float("nan")
    same = (np.array_equal(np.nan_to_num(a[:, both]), np.nan_to_num(b[:, both])) if paired_seeds
            else np.array_equal(mean_a[both], mean_b[both]))
    if same:
        return 1.0
    # Units one row lacks are left out of both, so the difference is over the same units.
    a, b = np.where(both[None, :, None], a, np.nan), np.where(both[None, :, None], b, np.nan)
    rng = np.random.default_rng(seed)
    differences = []
    for n in _batches(max(a.size, b.size), n_resamples):
        units = _unit_counts(design, n, rng)
        seeds_a = _seed_counts(len(runs_a), n, rng)
        seeds_b = seeds_a if paired_seeds else _seed_counts(len(runs_b), n, rng)
        differences.append(_means(a, seeds_a, units)[:, 0] - _means(b, seeds_b, units)[:, 0])
    d = np.concatenate(differences)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan")
    tail = min(np.mean(d <= 0), np.mean(d >= 0))
    return float(min(1.0, 2 * tail))


class _quiet:
    """Silences numpy's all-NaN-slice warnings (a column undefined in every resample)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)
