"""The hierarchical bootstrap (vsbench.resampling): checked against scipy's flat bootstrap, a
hand-computed seed-only case, and simulated designs whose clusters are known."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from vsbench.leaderboard.statistics import design_note, haralick_group
from vsbench.resampling import Design, interval, paired_p


def _frame(values, units):
    return pd.DataFrame({"x": values}, index=units)


def test_flat_design_with_one_seed_is_scipys_percentile_bootstrap():
    rng = np.random.default_rng(0)
    units = [f"u{i}" for i in range(60)]
    values = rng.normal(0.5, 0.1, 60)
    low, high = interval([_frame(values, units)], Design.of(units), ["x"], n_resamples=4000)
    ref = sps.bootstrap((values,), np.mean, n_resamples=4000, method="percentile",
                        rng=np.random.default_rng(1)).confidence_interval
    half = (ref.high - ref.low) / 2
    assert low[0] == pytest.approx(ref.low, abs=0.1 * half)
    assert high[0] == pytest.approx(ref.high, abs=0.1 * half)
    again = interval([_frame(values, units)], Design.of(units), ["x"], n_resamples=4000)
    assert np.array_equal(again[0], low) and np.array_equal(again[1], high)  # fixed seed


def test_seeds_alone_hand_computed():
    # Two seeds, every unit equal within a seed (0 and 1): a resample draws the seeds
    # {0,0}, {0,1}, {1,1} with probability 1/4, 1/2, 1/4, so its mean is 0, 0.5 or 1; the
    # seeds' part, rescaled by sqrt(2 / 1), gives 0.5 -+ 0.707: the 2.5 % and 97.5 %
    # quantiles are 0.5 - sqrt(2) / 2 and 0.5 + sqrt(2) / 2.
    units = [f"u{i}" for i in range(10)]
    runs = [_frame(np.zeros(10), units), _frame(np.ones(10), units)]
    low, high = interval(runs, Design.of(units), ["x"], n_resamples=4000)
    assert low[0] == pytest.approx(0.5 - np.sqrt(2) / 2)
    assert high[0] == pytest.approx(0.5 + np.sqrt(2) / 2)


def test_identical_sites_resample_as_their_wells():
    # Four identical sites per well: resampling wells (then sites) is the flat bootstrap of
    # the 12 well values; counting the 48 sites as independent halves the interval.
    rng = np.random.default_rng(3)
    wells = rng.normal(0.5, 0.1, 12)
    units = [f"w{w}_s{s}" for w in range(12) for s in range(4)]
    run = _frame(wells.repeat(4), units)
    clustered = Design.of(units, {u: u.split("_")[0] for u in units}, "wells")
    low, high = interval([run], clustered, ["x"], n_resamples=4000)
    ref = sps.bootstrap((wells,), np.mean, n_resamples=4000, method="percentile",
                        rng=np.random.default_rng(4)).confidence_interval
    assert (high[0] - low[0]) == pytest.approx(ref.high - ref.low, rel=0.1)
    flat = interval([run], Design.of(units), ["x"], n_resamples=4000)
    assert (flat[1][0] - flat[0][0]) == pytest.approx((high[0] - low[0]) / 2, rel=0.15)


def test_clustered_intervals_cover_where_flat_ones_do_not():
    hits = {"flat": 0, "wells": 0}
    trials = 80
    for t in range(trials):
        rng = np.random.default_rng(100 + t)
        units = [f"w{w}_s{s}" for w in range(12) for s in range(4)]
        run = _frame(0.5 + rng.normal(0, 0.05, 12).repeat(4) + rng.normal(0, 0.005, 48), units)
        for name, design in (("flat", Design.of(units)),
                             ("wells", Design.of(units, {u: u[:3] for u in units}, "wells"))):
            low, high = interval([run], design, ["x"], n_resamples=400, seed=t)
            hits[name] += bool(low[0] <= 0.5 <= high[0])
    assert hits["wells"] / trials >= 0.85
    assert hits["flat"] / trials <= 0.78


def test_paired_p_orders_known_cases():
    rng = np.random.default_rng(5)
    units = [f"w{w}_s{s}" for w in range(12) for s in range(2)]
    design = Design.of(units, {u: u.split("_")[0] for u in units}, "wells")
    base = rng.normal(0.5, 0.05, 24)
    a = [_frame(base + rng.normal(0, 0.01, 24), units) for _ in range(3)]
    better = [_frame(f["x"] + 0.05, units) for f in a]
    assert paired_p(a, a, design, "x", paired_seeds=True) == 1.0
    assert paired_p(better, a, design, "x") < 0.01
    # the same gap hidden by seeds: one seed of the worse row far above, one far below
    noisy = [_frame(base + d, units) for d in (0.2, -0.2, 0.05)]
    assert paired_p(noisy, [_frame(base, units)] * 3, design, "x") > 0.2
    # a unit one row lacks is left out of both
    short = [f.iloc[:-1] for f in better]
    assert paired_p(short, a, design, "x") < 0.01
    assert np.isnan(paired_p([f.iloc[:1] for f in a], a, design, "x"))


def test_haralick_angles_are_one_group_and_notes_say_what_is_resampled():
    assert haralick_group("Contrast_3_02_64") == "Contrast_3_64"
    assert haralick_group("Contrast_3_00_64") == haralick_group("Contrast_3_03_64")
    assert haralick_group("Intensity_MeanIntensity") == "Intensity_MeanIntensity"
    assert haralick_group("RadialDistribution_FracAtD_1of4") == "RadialDistribution_FracAtD_1of4"
    features = ["Contrast_3_00_64", "Contrast_3_01_64", "Intensity_MeanIntensity"]
    design = Design.of(features, {f: haralick_group(f) for f in features}, "features")
    assert design.n_clusters == 2
    assert "3 features as 2 groups" in design_note(design, "features", 3)
    images = Design.of(["a_s1", "a_s2", "b_s1"], {"a_s1": "a", "a_s2": "a", "b_s1": "b"},
                       "wells")
    assert "the 2 wells of the 3 test images, then the sites" in design_note(images,
                                                                           "test images", 3)
    assert "record no wells" in design_note(Design.of(["x", "y"]), "test images", 2)
