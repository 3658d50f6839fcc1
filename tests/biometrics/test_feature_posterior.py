"""The posterior tier's cell features: every sample measured on the ground truth's cells, the
CRPS of each feature scaled by its between-cell spread, checked against its definition."""

from __future__ import annotations

import numpy as np
import pytest

from tests.biometrics.scenes import CHANNELS, fields
from vsbench.biometrics.feature_posterior import (FeatureEnsembles, feature_ensembles,
                                                  settings_from_json)
from vsbench.biometrics.features import FeatureSettings, measure_field
from vsbench.biometrics.ground_truth import compute, save
from vsbench.biometrics.segmentation import WatershedSegmenter

# intensity only: the definitions are checked on every feature, quickly
SETTINGS = FeatureSettings(feature_sets=("intensity",), cross_channel=False)


@pytest.fixture(scope="module")
def truth():
    images = fields(4).astype(np.float32)  # as a run's real stains
    ids = [f"f{i}" for i in range(len(images))]
    return images, compute(images, ids, CHANNELS, WatershedSegmenter(), SETTINGS)


def noisy(image: np.ndarray, n: int, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image[None] + rng.normal(0, sigma, (n, *image.shape)), 0, 1)


def test_crps_and_coverage_of_each_feature_match_their_definitions(truth):
    images, gt = truth
    ensembles = FeatureEnsembles(gt, CHANNELS, SETTINGS)
    samples = {sid: noisy(images[i], 3, 0.05, i) for i, sid in enumerate(gt.sample_ids)}
    for sid, ensemble in samples.items():
        ensembles.add(sid, ensemble)
    rows = {(r["channel"], r["feature"]): r for r in ensembles.rows()}
    key = ("ER", "Intensity_MeanIntensity")
    # direct: measure every sample myself, pool the cells of all fields
    x = np.concatenate([np.stack([measure_field(np.clip(s, 0, 1).astype(np.float32),
                                                gt.measure_objects(i), CHANNELS,
                                                SETTINGS)[key] for s in samples[sid]])
                        for i, sid in enumerate(gt.sample_ids)], axis=1)
    y = np.concatenate([gt.features[i][key] for i in range(len(gt.sample_ids))])
    s = len(x)  # the fair CRPS: the pair term over the s (s - 1) distinct pairs
    crps = (np.abs(x - y).mean(0) - 0.5 * np.abs(x[:, None] - x[None]).sum((0, 1)) / (s * (s - 1)))
    assert rows[key]["n_objects"] == len(y) == 16
    assert rows[key]["scale"] == pytest.approx(y.std())
    assert rows[key]["crps"] == pytest.approx(crps.mean() / y.std(), rel=1e-9)
    low, high = np.quantile(x, [0.05, 0.95], axis=0)
    assert rows[key]["coverage_90"] == pytest.approx(((y >= low) & (y <= high)).mean())
    assert rows[key]["spread"] == pytest.approx((x.std(0) / y.std()).mean())
    # per field: the median over the channel's features of the field's mean scaled CRPS
    per_image = {(r["sample_id"], r["channel"]): r for r in ensembles.per_image()}
    assert len(per_image) == 4 * len(CHANNELS)
    scored = ensembles.scored()
    er = [k for k in scored if k[0] == "ER"]
    mine = [scored[k]["crps"][scored[k]["owner"] == "f0"].mean() for k in er]
    assert per_image[("f0", "ER")]["feature_crps"] == pytest.approx(np.median(mine))
    summary = ensembles.summary()
    assert summary["n_samples"] == 3 and summary["objects"] == "cells"
    assert summary["channels"]["ER"]["median_crps"] == pytest.approx(
        np.median([r["crps"] for k, r in rows.items() if k[0] == "ER"]))
    assert summary["average"]["coverage_90"] == pytest.approx(
        np.mean([summary["channels"][c]["coverage_90"] for c in CHANNELS]))


def test_the_truth_itself_scores_zero_and_a_point_mass_its_scaled_error(truth):
    images, gt = truth
    exact, point = FeatureEnsembles(gt, CHANNELS, SETTINGS), FeatureEnsembles(gt, CHANNELS,
                                                                              SETTINGS)
    for i, sid in enumerate(gt.sample_ids):
        exact.add(sid, np.stack([images[i]] * 3).astype(np.float32))
        point.add(sid, noisy(images[i], 1, 0.1, 10 + i))
    for row in exact.rows():
        assert row["crps"] == pytest.approx(0, abs=1e-9) and row["coverage_90"] == 1.0
        assert row["spread"] == pytest.approx(0, abs=1e-12)
    wider = FeatureEnsembles(gt, CHANNELS, SETTINGS)
    for i, sid in enumerate(gt.sample_ids):
        wider.add(sid, noisy(images[i], 1, 0.3, 10 + i))
    # one sample: CRPS is the scaled absolute error; more noise, larger error
    point_rows = {(r["channel"], r["feature"]): r for r in point.rows()}
    assert wider.summary()["average"]["median_crps"] > point.summary()["average"]["median_crps"]
    key = ("DNA", "Intensity_MeanIntensity")
    x = np.concatenate([point._values[key][i][1][0] for i in range(4)])
    y = np.concatenate([point._values[key][i][2] for i in range(4)])
    assert point_rows[key]["crps"] == pytest.approx(np.abs(x - y).mean() / y.std())
    assert point_rows[key]["spread"] == 0  # one sample: no spread
    assert point_rows[key]["coverage_90"] == 0  # a point mass covers no real value


def test_the_accumulator_is_built_from_a_runs_feature_tier_summary(truth, tmp_path):
    _, gt = truth
    save(tmp_path / "abc.npz", gt)
    summary = {"tiers": ["instance", "features"], "ground_truth": {"cache_key": "abc"},
               "features": {"settings": SETTINGS.to_json()}}
    ensembles, note = feature_ensembles(summary, tmp_path, CHANNELS)
    assert note is None and ensembles.truth.sample_ids == gt.sample_ids
    assert ensembles.settings == SETTINGS
    assert settings_from_json(FeatureSettings().to_json()) == FeatureSettings()
    missing, note = feature_ensembles({**summary, "ground_truth": {"cache_key": "zz"}},
                                      tmp_path, CHANNELS)
    assert missing is None and "ground truth zz is not in the data root's cache" in note
    none, note = feature_ensembles({"skipped": "no DNA"}, tmp_path, CHANNELS)
    assert none is None and "no DNA" in note
    with pytest.raises(ValueError, match="field nope is not in the ground truth"):
        ensembles.add("nope", np.zeros((1, 5, 64, 64)))
