"""The profile tier: well-level profiles of the cell features, as JUMP makes them
(:mod:`vsbench.profiles`). Per treated perturbation (``profiles_map.csv``), under the column
group ``activity``, the virtual stain's phenotypic-activity mAP and retrieval (corrected
p < 0.05), and under ``cross-modal`` (runs scored since the tier's version 2) the mAP of its
well profiles retrieving the real stain's profiles of the same perturbation. Ranked on the
cross-modal mAP where every row has it, else on the activity mAP.
:func:`perturbation_table` puts the real stain's mAP beside every method's."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from vsbench.layout import PROFILES_CONSISTENCY_FILE, PROFILES_MAP_FILE
from vsbench.tiers.contract import TierInputs, TierSpec, number

# Per treated perturbation: the virtual stain's mAP and whether it is retrieved.
PROFILE_METRICS: tuple[str, ...] = ("map", "retrieved")
HIGHER_IS_BETTER = {m: True for m in PROFILE_METRICS}

ACTIVITY = "activity"
CROSS_MODAL = "cross-modal"


def profile_units(folder: Path, strict: bool = False) -> pd.DataFrame | None:
    """A run's virtual-stain mAP and retrieval per treated perturbation, columns
    ``("activity", metric)`` (``strict``: a damaged file raises, as :func:`posterior_units`)."""
    try:
        frame = pd.read_csv(Path(folder) / PROFILES_MAP_FILE, dtype={"perturbation": str})
    except (OSError, ValueError):
        if strict:
            raise
        return None
    if "map_virtual" not in frame:
        if strict:
            raise ValueError("no map_virtual column")
        return None
    columns = {(ACTIVITY, "map"): frame["map_virtual"].astype(float).to_numpy(),
               (ACTIVITY, "retrieved"): _flags(frame["retrieved_virtual"])}
    if "map_cross_modal" in frame:  # scored since the profile tier's version 2
        columns[(CROSS_MODAL, "map")] = frame["map_cross_modal"].astype(float).to_numpy()
        columns[(CROSS_MODAL, "retrieved")] = _flags(frame["retrieved_cross_modal"])
    out = pd.DataFrame(columns, index=frame["perturbation"].to_numpy())
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    groups = [ACTIVITY, *([CROSS_MODAL] if "map_cross_modal" in frame else [])]
    return out[[(g, m) for g in groups for m in PROFILE_METRICS]]


def _flags(values: pd.Series):
    """``True`` / ``False`` cells as 1.0 / 0.0 (NaN otherwise)."""
    return values.map(lambda v: 1.0 if str(v) == "True" else 0.0 if str(v) == "False"
                      else float("nan")).to_numpy()


def _run_maps(paths: Sequence[str]) -> tuple[pd.Series | None, list[pd.Series]]:
    """The real stain's per-perturbation mAP and each run's virtual one, from the runs'
    ``profiles_map.csv`` (runs without a readable one left out; real: None if none has)."""
    real, runs = None, []
    for path in paths:
        try:
            frame = pd.read_csv(Path(path) / PROFILES_MAP_FILE, dtype={"perturbation": str})
        except (OSError, ValueError):
            continue
        if "map_virtual" not in frame:
            continue
        frame = frame.set_index("perturbation")
        real = frame["map_real"].astype(float) if real is None else real
        runs.append(frame["map_virtual"].astype(float))
    return real, runs


def _mean_r(real: pd.Series, runs: Sequence[pd.Series]) -> float:
    """The agreement r: the mean over runs of the Pearson r over perturbations, real vs
    virtual mAP (runs with a constant mAP left out; NaN if none is left)."""
    rs = [float(real.corr(v)) for v in runs if v.std() > 0 and real.std() > 0]
    return float(np.mean(rs)) if rs else float("nan")


def perturbation_table(folders: dict[str, list[str]]) -> pd.DataFrame:
    """Per treated perturbation (rows), the real stain's mAP and each method's (columns: the
    mean over its runs), for ``folders`` (label -> run folders of one board); the last row is
    the agreement (:func:`_mean_r`)."""
    columns: dict[str, pd.Series] = {}
    agreement: dict[str, float] = {}
    for label, paths in folders.items():
        real, runs = _run_maps(paths)
        if runs:
            columns.setdefault("real stain", real)
            columns[label] = pd.concat(runs, axis=1).mean(axis=1)
            agreement[label] = _mean_r(real, runs)
    table = pd.DataFrame(columns)
    if table.empty:
        return table
    table.loc["agreement r"] = pd.Series(agreement)
    table.index.name = "perturbation"
    return table


def agreement_interval(real: pd.Series, virtual: Sequence[pd.Series],
                       n_resamples: int = 2000, seed: int = 0,
                       confidence: float = 0.95) -> tuple[float, float]:
    """A bootstrap interval of the agreement r (the mean over runs of the per-run Pearson r
    over perturbations, real vs virtual mAP): perturbations drawn with replacement and,
    independently, the runs (seeds). NaN bounds where fewer than half the resamples define
    an r (fewer than three distinct perturbations drawn, or a constant mAP)."""
    runs = [v.reindex(real.index).to_numpy(dtype=float) for v in virtual]
    a = real.to_numpy(dtype=float)
    if len(a) < 3 or not runs:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        units = rng.integers(0, len(a), len(a))
        drawn = rng.integers(0, len(runs), len(runs))
        x = a[units]
        rs = []
        for k in drawn:
            y = runs[k][units]
            if np.std(x) > 0 and np.std(y) > 0 and np.isfinite(y).all():
                rs.append(float(np.corrcoef(x, y)[0, 1]))
        values.append(np.mean(rs) if rs else np.nan)
    values = np.asarray(values)
    values = values[np.isfinite(values)]
    if values.size < n_resamples / 2:
        return float("nan"), float("nan")
    tail = 100 * (1 - confidence) / 2
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def agreement_table(folders: dict[str, list[str]]) -> pd.DataFrame:
    """Per row label of one board (``folders``: label -> run folders), the agreement r of
    :func:`perturbation_table` with its bootstrap interval (:func:`agreement_interval`) and
    the numbers of perturbations and runs it rests on."""
    rows = {}
    for label, paths in folders.items():
        real, runs = _run_maps(paths)
        if real is None:
            continue
        low, high = agreement_interval(real, runs)
        rows[label] = {"r": _mean_r(real, runs), "ci_low": low, "ci_high": high,
                       "perturbations": len(real), "runs": len(runs)}
    return pd.DataFrame.from_dict(rows, orient="index")


def score(inputs: TierInputs, done: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The ``profiles`` summary from the feature tier's per-cell features."""
    from vsbench.profiles.tier import profile_tier

    return profile_tier(inputs.folder, inputs.records(), inputs.sample_ids,
                        done.get("biometrics"), inputs.cache_dir)


def _read(folder: Path) -> pd.DataFrame | None:
    return profile_units(folder, strict=True)


def _perturbations(record: Any) -> int | None:
    n = ((record.profiles or {}).get("virtual") or {}).get("n_perturbations")
    return int(n) if isinstance(n, int) else None


def board_sort(table: pd.DataFrame) -> tuple[str, str] | None:
    """Rank on the cross-modal mAP (the biologist's question) where every row has it."""
    column = (CROSS_MODAL, "map")
    if column in table.columns and not table[column].isna().any():
        return column
    return None


# What the known-answer ladder (vsbench validate-tiers, benchmarks/README.md) found on each
# built-in dataset; another dataset's board gives the finding that held on both.
LADDER_FINDINGS = {
    "synthetic": "The known-answer ladder: the activity mAP ranks noisy, blurred and "
                 "channel-swapped copies of the real stain above the real stain (it measures "
                 "how alike replicate wells are, not fidelity); the cross-modal mAP ranks heavy "
                 "noise and blur, channel swaps and a mean image below it, but not noise of SD "
                 "0.05, a 1 px blur or intensities swapped between perturbations (4 "
                 "perturbations and 2 replicate wells on this dataset).",
    "synthetic-graded": "The known-answer ladder on this dataset (10 perturbations, 4 replicate "
                        "wells, 16 control wells): the cross-modal mAP orders every rung below "
                        "the real stain, swapped biology included, but a 1 px blur only just "
                        "(0.694 against 0.701) and not noise of SD 0.05 against 0.1; the "
                        "activity mAP still ranks a 1 px blur above the real stain and a 4 px "
                        "blur above a 2 px one (smoothing makes replicate wells agree): rank on "
                        "the cross-modal mAP.",
}
LADDER_GENERAL = ("The known-answer ladder (on the built-in datasets): the activity mAP rewards "
                  "blur (it measures how alike replicate wells are, not fidelity); the "
                  "cross-modal mAP is the one that ranks degraded stains below the real one "
                  "(check this dataset with `vsbench validate-tiers --dataset NAME`).")


def ladder_note(datasets: Sequence[str]) -> str:
    """The ladder's finding for a board's dataset (a board holds one dataset)."""
    names = set(datasets)
    return LADDER_FINDINGS.get(names.pop(), LADDER_GENERAL) if len(names) == 1 else LADDER_GENERAL


def board_notes(group: pd.DataFrame) -> list[str]:
    """The ladder's finding on the board's dataset; methods given each test field's class
    label when they predict are flagged."""
    from vsbench.plugins import default_registry

    notes = [ladder_note(group["dataset"].unique() if "dataset" in group else ())]
    known = default_registry().methods
    given = sorted(m for m in set(group["method"])
                   if m in known and known[m].spec.test_labels)
    if not given:
        return notes
    return notes + [f"{', '.join(given)}: given each test field's class label when it "
                    f"predicts (MethodSpec.test_labels), so its profile scores carry the "
                    f"answer, not only the stain: flagged, not a fair comparison here."]


def _retrieved(summary: Mapping[str, Any]) -> str:
    n, fraction = summary.get("n_perturbations"), summary.get("fraction_retrieved")
    if not isinstance(n, int) or not isinstance(fraction, (int, float)):
        return "-"
    return f"{round(fraction * n)} of {n}"


def headline(profiles: Mapping[str, Any]) -> str:
    """The activity mAP and perturbations retrieved, the real stain's beside them."""
    real, virtual = profiles.get("real") or {}, profiles.get("virtual") or {}
    return (f"activity mAP {number(virtual.get('mean_map'))} (real stain "
            f"{number(real.get('mean_map'))}), perturbations retrieved {_retrieved(virtual)} "
            f"(real stain {_retrieved(real)})")


def terminal_tables(out: Any, board: Any) -> None:
    """Under the profile board in ``vsbench compare``: the mAP per perturbation, real stain
    beside each method, and the real-vs-virtual agreement (drawn by
    :mod:`vsbench.leaderboard.perturbations`)."""
    from vsbench.leaderboard.perturbations import print_perturbations

    print_perturbations(out, board, perturbation_table, agreement_table)


def report_figures(board: Any, runs: pd.DataFrame, data_root: Path, palette: Any) -> list:
    """The tier's figure in ``vsbench report`` (the mAP per perturbation, from
    :func:`perturbation_table`: :mod:`vsbench.report.profile_figures`, imported here so that
    the tier needs no matplotlib)."""
    from vsbench.report.profile_figures import figures

    return figures(board, palette, perturbation_table)


TIER = TierSpec(
    name="profiles",
    description="well-level profiles (JUMP's recipe): phenotypic-activity and cross-modal "
                "mAP with copairs, real stain beside virtual",
    metrics=PROFILE_METRICS,
    higher_is_better=HIGHER_IS_BETTER,
    default_sort=(ACTIVITY, "map"), unit="perturbations",
    files=(PROFILES_MAP_FILE, PROFILES_CONSISTENCY_FILE), record_key="profiles",
    read_units=_read, scored=lambda summary: "mean_map" in (summary.get("virtual") or {}),
    score=score, requires=("features",), expected_units=_perturbations,
    board_sort=board_sort, board_notes=board_notes, headline=headline,
    terminal_tables=terminal_tables,
    key_numbers={"activity mAP": (("virtual", "mean_map"), True),
                 "cross-modal mAP": (("virtual", "cross_modal_map"), True)},
    figures=report_figures)
