"""Does a results folder reproduce a reference one (e.g. the committed ``results/reference``)?

Runs are matched on what made them: their configuration (the config hash without the seed:
method, resolved settings and hyperparameters, dataset fingerprint, split hash, preset, plugin)
and the seed, so a reference run made with other settings is never the one compared. For
each matched pair the Average PCC and SSIM must agree within an absolute tolerance. The
default tolerance is measured, not guessed: see ``results/reference/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vsbench.errors import ReproductionError
from vsbench.leaderboard.load import load_runs
from vsbench.protocol import AVERAGE

DEFAULT_TOLERANCE = 0.03
CHECKED_METRICS = ("pcc", "ssim")


def _averages(results_dir: Path) -> pd.DataFrame:
    runs, _ = load_runs(results_dir)
    if runs.empty:
        raise ReproductionError(f"no completed runs under {results_dir}/runs; check the folder "
                                "(--results / --against) or run `vsbench sweep` first.")
    runs = runs[(runs["channel"] == AVERAGE) & runs["metric"].isin(CHECKED_METRICS)]
    # load_runs already keeps one run per configuration and seed (the latest).
    return runs.set_index(["configuration", "method", "dataset", "preset", "seed",
                           "metric"])["value"]


def check_reproduction(results_dir: Path, reference_dir: Path,
                       tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Compare the runs of ``results_dir`` with the matching runs of ``reference_dir``.

    Returns one row per matched (method, seed, metric): ``reference``, ``value``,
    ``difference`` (value - reference) and ``within`` (|difference| <= tolerance), sorted by
    method, seed and metric. Raises :class:`ReproductionError` when nothing matches, naming
    what the reference holds.
    """
    if tolerance < 0:
        raise ReproductionError(f"--tolerance {tolerance}: must be zero or positive.")
    ours, reference = _averages(results_dir), _averages(reference_dir)
    both = pd.concat({"reference": reference, "value": ours}, axis=1, join="inner")
    if both.empty:
        held = sorted({f"{m} seed {s} ({p}, {d})" for d, p, m, s in zip(
            reference.index.get_level_values("dataset"),
            reference.index.get_level_values("preset"),
            reference.index.get_level_values("method"),
            reference.index.get_level_values("seed"))})
        raise ReproductionError(
            f"no run under {results_dir} matches a run of {reference_dir} (same configuration "
            f"- method, settings, dataset, split, preset - and seed); the reference holds: "
            f"{', '.join(held[:8])}{' ...' if len(held) > 8 else ''}.")
    unmatched = ours.index.difference(reference.index)
    both["difference"] = both["value"] - both["reference"]
    both["within"] = both["difference"].abs() <= tolerance
    out = both.reset_index()[["method", "seed", "metric", "reference", "value", "difference",
                              "within"]]
    out = out.sort_values(["method", "seed", "metric"], kind="stable").reset_index(drop=True)
    # Runs of yours with no reference run of the same configuration and seed (not checked).
    out.attrs["unmatched"] = sorted({f"{m} seed {s} (configuration {c[:8]})"
                                     for c, m, _, _, s, _ in unmatched})
    return out
