"""The profile tier of a run: do well profiles of the virtual stain retrieve its perturbations?

From a run's per-cell features (``cell_features.csv.gz``, real and predicted values measured on
the ground truth's objects), one profile per well is built for the real stain and for the
method (:func:`vsbench.profiles.wells.build_profiles`: median, MAD-robustised to the plate's
control wells, features selected on the real stain and applied to the virtual one), then
copairs' mAP for phenotypic activity (replicate wells against the controls) and consistency
(perturbations sharing a target) is computed for both, with their agreement.

A well is a control when its ``target`` label is one of :data:`CONTROL_TARGETS` or its
``perturbation`` label one of :data:`CONTROL_NAMES` (case-insensitive); the default synthetic
dataset's DMSO and untreated wells have the target ``control``. A dataset without perturbation
labels or control wells skips the tier with a note. The real stain's scores depend only on the
dataset, split and settings, so they are cached once beside the biometrics ground truth
(``<data_root>/<dataset>/biometrics/profiles-<key>.json``), never recomputed per method.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from vsbench.plain import plain_json
from vsbench import atomic
from vsbench.errors import MetricError
from vsbench.layout import (CELL_FEATURES_FILE, PROFILES_CONSISTENCY_FILE, PROFILES_MAP_FILE)
from vsbench.profiles.retrieval import (NULL_SIZE, RETRIEVAL_THRESHOLD, agreement,
                                        cross_modal, phenotypic_activity,
                                        phenotypic_consistency)
from vsbench.profiles.wells import ProfileSettings, build_profiles
from vsbench.readback import reading

SUMMARY_VERSION = 2  # 2: JUMP's feature cleaning, cross-modal retrieval
CACHE_VERSION = 2
CONTROL_TARGETS = frozenset({"control", "negcon", "negative control"})
CONTROL_NAMES = frozenset({"dmso", "untreated", "negcon", "control"})
PERTURBATION, TARGET, CONTROL = "Metadata_Perturbation", "Metadata_Target", "Metadata_Control"


def is_control(labels: Mapping[str, str]) -> bool:
    """Whether a well with these class labels is a negative control."""
    return (str(labels.get("target", "")).lower() in CONTROL_TARGETS
            or str(labels.get("perturbation", "")).lower() in CONTROL_NAMES)


def label_table(records: Iterable[Any], sample_ids: Iterable[str]) -> pd.DataFrame:
    """Plate, well, perturbation, target and control flag of ``sample_ids`` (from the source's
    :class:`vsbench.data.source.SampleRecord`\\ s)."""
    wanted = set(sample_ids)
    rows = [{"sample_id": r.sample_id, "Metadata_Plate": r.plate, "Metadata_Well": r.well,
             PERTURBATION: r.labels.get("perturbation"),
             TARGET: r.labels.get("target", r.labels.get("perturbation")),
             CONTROL: is_control(r.labels)}
            for r in records if r.sample_id in wanted]
    return pd.DataFrame(rows, columns=["sample_id", "Metadata_Plate", "Metadata_Well",
                                       PERTURBATION, TARGET, CONTROL])


def skip_note(labels: pd.DataFrame) -> str | None:
    """Why the tier cannot run on these test fields, or None."""
    if labels.empty or labels[PERTURBATION].isna().any():
        return "the test fields have no perturbation labels: the profile tier was skipped"
    if not labels[CONTROL].any():
        return ("the test fields have no control wells (target 'control' or a DMSO/untreated "
                "perturbation): the profile tier was skipped")
    wells = labels.drop_duplicates(["Metadata_Plate", "Metadata_Well"])
    treated = wells[~wells[CONTROL]]
    if treated.empty or treated.groupby(PERTURBATION).size().max() < 2:
        return ("no treated perturbation has two replicate wells among the test fields: the "
                "profile tier was skipped")
    return None


def read_cell_features(folder: Path) -> pd.DataFrame:
    """A run's per-cell features (long: sample_id, object, channel, feature, real, predicted);
    a :class:`MetricError` naming the fix when the run has none."""
    path = Path(folder) / CELL_FEATURES_FILE
    if not path.is_file():
        raise MetricError(f"{folder}: no {CELL_FEATURES_FILE}; score the feature tier first "
                          f"(`vsbench evaluate --tier features {folder}`).")
    with reading(path, f"score the feature tier again (`vsbench evaluate --tier features "
                       f"{folder}`)."):
        return pd.read_csv(path, dtype={"sample_id": str, "channel": str, "feature": str})


def cells_wide(long: pd.DataFrame, value: str, labels: pd.DataFrame) -> pd.DataFrame:
    """One row per cell (its well's metadata, one column per channel and feature) of the
    ``value`` column (``real`` or ``predicted``) of the long per-cell features."""
    frame = long.assign(name=long["channel"] + "_" + long["feature"])
    wide = frame.pivot_table(index=["sample_id", "object"], columns="name", values=value,
                             aggfunc="first", dropna=False)
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.reset_index()
    out = labels.merge(wide, on="sample_id", how="inner")
    return out.drop(columns=["sample_id", "object"])


def _scores(cells: pd.DataFrame, settings: ProfileSettings, keep, null_size: int
            ) -> tuple[pd.DataFrame, pd.DataFrame | None, ProfileSettings, pd.DataFrame]:
    profiles, used = build_profiles(cells, settings, keep=keep)
    activity = phenotypic_activity(profiles, PERTURBATION, CONTROL, null_size)
    try:
        consistency = phenotypic_consistency(profiles, TARGET, PERTURBATION, CONTROL, null_size)
    except MetricError:  # fewer than two perturbations per target: activity only
        consistency = None
    return activity, consistency, used, profiles


def _headline(activity: pd.DataFrame, consistency: pd.DataFrame | None) -> dict[str, Any]:
    out = {"mean_map": float(activity["map"].mean()),
           "fraction_retrieved": float(activity["retrieved"].astype(bool).mean()),
           "n_perturbations": int(len(activity))}
    if consistency is not None:
        out["consistency_mean_map"] = float(consistency["map"].mean())
        out["consistency_fraction_retrieved"] = float(
            consistency["retrieved"].astype(bool).mean())
    return out


def cache_key(truth_key: str, labels: pd.DataFrame, settings: ProfileSettings,
              null_size: int) -> str:
    """16 hex digits naming the real stain's cached profile scores."""
    text = json.dumps({"version": CACHE_VERSION, "truth": truth_key,
                       "labels": labels.astype(str).to_numpy().tolist(),
                       "settings": settings.to_json(), "null_size": null_size,
                       "threshold": RETRIEVAL_THRESHOLD}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _frame(records: list[dict] | None) -> pd.DataFrame | None:
    return None if records is None else pd.DataFrame.from_records(records)


def real_scores(long: pd.DataFrame, labels: pd.DataFrame, settings: ProfileSettings,
                null_size: int, cache: Path | None) -> tuple[dict[str, Any], bool]:
    """The real stain's activity and consistency tables and kept features (from ``cache``, a
    JSON file, when it exists; computed and stored otherwise); and whether it was cached."""
    if cache is not None and cache.is_file():
        try:
            return json.loads(cache.read_text()), True
        except (OSError, ValueError):
            pass  # a damaged cache is recomputed
    activity, consistency, used, _ = _scores(cells_wide(long, "real", labels), settings,
                                             None, null_size)
    value = {"activity": activity.to_dict("records"),
             "consistency": None if consistency is None else consistency.to_dict("records"),
             "kept_features": list(used.kept_features)}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(cache, json.dumps(plain_json(value)))
    return value, False


def _joined(real: pd.DataFrame, virtual: pd.DataFrame | None, key: str) -> pd.DataFrame:
    columns = [key, "map", "p_value", "p_corrected", "retrieved"]
    out = real[[c for c in columns if c in real]].add_suffix("_real").rename(
        columns={f"{key}_real": key})
    if virtual is not None:
        other = virtual[[c for c in columns if c in virtual]].add_suffix("_virtual").rename(
            columns={f"{key}_virtual": key})
        out = out.merge(other, on=key, how="left")
    return out


def score_profiles(folder: Path, labels: pd.DataFrame, *, truth_key: str,
                   cache_dir: Path | None, settings: ProfileSettings | None = None,
                   null_size: int = NULL_SIZE) -> dict[str, Any]:
    """The profile tier of the run in ``folder``: write ``profiles_map.csv`` (one row per
    treated perturbation, real and virtual) and ``profiles_consistency.csv`` (per target) and
    return the ``profiles`` summary of ``metrics.json``. ``labels``: :func:`label_table` of
    the run's test fields; ``truth_key``: the biometrics ground truth's cache key."""
    note = skip_note(labels)
    if note is not None:
        return {"version": SUMMARY_VERSION, "skipped": note}
    settings = settings or ProfileSettings()
    long = read_cell_features(folder)
    key = cache_key(truth_key, labels, settings, null_size)
    cache = None if cache_dir is None else Path(cache_dir) / f"profiles-{key}.json"
    real, from_cache = real_scores(long, labels, settings, null_size, cache)
    real_activity, real_consistency = _frame(real["activity"]), _frame(real["consistency"])
    summary: dict[str, Any] = {
        "version": SUMMARY_VERSION, "real": _headline(real_activity, real_consistency),
        "settings": {**settings.to_json(), "kept_features": len(real["kept_features"]),
                     "null_size": null_size, "threshold": RETRIEVAL_THRESHOLD,
                     "correction": "Benjamini-Hochberg (copairs)",
                     "controls": {"targets": sorted(CONTROL_TARGETS),
                                  "perturbations": sorted(CONTROL_NAMES)}},
        "real_cache": {"key": key, "from_cache": from_cache},
        "n_wells": int(len(labels.drop_duplicates(["Metadata_Plate", "Metadata_Well"]))),
        "n_control_wells": int(len(labels[labels[CONTROL]].drop_duplicates(
            ["Metadata_Plate", "Metadata_Well"]))),
        "files": [PROFILES_MAP_FILE]}
    virtual_activity = virtual_consistency = cross = None
    try:
        virtual_activity, virtual_consistency, _, virtual_profiles = _scores(
            cells_wide(long, "predicted", labels), settings, real["kept_features"], null_size)
        summary["virtual"] = _headline(virtual_activity, virtual_consistency)
        summary["agreement"] = agreement(real_activity, virtual_activity, PERTURBATION)
        real_profiles, _ = build_profiles(cells_wide(long, "real", labels), settings,
                                          keep=real["kept_features"])
        cross = cross_modal(real_profiles, virtual_profiles, PERTURBATION, CONTROL, null_size)
        summary["virtual"]["cross_modal_map"] = float(cross["map"].mean())
        summary["virtual"]["cross_modal_fraction_retrieved"] = float(
            cross["retrieved"].astype(bool).mean())
    except MetricError as exc:  # e.g. a constant prediction: no profile survives
        summary["virtual"] = {**summary.get("virtual", {}), "error": str(exc)}
    table = _joined(real_activity, virtual_activity, PERTURBATION)
    if cross is not None:
        table = table.merge(cross[[PERTURBATION, "map", "retrieved"]].rename(
            columns={"map": "map_cross_modal", "retrieved": "retrieved_cross_modal"}),
            on=PERTURBATION, how="left")
    targets = labels.drop_duplicates(PERTURBATION).set_index(PERTURBATION)[TARGET]
    table.insert(1, "target", table[PERTURBATION].map(targets))
    atomic.write_text(Path(folder) / PROFILES_MAP_FILE,
                      table.rename(columns={PERTURBATION: "perturbation"}).to_csv(index=False))
    if real_consistency is not None:
        consistency = _joined(real_consistency, virtual_consistency, TARGET)
        atomic.write_text(Path(folder) / PROFILES_CONSISTENCY_FILE,
                          consistency.rename(columns={TARGET: "target"}).to_csv(index=False))
        summary["files"].append(PROFILES_CONSISTENCY_FILE)
    return plain_json(summary)


def profile_tier(folder: Path, records: Iterable[Any], sample_ids: Iterable[str],
                 biometrics: Mapping[str, Any] | None, cache_dir: Path | None,
                 null_size: int = NULL_SIZE) -> dict[str, Any]:
    """The profile tier of a run whose feature tier summary is ``biometrics``: skipped with a
    note when the run has no per-cell features, else :func:`score_profiles` of its test
    fields ``sample_ids`` labelled from the source's ``records``."""
    biometrics = biometrics or {}
    if biometrics.get("skipped") or "error" in biometrics or "features" not in biometrics.get(
            "tiers", []) or "ground_truth" not in biometrics:
        why = biometrics.get("skipped") or biometrics.get("error") or "no feature tier"
        return {"version": SUMMARY_VERSION,
                "skipped": f"the run has no per-cell features ({why}): the profile tier "
                           "was skipped"}
    return score_profiles(folder, label_table(records, sample_ids),
                          truth_key=biometrics["ground_truth"]["cache_key"],
                          cache_dir=cache_dir, null_size=null_size)
