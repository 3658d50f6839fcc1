"""Replicate profiles from per-cell features, as Cell Painting pipelines make them.

Per-cell features (one row per cell, metadata columns ``Metadata_*`` plus feature columns)
are aggregated per replicate unit (the well by default) with their median
(``pycytominer.aggregate``), normalised per plate to that plate's control profiles
(``pycytominer.normalize``, robust MAD by default, JUMP's choice) after dropping the features
that do not vary across the control wells, and feature-selected (``pycytominer.feature_select``:
variance threshold, correlation threshold, NA columns, outlier features). The
features kept are chosen on one set of profiles (the real stain's) and then applied to others
(each virtual stain's), so the two are compared on the same features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from vsbench.errors import MetricError

META_PREFIX = "Metadata_"


@dataclass(frozen=True)
class ProfileSettings:
    """How profiles are made (recorded with the scores)."""

    strata: tuple[str, ...] = ("Metadata_Plate", "Metadata_Well")  # one profile per well
    plate_column: str = "Metadata_Plate"
    control_column: str = "Metadata_Control"  # True for control wells
    aggregation: str = "median"
    normalisation: str = "mad_robustize"
    selection: tuple[str, ...] = ("variance_threshold", "correlation_threshold",
                                  "drop_na_columns", "drop_outliers")
    # JUMP's cleaning: a feature whose control wells do not vary (MAD at or below this
    # fraction of its median's size, on any plate) is dropped before it is robustised, else
    # dividing by a zero MAD gives |z| ~ 1e16 and that one feature decides every profile
    control_mad_floor: float = 1e-6
    kept_features: tuple[str, ...] = field(default_factory=tuple)  # filled by build_profiles

    def to_json(self) -> dict:
        """The settings as plain JSON (for the run's record)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The numeric columns that are not metadata."""
    return [c for c in frame.columns
            if not str(c).startswith(META_PREFIX) and pd.api.types.is_numeric_dtype(frame[c])]


def invariant_in_controls(wells: pd.DataFrame, features: list[str],
                          settings: ProfileSettings) -> list[str]:
    """The features whose control wells have (near) zero MAD on some plate (see
    :attr:`ProfileSettings.control_mad_floor`)."""
    out = set()
    controls = wells[wells[settings.control_column].astype(bool)]
    for _, group in controls.groupby(settings.plate_column, sort=True):
        values = group[features].astype(float)
        median = values.median()
        mad = (values - median).abs().median()
        floor = settings.control_mad_floor * np.maximum(median.abs(), 1e-12)
        out |= set(mad.index[(mad <= floor) | mad.isna()])
    return [f for f in features if f in out]


def _normalise(profiles: pd.DataFrame, features: list[str], settings: ProfileSettings
               ) -> pd.DataFrame:
    from pycytominer import normalize

    meta = [c for c in profiles.columns if c not in features]
    parts = []
    for plate, group in profiles.groupby(settings.plate_column, sort=True):
        if not group[settings.control_column].astype(bool).any():
            raise MetricError(f"plate {plate} has no control profiles "
                              f"({settings.control_column}); profiles are normalised to a "
                              "plate's controls.")
        parts.append(normalize(group.reset_index(drop=True), features=features,
                               meta_features=meta, method=settings.normalisation,
                               samples=f"{settings.control_column} == True"))
    return pd.concat(parts, ignore_index=True)


def build_profiles(cells: pd.DataFrame, settings: ProfileSettings = ProfileSettings(),
                   keep: Sequence[str] | None = None) -> tuple[pd.DataFrame, ProfileSettings]:
    """Normalised, feature-selected replicate profiles from per-cell features.

    With ``keep`` (the features another set of profiles kept), no selection is made and
    exactly those features are returned, so profiles of a virtual stain match the real
    stain's. Returns the profiles (metadata columns first) and the settings with the kept
    features.
    """
    from pycytominer import aggregate, feature_select

    missing = [c for c in (*settings.strata, settings.control_column) if c not in cells]
    if missing:
        raise MetricError(f"per-cell features lack the column(s) {', '.join(missing)}.")
    features = feature_columns(cells)
    if not features:
        raise MetricError("per-cell features have no numeric feature columns.")
    meta = [c for c in cells.columns if c not in features]
    wells = aggregate(cells, strata=list(settings.strata), features=features,
                      operation=settings.aggregation)
    # aggregate keeps only the strata; the other per-well metadata (perturbation, target,
    # control) is constant within a well and joined back.
    labels = cells[meta].drop_duplicates(subset=list(settings.strata))
    wells = labels.merge(wells, on=list(settings.strata), how="right")
    if keep is None:  # chosen on the real stain; a virtual stain gets the same features
        dropped = set(invariant_in_controls(wells, features, settings))
        features = [f for f in features if f not in dropped]
        wells = wells.drop(columns=sorted(dropped))
        if not features:
            raise MetricError("every feature is constant across the control wells.")
    else:
        wells = wells.drop(columns=[f for f in features if f not in set(keep)])
        features = [f for f in features if f in set(keep)]
    profiles = _normalise(wells, features, settings)
    if keep is None:
        selected = feature_select(profiles, features=features,
                                  operation=list(settings.selection))
        kept = [c for c in features if c in selected.columns]
    else:
        unknown = [c for c in keep if c not in profiles.columns]
        if unknown:
            raise MetricError(f"features to keep are not in these profiles: "
                              f"{', '.join(unknown[:5])}.")
        kept = list(keep)
    if not kept:
        raise MetricError("feature selection kept no feature (every feature is constant or "
                          "NaN across the profiles).")
    meta_out = [c for c in profiles.columns if c not in features]
    out = profiles[meta_out + kept].dropna(subset=kept).reset_index(drop=True)
    from dataclasses import replace

    return out, replace(settings, kept_features=tuple(kept))
