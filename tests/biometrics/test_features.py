"""cp-measure features of real and predicted fields, and their agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tests.biometrics.scenes import CHANNELS, fields
from vsbench.biometrics.feature_scores import score_feature, score_features, summarize
from vsbench.biometrics.features import FeatureSettings, measure_field
from vsbench.biometrics.segmentation import WatershedSegmenter


@pytest.fixture(scope="module")
def measured():
    """Six fields (24 cells), their cells, and the real fields' features."""
    images = fields(6)
    cells = [WatershedSegmenter().segment(image, CHANNELS).cells for image in images]
    real = [measure_field(image, c, CHANNELS, FeatureSettings()) for image, c in
            zip(images, cells)]
    return images, cells, real


def test_every_feature_set_and_channel_pair_is_measured_per_object(measured):
    _, cells, real = measured
    features = real[0]
    assert {c for c, _ in features} == {*CHANNELS, *(f"{a}|{b}" for i, a in enumerate(CHANNELS)
                                                     for b in CHANNELS[i + 1:])}
    names = {f for c, f in features if c == "DNA"}
    for prefix in ("Intensity_MeanIntensity", "Granularity_1", "RadialDistribution_FracAtD",
                   "Contrast_3"):
        assert any(n.startswith(prefix) for n in names), prefix
    assert not any(n.startswith("Location_") for n in names)
    assert all(len(v) == cells[0].max() for v in features.values())
    # Mean intensity is what it says: the mean of the object's pixels.
    image = fields(1)[0]
    mean = features[("ER", "Intensity_MeanIntensity")][0]
    assert mean == pytest.approx(image[1][cells[0] == 1].mean())


def test_identical_images_correlate_at_one(measured):
    images, cells, real = measured
    again = [measure_field(image.copy(), c, CHANNELS, FeatureSettings())
             for image, c in zip(images, cells)]
    scores = score_features(real, again)
    defined = [s for s in scores if not math.isnan(s.pearson)]
    assert len(defined) > 0.8 * len(scores)
    assert all(s.pearson == pytest.approx(1.0) and s.spearman == pytest.approx(1.0)
               and s.median_error == pytest.approx(0.0, abs=1e-12) for s in defined)
    summary = summarize(scores)
    assert all(v["fraction_good"] == 1.0 for v in summary.values())


def test_agreement_falls_as_noise_grows(measured):
    images, cells, real = measured
    rng = np.random.default_rng(0)
    medians = []
    for sigma in (0.01, 0.05, 0.2):
        noisy = np.clip(images + rng.normal(0, sigma, images.shape), 0, 1)
        pred = [measure_field(n, c, CHANNELS, FeatureSettings()) for n, c in zip(noisy, cells)]
        summary = summarize(score_features(real, pred))
        medians.append(np.mean([summary[c]["median_pearson"] for c in CHANNELS]))
    assert medians[0] > medians[1] > medians[2]
    assert medians[0] > 0.85 and medians[2] < medians[0] - 0.15


def test_score_feature_against_scipy():
    rng = np.random.default_rng(1)
    real = rng.random(40)
    pred = real + rng.normal(0, 0.3, 40)
    pred[3] = np.nan  # undefined values are left out, pairwise
    score = score_feature("DNA", "f", real, pred)
    keep = np.isfinite(pred)
    assert score.n_objects == 39
    assert score.pearson == pytest.approx(stats.pearsonr(real[keep], pred[keep])[0])
    assert score.spearman == pytest.approx(stats.spearmanr(real[keep], pred[keep])[0])
    assert score.median_error == pytest.approx(
        abs(np.median(pred[keep]) - np.median(real[keep])) / abs(np.median(real[keep])))
    constant = score_feature("DNA", "g", np.ones(10), rng.random(10))
    assert math.isnan(constant.pearson) and math.isnan(constant.spearman)


def test_summary_counts_good_and_undefined_features():
    rng = np.random.default_rng(2)
    real = rng.random(30)
    scores = [score_feature("ER", "same", real, real),
              score_feature("ER", "noise", real, rng.random(30)),
              score_feature("ER", "flat", np.ones(30), real)]
    summary = summarize(scores)["ER"]
    assert summary["n_features"] == 3 and summary["n_defined"] == 2
    assert summary["fraction_good"] == 0.5
    assert summary["median_pearson"] == pytest.approx(np.median([1.0, scores[1].pearson]))
