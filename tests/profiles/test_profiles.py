"""Profiles (pycytominer) and their retrieval mAP (copairs) on fabricated per-cell features."""

import numpy as np
import pandas as pd
import pytest

from vsbench.errors import MetricError
from vsbench.profiles import (ProfileSettings, agreement, build_profiles, phenotypic_activity,
                              phenotypic_consistency)

# perturbation -> target; the two controls share one phenotype.
PERTURBATIONS = {"DMSO": "control", "noc": "microtubule", "col": "microtubule",
                 "fccp": "mitochondria", "rot": "mitochondria"}


def _cells(seed=0, wells_per_perturbation=4, cells_per_well=12, n_features=12, noise=1.0):
    """Per-cell features: each treated perturbation shifts its target's block of features far
    from the controls, and its own block a little (so the two of a target differ)."""
    rng = np.random.default_rng(seed)
    target_shift = {"control": 0, "microtubule": 0, "mitochondria": 6}
    rows = []
    for plate in ("P1", "P2"):
        well = 0
        for p_index, (pert, target) in enumerate(PERTURBATIONS.items()):
            for _ in range(wells_per_perturbation if pert != "DMSO" else 6):
                well += 1
                centre = np.zeros(n_features)
                if target != "control":
                    centre[target_shift[target]:target_shift[target] + 3] += 8.0
                    centre[3 + (p_index % 2) * 6:6 + (p_index % 2) * 6] += 2.0
                for _cell in range(cells_per_well):
                    rows.append({"Metadata_Plate": plate, "Metadata_Well": f"W{well:02d}",
                                 "Metadata_Perturbation": pert, "Metadata_Target": target,
                                 "Metadata_Control": pert == "DMSO",
                                 **{f"f{i}": v for i, v in
                                    enumerate(centre + noise * rng.normal(size=n_features))}})
    return pd.DataFrame(rows)


def test_profiles_are_well_medians_normalised_to_controls_with_the_same_features():
    cells = _cells()
    profiles, settings = build_profiles(cells)
    assert len(profiles) == cells.groupby(["Metadata_Plate", "Metadata_Well"]).ngroups
    assert settings.kept_features and set(settings.kept_features) <= {f"f{i}" for i in range(12)}
    controls = profiles[profiles["Metadata_Control"]]
    # mad_robustize: the controls' median of every kept feature is 0 on each plate.
    for _, plate in controls.groupby("Metadata_Plate"):
        assert np.abs(plate[list(settings.kept_features)].median()).max() < 1e-9
    virtual, same = build_profiles(_cells(seed=5), keep=settings.kept_features)
    assert same.kept_features == settings.kept_features
    assert [c for c in virtual.columns if c.startswith("f")] == list(settings.kept_features)
    assert settings.to_json()["normalisation"] == "mad_robustize"


def test_separated_perturbations_have_map_one_and_shuffled_labels_about_chance():
    # Shifts of 8 (target) and 2 (own) against unit noise. Cosine similarity ranks the (near-zero, hence
    # randomly pointing) control profiles, so an occasional control outranks a replicate:
    # mAP is near, not always exactly, 1.
    profiles, _ = build_profiles(_cells(n_features=24))
    activity = phenotypic_activity(profiles, null_size=2000)
    assert set(activity["Metadata_Perturbation"]) == {"noc", "col", "fccp", "rot"}
    assert activity["map"].min() > 0.9 and activity["map"].mean() > 0.97
    assert (activity["map"] == 1.0).sum() >= 2
    assert activity["retrieved"].all()
    consistency = phenotypic_consistency(profiles, null_size=2000)
    assert set(consistency["Metadata_Target"]) == {"microtubule", "mitochondria"}
    assert consistency["map"].to_numpy() == pytest.approx(1.0)  # 2 per target: one rank
    # The same profiles with their labels (perturbation and control) shuffled across wells:
    # nothing is retrieved and mAP is near what random ranking gives.
    rng = np.random.default_rng(1)
    shuffled = profiles.copy()
    order = rng.permutation(len(shuffled))
    for column in ("Metadata_Perturbation", "Metadata_Target", "Metadata_Control"):
        shuffled[column] = shuffled[column].to_numpy()[order]
    chance = phenotypic_activity(shuffled, null_size=2000)
    # Random ranking of a query's positives among the controls gives about 0.4 here.
    assert 0.2 < chance["map"].mean() < 0.6
    assert not chance["retrieved"].any()


def test_agreement_of_real_and_virtual_map():
    real = pd.DataFrame({"Metadata_Perturbation": list("abcd"), "map": [0.9, 0.5, 0.3, 0.1],
                         "retrieved": [True, True, False, False]})
    virtual = real.assign(map=[0.8, 0.6, 0.2, 0.15], retrieved=[True, False, False, False])
    out = agreement(real, virtual)
    assert out["spearman"] == pytest.approx(1.0) and out["pearson"] > 0.95
    assert out["retrieved_real"] == 0.5 and out["retrieved_virtual"] == 0.25
    assert np.isnan(agreement(real.iloc[:2], virtual.iloc[:2])["pearson"])


def test_profile_errors_name_what_is_missing():
    cells = _cells()
    with pytest.raises(MetricError, match="Metadata_Control"):
        build_profiles(cells.drop(columns="Metadata_Control"))
    no_controls = cells[~cells["Metadata_Control"]]
    with pytest.raises(MetricError, match="plate P1 has no control profiles"):
        build_profiles(no_controls)
    with pytest.raises(MetricError, match="not in these profiles"):
        build_profiles(cells, keep=["nonexistent"])
    assert ProfileSettings().strata == ("Metadata_Plate", "Metadata_Well")
