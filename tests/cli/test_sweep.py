"""vsbench sweep: the grid, skipping completed runs, submitit's local executor."""

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import TINY
from vsbench.cli import app
from vsbench.engine import RunRequest
from vsbench.sweep import run_sweep

runner = CliRunner()


def test_sweep_runs_grid_then_skips_completed(tmp_path):
    args = ["sweep", "--methods", "unet", "--seeds", "0,1", "--results", str(tmp_path / "res"),
            "--data-root", str(tmp_path / "data"), *TINY]
    first = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    folders = sorted((tmp_path / "res" / "runs" / "synthetic" / "unet").iterdir())
    assert len(folders) == 2
    assert {json.loads((f / "metrics.json").read_text())["seed"] for f in folders} == {0, 1}
    assert "completed" in first.output and "Average" in first.output  # ends with the leaderboard
    again = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert again.output.count("skipped") == 2
    assert len(list((tmp_path / "res" / "runs" / "synthetic" / "unet").iterdir())) == 2


def test_sweep_reports_unknown_method(tmp_path):
    out = runner.invoke(app, ["sweep", "--methods", "unte", "--results", str(tmp_path)])
    assert out.exit_code == 2 and "Unknown method 'unte'. Did you mean 'unet'?" in out.output


def test_submitit_local_executor(tmp_path):
    pytest.importorskip("submitit")
    overrides = {"image_size": 32, "epochs": 1, "max_train_images": 8, "n_preview": 1}
    base = RunRequest(method="", overrides=overrides, results_dir=tmp_path / "res",
                      data_root=tmp_path / "data", device="cpu")
    outcomes = run_sweep(base, ["unet"], [4], launcher="submitit-local")
    [outcome] = outcomes
    assert outcome.status == "completed", outcome.error
    metrics = json.loads((tmp_path / "res" / "runs" / "synthetic" / "unet" /
                          outcome.folder.split("/")[-1] / "metrics.json").read_text())
    assert metrics["seed"] == 4 and metrics["n_test_images"] == 24


# End-to-end: these train and evaluate through the CLI or the engine (`-m "not e2e"` skips them).
pytestmark = pytest.mark.e2e
