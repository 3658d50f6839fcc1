"""The example third-party tier (examples/vsbench-example-tier), installed as a distribution
with a ``vsbench`` entry point: without an edit inside vsbench it is scored by ``run``,
``evaluate`` and ``score``, ranked by ``compare --tier histogram`` and given a section of the
report."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

import vsbench.plugins as plugins
from tests.conftest import REPO, TINY, install_fake_distribution, invoke
from vsbench.engine.predictions import load_test_predictions

EXAMPLE_TIER = REPO / "examples" / "vsbench-example-tier"


@pytest.fixture
def tier_installed(tmp_path, monkeypatch):
    """The example tier as an installed distribution on this process's path; the registry is
    built again with it, and without it afterwards."""
    site = tmp_path / "site"
    install_fake_distribution(site, "vsbench-example-tier", "0.1.0",
                              {"histogram": "vsbench_example_tier"})
    monkeypatch.syspath_prepend(str(EXAMPLE_TIER))
    monkeypatch.syspath_prepend(str(site))
    # only the pixel tier and the example's: the built-in biological tiers are tested elsewhere
    monkeypatch.setenv("VSBENCH_TIERS", "pixel,histogram")
    plugins.default_registry.cache_clear()
    yield
    plugins.default_registry.cache_clear()


def test_its_distance_is_the_wasserstein_distance(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE_TIER))
    # the example package is read from examples/, not installed: not a dependency of vsbench
    wasserstein_1 = importlib.import_module("vsbench_example_tier").wasserstein_1

    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 1, (16, 16)), rng.beta(2, 5, (16, 16))
    assert wasserstein_1(a, b) == pytest.approx(wasserstein_distance(a.ravel(), b.ravel()))
    assert wasserstein_1(a, rng.permutation(a.ravel()).reshape(a.shape)) == 0.0


def _cli(*args) -> str:
    out = invoke([str(a) for a in args])
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_the_example_tier_runs_through_every_command(tier_installed, tmp_path):
    from vsbench.tiers.registry import all_tiers

    assert "histogram" in all_tiers()
    results, data = tmp_path / "res", tmp_path / "data"
    output = _cli("run", "--dataset", "synthetic",
                  "--method", "unet", "--results", results, "--data-root", data, *TINY)
    assert "intensity histogram distance (Wasserstein-1, Average over channels)" in output
    [folder] = (results / "runs" / "synthetic" / "unet").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    entry = metrics["tiers"]["histogram"]
    assert entry["status"] == "scored" and entry["summary"]["n_images"] == 24
    assert metrics["tiers"]["instance"]["status"] == "skipped"  # VSBENCH_TIERS left it out
    table = pd.read_csv(folder / "per_image_histogram.csv", dtype={"sample_id": str})
    saved = load_test_predictions(folder)
    assert list(table["sample_id"]) == list(saved.sample_ids)
    assert entry["summary"]["average"] == pytest.approx(table["Average"].mean())
    assert 0 < entry["summary"]["average"] < 0.5

    # evaluate: scored again from the saved predictions, to the same numbers
    (folder / "per_image_histogram.csv").unlink()
    output = _cli("evaluate", "--tier", "histogram", folder, "--data-root", data)
    assert "histogram" in output
    again = pd.read_csv(folder / "per_image_histogram.csv", dtype={"sample_id": str})
    pd.testing.assert_frame_equal(again, table)

    # score: predictions made elsewhere (here the run's own, saved as .npy files)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for sid, image in zip(saved.sample_ids, saved.prediction):
        np.save(elsewhere / f"{sid}.npy", image.astype(np.float32))
    _cli("score", "--predictions", elsewhere, "--dataset", "synthetic", "--name", "resubmitted",
         "--results", results, "--data-root", data)
    [submitted] = (results / "runs" / "synthetic" / "resubmitted").iterdir()
    scored = json.loads((submitted / "metrics.json").read_text())["tiers"]["histogram"]
    assert scored["status"] == "scored"
    # the float16 rounding of the saved predictions is all that differs
    assert scored["summary"]["average"] == pytest.approx(entry["summary"]["average"], abs=1e-3)

    # compare: its own board, lower is better, over test images
    board = _cli("compare", "--results", results, "--tier", "histogram")
    assert "histogram tier: synthetic" in board and "hist_w1" in board.lower()
    assert "unet" in board and "resubmitted (submitted)" in board
    assert "pixels shuffled scores 0" in board  # the tier's own note

    # report: a section with its board and its figure
    _cli("report", "--results", results, "--out", tmp_path / "report", "--data-root", data)
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<h3>Histogram tier</h3>" in page and "<h4>histogram: hist_w1</h4>" in page
    assert 'alt="intensity histogram distance per channel"' in page
    assert "figures could not be drawn" not in page
