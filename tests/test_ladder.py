"""The known-answer ladder (``vsbench validate-tiers``): stains of known order, scored as
submissions on the ``synthetic`` dataset's test split (the default, ``synthetic-graded``, is
3.5x larger; its ladder is benchmarks/results/ladder-synthetic-graded.json), ordered as they
must be by the tiers that can, and the limits the boards state for those that cannot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import all_tiers
from vsbench.cli import app
from vsbench.ladder import check_orders, expected_orders, make_rungs
from vsbench.leaderboard.tiers import LADDER_NOTES
from vsbench.tiers import profiles


def test_the_rungs_are_what_they_say():
    rng = np.random.default_rng(0)
    real = rng.random((4, 2, 16, 16)).astype(np.float32)
    rungs = {r.name: r.stain for r in make_rungs(real, ["a", "a", "b", "b"], noise=(0.1,),
                                                 blur=(2.0,))}
    assert list(rungs) == ["real", "noise-0.1", "blur-2", "swapped-biology", "mean-image",
                           "channel-swap"]
    assert np.array_equal(rungs["real"], real)
    assert abs(float((rungs["noise-0.1"] - real).std()) - 0.1) < 0.02  # clipping shrinks it
    assert rungs["blur-2"].std() < real.std()
    assert np.array_equal(rungs["channel-swap"][:, 0], real[:, 1])
    assert np.allclose(rungs["mean-image"][0], real.mean(0))
    swapped = rungs["swapped-biology"]  # each field takes another perturbation's values
    for i, others in ((0, (2, 3)), (2, (0, 1))):
        assert any(np.allclose(np.sort(swapped[i, 0].ravel()), np.sort(real[j, 0].ravel()),
                               atol=1e-6) for j in others)
    for rung in rungs.values():
        assert rung.shape == real.shape and rung.min() >= 0 and rung.max() <= 1


def test_check_orders_counts_a_tie_as_not_told_apart():
    scores = {"real": {"pixel PCC": 1.0, "nuclei F1": 1.0}, "noise-0.1": {"pixel PCC": 0.9,
                                                                          "nuclei F1": 1.0},
              "noise-0.2": {"pixel PCC": 0.8, "nuclei F1": float("nan")}}
    found = {(o["better"], o["worse"], o["tier"]): o["ordered"] for o in check_orders(scores)}
    assert found[("real", "noise-0.1", "pixel PCC")] and found[("noise-0.1", "noise-0.2",
                                                                "pixel PCC")]
    assert not found[("real", "noise-0.1", "nuclei F1")]  # a tie: not told apart
    assert found[("real", "noise-0.2", "nuclei F1")]  # not scored at all counts as below
    assert ("noise-0.1", "noise-0.2") in {(a, b) for a, b, _ in expected_orders(list(scores))}


@pytest.fixture(scope="module")
def ladder(tmp_path_factory):
    root = tmp_path_factory.mktemp("ladder")
    patch = all_tiers()
    try:
        out = CliRunner().invoke(app, ["validate-tiers", "--dataset", "synthetic", "--results",
                                       str(root / "res"), "--data-root", str(root / "data")],
                                 env={"COLUMNS": "200"})
    finally:
        patch.undo()
    assert out.exit_code == 0, out.output
    return json.loads((root / "res" / "ladder.json").read_text()), out.output


def test_every_tier_orders_what_it_can(ladder):
    record, output = ladder
    scores = record["scores"]
    assert list(scores) == ["real", "noise-0.05", "noise-0.1", "noise-0.2", "blur-1",
                            "blur-2", "blur-4", "swapped-biology", "mean-image",
                            "channel-swap"]
    missed = {(o["better"], o["worse"], o["tier"]) for o in record["orders"]
              if not o["ordered"]}
    # the pixel and feature tiers order the whole ladder; swapped biology keeps its pixels
    for tier in ("pixel PCC", "pixel SSIM", "median feature r"):
        assert not {m for m in missed if m[2] == tier}, tier
    assert scores["swapped-biology"]["pixel PCC"] > scores["noise-0.05"]["pixel PCC"]
    swapped, noisy = scores["swapped-biology"], scores["noise-0.05"]
    assert swapped["median feature r"] < noisy["median feature r"]
    # nuclei F1: every order but the two smallest noise levels, as its board says
    assert {m for m in missed if m[2] == "nuclei F1"} <= {("noise-0.05", "noise-0.1",
                                                           "nuclei F1")}
    assert "nuclei F1 does not separate small noise" in LADDER_NOTES["instance"]
    # cross-modal retrieval puts gross failures below the real stain ...
    for worse in ("noise-0.2", "blur-2", "blur-4", "mean-image", "channel-swap"):
        assert ("real", worse, "cross-modal mAP") not in missed, worse
    # ... while the activity mAP rewards noise: the limit its board names
    assert scores["noise-0.05"]["activity mAP"] > scores["real"]["activity mAP"]
    assert "activity mAP ranks noisy, blurred" in profiles.ladder_note(["synthetic"])
    assert "expected orders right" in output
    # the posterior tier on ensembles of known spread around the same real stains
    assert all(c["ok"] for c in record["posterior_checks"]), record["posterior_checks"]
    assert "posterior tier: 4-sample ensembles of known spread" in output


def test_posterior_rungs_order_spread_and_land_on_the_formulas():
    """Samples as wide as the truth's spread are calibrated: outside_range 2/(S+1) exactly
    (0.40 at 4 samples), coverage near (S-1)/(S+1) x level; half as wide covers less and
    misses the range more, twice as wide the opposite."""
    from vsbench.ladder import check_posterior, posterior_rungs

    rng = np.random.default_rng(0)
    real = rng.uniform(0.2, 0.8, (6, 2, 32, 32))
    scores = posterior_rungs(real)
    assert scores["calibrated"]["outside_range"] == pytest.approx(0.4, abs=0.02)
    assert scores["too narrow (x0.5)"]["outside_range"] > 0.55
    assert scores["too wide (x2)"]["coverage_50"] > 0.42
    assert all(c["ok"] for c in check_posterior(scores))
    # a check that fails is reported as such, not hidden
    swapped = {**scores, "calibrated": scores["too wide (x2)"]}
    assert not all(c["ok"] for c in check_posterior(swapped))


def test_the_profile_board_states_the_ladder_of_its_own_dataset():
    import pandas as pd

    notes = {d: profiles.board_notes(pd.DataFrame({"dataset": [d], "method": ["unet"]}))[0]
             for d in ("synthetic", "synthetic-graded", "my-plates")}
    assert "2 replicate wells on this dataset" in notes["synthetic"]
    assert "10 perturbations, 4 replicate wells" in notes["synthetic-graded"]
    assert "validate-tiers --dataset NAME" in notes["my-plates"]
    assert len(set(notes.values())) == 3
