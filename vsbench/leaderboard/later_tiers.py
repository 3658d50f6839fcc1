"""Per-unit values of the profile and posterior tiers, for their leaderboards, and the
profile tier's per-perturbation table (torch-free).

- ``posterior``: per test image, per channel and their Average, the ensemble CRPS, the
  coverage of the central 50 % / 90 % intervals, the diversity (``per_image_posterior.csv``)
  and the sample mean's MAE and PCC (``per_image_metrics_mean.csv``), and the samples' cell
  features' scaled CRPS and coverage (``per_image_feature_posterior.csv``, where the run has
  it: :mod:`vsbench.biometrics.feature_posterior`). Ranked on Average CRPS.
- ``profiles``: per treated perturbation (``profiles_map.csv``), under the column group
  ``activity``, the virtual stain's mAP and retrieval (corrected p < 0.05), and under
  ``cross-modal`` (runs scored since the tier's version 2) the mAP of its well profiles
  retrieving the real stain's profiles of the same perturbation. Ranked on the cross-modal
  mAP where every row has it, else on the activity mAP.
  :func:`perturbation_table` puts the real stain's mAP beside every method's.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vsbench.layout import (PER_IMAGE_FEATURE_POSTERIOR_FILE, PER_IMAGE_MEAN_FILE,
                            PER_IMAGE_POSTERIOR_FILE, PROFILES_MAP_FILE)
from vsbench.protocol import AVERAGE, POSTERIOR_METRICS, PROFILE_METRICS

ACTIVITY = "activity"
CROSS_MODAL = "cross-modal"


def posterior_units(folder: Path, strict: bool = False) -> pd.DataFrame | None:
    """A run's posterior values per test image, columns ``(channel, metric)``; None when a
    file is missing or unreadable (``strict``: a damaged file raises what reading it raised,
    for the caller to name)."""
    try:
        frame = pd.read_csv(Path(folder) / PER_IMAGE_POSTERIOR_FILE,
                            dtype={"sample_id": str, "channel": str})
        mean = pd.read_csv(Path(folder) / PER_IMAGE_MEAN_FILE,
                           dtype={"sample_id": str, "channel": str})
    except (OSError, ValueError):
        if strict:
            raise
        return None
    mean = mean.rename(columns={"mae": "mae_mean_protocol", "pcc": "pcc_mean"})
    frame = frame.merge(mean[["sample_id", "channel", "pcc_mean"]], on=["sample_id", "channel"],
                        how="left")
    try:  # the samples' cell features (absent in runs scored before them)
        cells = pd.read_csv(Path(folder) / PER_IMAGE_FEATURE_POSTERIOR_FILE,
                            dtype={"sample_id": str, "channel": str})
        frame = frame.merge(cells, on=["sample_id", "channel"], how="left")
    except (OSError, ValueError):
        pass
    metrics = [m for m in POSTERIOR_METRICS if m in frame.columns]
    if strict and "crps" not in metrics:
        raise ValueError("no crps column")
    try:
        wide = frame.set_index(["sample_id", "channel"])[metrics].unstack(
            "channel").swaplevel(axis=1).astype(float)
    except KeyError:
        if strict:
            raise
        return None
    for metric in metrics:
        wide[(AVERAGE, metric)] = wide.xs(metric, axis=1, level=1).mean(axis=1)
    return wide


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


def perturbation_table(folders: dict[str, list[str]]) -> pd.DataFrame:
    """Per treated perturbation (rows), the real stain's mAP and each method's (columns: the
    mean over its runs), for ``folders`` (label -> run folders of one board); the last row is
    the agreement (Pearson r over perturbations, real vs virtual; mean over runs)."""
    columns: dict[str, pd.Series] = {}
    agreement: dict[str, float] = {}
    for label, paths in folders.items():
        maps, real, rs = [], None, []
        for path in paths:
            try:
                frame = pd.read_csv(Path(path) / PROFILES_MAP_FILE, dtype={"perturbation": str})
            except (OSError, ValueError):
                continue
            if "map_virtual" not in frame:
                continue
            frame = frame.set_index("perturbation")
            real = frame["map_real"] if real is None else real
            maps.append(frame["map_virtual"].astype(float))
            if frame["map_virtual"].std() > 0 and frame["map_real"].std() > 0:
                rs.append(float(frame["map_real"].corr(frame["map_virtual"])))
        if maps:
            columns.setdefault("real stain", real.astype(float))
            columns[label] = pd.concat(maps, axis=1).mean(axis=1)
            agreement[label] = float(pd.Series(rs).mean()) if rs else float("nan")
    table = pd.DataFrame(columns)
    if table.empty:
        return table
    table.loc["agreement r"] = pd.Series(agreement)
    table.index.name = "perturbation"
    return table
