"""The posterior tier's scores against their definitions and against known distributions."""

import itertools

import numpy as np
import pytest

from vsbench.posterior import (PosteriorScores, calibrated_coverage, calibrated_outside,
                               crps_ensemble, diversity, ensemble_scores, interval_coverage,
                               truth_ranks)


def _crps_by_definition(samples, y, fair=True):
    """E|X - y| - 1/2 E|X - X'| over the ensemble, by explicit pairs (fair: distinct pairs
    only)."""
    s = len(samples)
    first = sum(abs(x - y) for x in samples) / s
    pairs = sum(abs(a - b) for a, b in itertools.product(samples, repeat=2))
    return first - 0.5 * pairs / (s * (s - 1) if fair else s * s)


def _crps_normal(y):
    """The CRPS of N(0, 1) at ``y`` in closed form (Gneiting and Raftery 2007)."""
    from scipy.stats import norm

    return y * (2 * norm.cdf(y) - 1) + 2 * norm.pdf(y) - 1 / np.sqrt(np.pi)


def test_crps_equals_its_definition_elementwise():
    rng = np.random.default_rng(0)
    samples, target = rng.normal(size=(7, 3, 4)), rng.normal(size=(3, 4))
    for fair in (True, False):
        fast = crps_ensemble(samples, target, fair=fair)
        for i, j in itertools.product(range(3), range(4)):
            assert fast[i, j] == pytest.approx(
                _crps_by_definition(samples[:, i, j], target[i, j], fair))


def test_the_fair_crps_of_a_small_ensemble_is_the_distributions_and_the_biased_one_is_not():
    """4 samples of N(0, 1) against truths from N(0, 1): the fair CRPS averages to the
    distribution's expected CRPS, 1 / sqrt(pi); the S x S form is higher by E|X - X'| / 2S
    = (2 / sqrt(pi)) / 8, which would rank a 4-sample ensemble below a 16-sample one of the
    same distribution."""
    rng = np.random.default_rng(7)
    truth = rng.normal(size=200_000)
    expected = 1 / np.sqrt(np.pi)  # E over y ~ N(0, 1) of the CRPS of N(0, 1)
    assert float(np.mean(_crps_normal(truth[:50_000]))) == pytest.approx(expected, rel=0.01)
    small = rng.normal(size=(4, truth.size))
    assert crps_ensemble(small, truth).mean() == pytest.approx(expected, rel=0.01)
    biased = crps_ensemble(small, truth, fair=False).mean()
    assert biased == pytest.approx(expected + (2 / np.sqrt(np.pi)) / 8, rel=0.01)
    large = rng.normal(size=(16, truth.size))
    assert crps_ensemble(large, truth).mean() == pytest.approx(
        crps_ensemble(small, truth).mean(), rel=0.01)


@pytest.mark.parametrize("draw", ["uniform", "normal", "exponential"])
def test_the_rank_histogram_is_flat_for_a_calibrated_ensemble_of_any_distribution(draw):
    """Distribution-free, unlike the interpolated interval coverage: the truth's rank among
    4 samples of its own distribution is uniform on 0..4, so 2/5 lie outside the range; an
    ensemble half as wide misses more; values clipped to 0 (ties) still give a flat
    histogram."""
    rng = np.random.default_rng(11)
    samples, truth = (getattr(rng, draw)(size=(4, 100_000)), getattr(rng, draw)(size=100_000))
    counts = np.bincount(truth_ranks(samples, truth), minlength=5) / truth.size
    assert counts == pytest.approx([0.2] * 5, abs=0.01)
    scores = ensemble_scores(samples, truth)
    assert scores["outside_range"] == pytest.approx(calibrated_outside(4), abs=0.01)
    narrow = ensemble_scores(np.median(samples, 0) + 0.5 * (samples - np.median(samples, 0)),
                             truth)
    assert narrow["outside_range"] > scores["outside_range"] + 0.1
    clipped = np.clip(samples - 0.5, 0, None), np.clip(truth - 0.5, 0, None)
    counts = np.bincount(truth_ranks(*clipped), minlength=5) / truth.size
    assert counts == pytest.approx([0.2] * 5, abs=0.01)


def test_crps_of_a_point_mass_is_the_mae_and_a_gaussian_matches_theory():
    rng = np.random.default_rng(1)
    target = rng.random((8, 8))
    point = np.repeat(rng.random((1, 8, 8)), 5, axis=0)
    assert crps_ensemble(point, target) == pytest.approx(np.abs(point[0] - target))
    assert crps_ensemble(point[:1], target) == pytest.approx(np.abs(point[0] - target))
    # CRPS of N(0, 1) at y = 0 is (sqrt(2) - 1) / sqrt(pi); a large ensemble approaches it.
    big = rng.normal(size=(4000, 1))
    assert crps_ensemble(big, np.zeros(1))[0] == pytest.approx(
        (np.sqrt(2) - 1) / np.sqrt(np.pi), abs=0.01)


def test_coverage_is_nominal_for_the_true_distribution_and_low_when_too_narrow():
    rng = np.random.default_rng(2)
    truth = rng.normal(size=(64, 64))
    honest = rng.normal(size=(200, 64, 64))
    narrow = 0.3 * rng.normal(size=(200, 64, 64))
    cover = interval_coverage(honest, truth)
    assert cover[0.5] == pytest.approx(0.5, abs=0.03) and cover[0.9] == pytest.approx(0.9, abs=0.03)
    tight = interval_coverage(narrow, truth)
    assert tight[0.5] < 0.25 and tight[0.9] < 0.5
    assert diversity(honest) == pytest.approx(1.0, abs=0.02) and diversity(honest[:1]) == 0.0


def test_a_small_calibrated_ensemble_covers_level_times_s_minus_1_over_s_plus_1():
    rng = np.random.default_rng(5)
    for n in (2, 4, 8):  # exact for uniform values, about right for others
        for draw, tolerance in ((rng.random, 0.006), (rng.standard_normal, 0.03)):
            truth, honest = draw((256, 256)), draw((n, 256, 256))  # one distribution
            cover = interval_coverage(honest, truth)
            for level in (0.5, 0.9):
                assert cover[level] == pytest.approx(calibrated_coverage(level, n),
                                                     abs=tolerance)
    assert calibrated_coverage(0.9, 4) == pytest.approx(0.54)
    assert calibrated_coverage(0.5, 4) == pytest.approx(0.30)
    assert calibrated_coverage(0.9, 1) == 0 and calibrated_coverage(0.9, 10**6) == pytest.approx(
        0.9, abs=1e-5)
    scores = PosteriorScores(["A"])
    scores.add("x", rng.normal(size=(4, 1, 8, 8)), rng.normal(size=(1, 8, 8)))
    summary = scores.summary()
    assert summary["calibrated_coverage"] == {"coverage_50": pytest.approx(0.3),
                                              "coverage_90": pytest.approx(0.54)}
    assert summary["calibration"]["calibrated"][4] == pytest.approx(0.3)  # level 0.5


def test_ensemble_scores_and_shape_errors():
    rng = np.random.default_rng(3)
    samples, target = rng.random((4, 16, 16)), rng.random((16, 16))
    scores = ensemble_scores(samples, target)
    assert set(scores) == {"crps", "diversity", "mae_first", "mae_mean", "coverage_50",
                           "coverage_90", "outside_range"}
    # The pair term is never negative: CRPS is at most the samples' mean absolute error.
    assert scores["crps"] <= np.abs(samples - target).mean() + 1e-12
    assert scores["mae_first"] == pytest.approx(np.abs(samples[0] - target).mean())
    with pytest.raises(ValueError, match="must be \\(S, \\*target.shape\\)"):
        ensemble_scores(samples, target[:8])
