"""A run's biological tiers: saved test predictions, the tier files and summary, the ground
truth cached across runs, and `vsbench evaluate` on a finished run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.conftest import all_tiers
from vsbench.cli import app
from vsbench.engine import RunRequest, run_benchmark
from vsbench.engine.predictions import load_test_predictions, save_test_predictions
from vsbench.errors import ResultsError
from vsbench.layout import (CELL_FEATURES_FILE, FEATURE_SCORES_FILE, METRICS_FILE,
                            PER_IMAGE_INSTANCE_FILE, TEST_PREDICTIONS_FILE)
from vsbench.store import RunFolder

TINY = {"image_size": 32, "epochs": 1, "max_train_images": 8, "n_preview": 2,
        "tensorboard": False}
runner = CliRunner()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two tiny unet runs (seeds 0 and 1) on one data root."""
    root = tmp_path_factory.mktemp("tiers")
    patch = all_tiers()
    try:
        results = [run_benchmark(RunRequest(dataset="synthetic",
                                            method="unet", seed=seed, overrides=TINY,
                                            device="cpu", results_dir=root / "res",
                                            data_root=root / "data"),
                                 Console(quiet=True)) for seed in (0, 1)]
    finally:
        patch.undo()
    return root, results


def test_a_run_keeps_its_predictions_and_scores_both_tiers(two_runs):
    root, (first, _) = two_runs
    saved = load_test_predictions(first.folder)
    assert saved.prediction.dtype == np.float16 and saved.prediction.shape[1:] == (5, 32, 32)
    assert len(saved.sample_ids) == first.metrics.n_test_images == len(saved.prediction)
    assert saved.channels == ("DNA", "ER", "RNA", "AGP", "Mito")
    assert 0 <= saved.prediction.min() and saved.prediction.max() <= 1
    summary = first.metrics.biometrics
    assert summary["tiers"] == ["instance", "features"]
    assert summary["segmenter"]["name"] == "watershed"
    assert set(summary["instance"]) == {"nuclei", "cells"}
    assert summary["features"]["settings"]["texture_gray_levels"] == 64
    for name in (PER_IMAGE_INSTANCE_FILE, CELL_FEATURES_FILE, FEATURE_SCORES_FILE):
        assert (first.folder / name).is_file(), name
    on_disk = json.loads((first.folder / METRICS_FILE).read_text())
    assert on_disk["biometrics"]["instance"] == summary["instance"]
    # schema 3: every tier's status beside the summaries
    assert on_disk["schema_version"] == 3
    assert on_disk["tiers"]["instance"] == on_disk["tiers"]["features"] == {
        "status": "scored", "reason": None}
    assert list((root / "data" / "synthetic" / "biometrics").glob("*.npz"))


def test_the_second_run_reads_the_ground_truth_from_the_cache(two_runs):
    _, (first, second) = two_runs
    assert first.metrics.biometrics["ground_truth"]["from_cache"] is False
    assert second.metrics.biometrics["ground_truth"] == {
        **first.metrics.biometrics["ground_truth"], "from_cache": True}


def test_predictions_round_trip_and_a_missing_file_names_the_fix(tmp_path):
    values = np.random.default_rng(0).random((3, 2, 8, 8)) * 1.2 - 0.1
    save_test_predictions(tmp_path, values, ["a", "b", "c"], ["DNA", "AGP"])
    back = load_test_predictions(tmp_path)
    assert back.sample_ids == ("a", "b", "c") and back.channels == ("DNA", "AGP")
    np.testing.assert_allclose(back.prediction, np.clip(values, 0, 1), atol=5e-4)
    with pytest.raises(ResultsError, match=r"no test_predictions.npz .*re-run it"):
        load_test_predictions(tmp_path / "elsewhere")


def test_vsbench_evaluate_rescores_a_run_as_it_scored_itself(two_runs, tmp_path):
    _, (first, _) = two_runs
    copy = tmp_path / "runs" / "synthetic" / "unet" / first.folder.name
    shutil.copytree(first.folder, copy)
    (copy / PER_IMAGE_INSTANCE_FILE).unlink()
    before = json.loads((copy / METRICS_FILE).read_text())
    stripped = {k: v for k, v in before.items() if k != "biometrics"}
    (copy / METRICS_FILE).write_text(json.dumps(stripped))  # as a run made before the tiers
    out = runner.invoke(app, ["evaluate", "--tier", "instance", str(copy)],
                        env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    f1 = before["biometrics"]["instance"]["nuclei"]["f1"]
    assert f"nuclei F1 {f1:.3f}" in out.output  # the tier headlines, under the run's name
    assert "features  │ not scored" in out.output and str(copy) in out.output
    after = json.loads((copy / METRICS_FILE).read_text())
    assert after["biometrics"]["tiers"] == ["instance"]
    assert after["biometrics"]["instance"] == before["biometrics"]["instance"]
    assert {k: v for k, v in after.items() if k != "biometrics"} == stripped
    assert (copy / PER_IMAGE_INSTANCE_FILE).read_text() == (
        first.folder / PER_IMAGE_INSTANCE_FILE).read_text()
    out = runner.invoke(app, ["evaluate", "--tier", "features", str(copy)])
    assert out.exit_code == 0, out.output
    again = json.loads((copy / METRICS_FILE).read_text())["biometrics"]
    assert again["tiers"] == ["instance", "features"]
    assert again["features"]["channels"] == before["biometrics"]["features"]["channels"]
    assert RunFolder(copy).state() == "completed"


def test_vsbench_evaluate_refuses_what_it_cannot_score(two_runs, tmp_path):
    _, (first, _) = two_runs
    old = tmp_path / "old"
    shutil.copytree(first.folder, old)
    (old / TEST_PREDICTIONS_FILE).unlink()
    metrics = (old / METRICS_FILE).read_text()
    out = runner.invoke(app, ["evaluate", str(old)])
    assert out.exit_code == 2
    assert f"{old}: no test_predictions.npz" in out.output and "re-run it" in out.output
    assert (old / METRICS_FILE).read_text() == metrics  # untouched
    RunFolder(old).set_state("running")
    out = runner.invoke(app, ["evaluate", str(old)])
    assert out.exit_code == 2 and "the run is running, not completed" in out.output
    out = runner.invoke(app, ["evaluate", "--tier", "pixels", str(first.folder)])
    assert out.exit_code == 2 and "--tier pixels: choose one of instance, features, profiles, posterior, all" in (
        out.output)


pytestmark = [pytest.mark.e2e, pytest.mark.tiers]
