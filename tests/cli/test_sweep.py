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
    args = ["sweep", "--dataset", "synthetic",
            "--methods", "unet", "--seeds", "0,1", "--results", str(tmp_path / "res"),
            "--data-root", str(tmp_path / "data"), *TINY]
    first = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    folders = sorted((tmp_path / "res" / "runs" / "synthetic" / "unet").iterdir())
    assert len(folders) == 2
    assert {json.loads((f / "metrics.json").read_text())["seed"] for f in folders} == {0, 1}
    assert "completed" in first.output and "Average" in first.output  # ends with the leaderboard
    # each finished cell's headline as it finishes, with the grid's progress
    by_seed = {json.loads((f / "metrics.json").read_text())["seed"]:
               json.loads((f / "metrics.json").read_text())["average"] for f in folders}
    assert "done unet seed 0 [1/2, about" in first.output and "done unet seed 1 [2/2]" in first.output
    assert f"Average PCC {by_seed[1]['pcc']:.4f}, SSIM {by_seed[1]['ssim']:.4f}" in first.output
    again = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert again.output.count("skipped") == 2
    assert len(list((tmp_path / "res" / "runs" / "synthetic" / "unet").iterdir())) == 2
    # A damaged config.json of a completed run: not run again (its metrics record the
    # configuration), and named - the leaderboard cannot count it until it is restored.
    (folders[0] / "config.json").write_text("{broken")
    third = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert third.exit_code == 0, third.output
    assert len(list((tmp_path / "res" / "runs" / "synthetic" / "unet").iterdir())) == 2
    text = " ".join(third.output.split())
    assert text.count(folders[0].name) >= 2 and "restore" in text


def test_compare_rows_are_configurations_and_a_seed_counts_once(tmp_path):
    """End to end: a re-run of seed 0 counts once (the latest, the older named), and a run
    with another learning rate is its own row, labelled by the setting, never pooled."""
    import pandas as pd

    common = ["--results", str(tmp_path / "res"), "--data-root", str(tmp_path / "data"), *TINY]
    for extra in ([], [], ["--set", "lr=0.5"]):
        out = runner.invoke(app, ["run", "--dataset", "synthetic",
                                  "--method", "unet", "--seed", "0", *common, *extra])
        assert out.exit_code == 0, out.output
    folders = sorted((tmp_path / "res" / "runs" / "synthetic" / "unet").iterdir())
    assert len(folders) == 3
    out = runner.invoke(app, ["compare", "--results", str(tmp_path / "res"), "--format", "csv"],
                        env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    board = pd.read_csv(tmp_path / "res" / "leaderboard.csv").set_index("method")
    assert sorted(board.index) == ["unet", "unet [lr=0.5]"]
    assert board.loc["unet", "runs"] == 1 and board.loc["unet [lr=0.5]", "runs"] == 1
    default_runs = [f for f in folders
                    if json.loads((f / "config.json").read_text())["overrides"].get("lr") is None]
    older, latest = sorted(default_runs)
    text = " ".join(out.output.split())
    assert f"not counted: {older.name}" in text and latest.name in text
    metrics = json.loads((latest / "metrics.json").read_text())
    assert board.loc["unet", "Average PCC"] == pytest.approx(metrics["average"]["pcc"], abs=1e-6)


def test_concurrent_sweep_equals_a_sequential_one_with_the_same_threads(tmp_path):
    """--jobs 2 runs two grid cells at once, each with one thread (2 cores / 2 jobs, or
    --threads); its runs' metrics equal a sequential sweep's with --threads 1, and every run
    records its thread count."""
    def sweep(results, *extra):
        out = runner.invoke(app, ["sweep", "--dataset", "synthetic",
                                  "--methods", "unet", "--seeds", "0,1", "--results",
                                  str(results), "--data-root", str(tmp_path / "data"), *TINY,
                                  *extra], env={"COLUMNS": "200"})
        assert out.exit_code == 0, out.output
        folders = sorted((results / "runs" / "synthetic" / "unet").iterdir())
        return {json.loads((f / "metrics.json").read_text())["seed"]: f for f in folders}

    sequential = sweep(tmp_path / "seq", "--threads", "1")
    concurrent = sweep(tmp_path / "jobs", "--jobs", "2", "--threads", "1")
    assert sorted(concurrent) == [0, 1]
    for seed in (0, 1):
        a = json.loads((sequential[seed] / "metrics.json").read_text())
        b = json.loads((concurrent[seed] / "metrics.json").read_text())
        assert a["channels"] == b["channels"] and a["average"] == b["average"]
        assert json.loads((concurrent[seed] / "config.json").read_text())["threads"] == 1


def test_sweep_jobs_errors():
    for args, message in ((["--jobs", "0"], "--jobs 0: give 1 or more"),
                          (["--jobs", "2", "--launcher", "slurm"], "drop --jobs")):
        out = runner.invoke(app, ["sweep", "--dataset", "synthetic", "--methods", "unet", *args])
        assert out.exit_code == 2 and message in out.output, out.output


def test_sweep_reports_unknown_method(tmp_path):
    out = runner.invoke(app, ["sweep", "--dataset", "synthetic",
                              "--methods", "unte", "--results", str(tmp_path)])
    assert out.exit_code == 2 and "Unknown method 'unte'. Did you mean 'unet'?" in out.output


def test_submitit_local_executor(tmp_path):
    pytest.importorskip("submitit")
    overrides = {"image_size": 32, "epochs": 1, "max_train_images": 8, "n_preview": 1}
    base = RunRequest(dataset="synthetic",
                      method="", overrides=overrides, results_dir=tmp_path / "res",
                      data_root=tmp_path / "data", device="cpu")
    outcomes = run_sweep(base, ["unet"], [4], launcher="submitit-local")
    [outcome] = outcomes
    assert outcome.status == "completed", outcome.error
    metrics = json.loads((tmp_path / "res" / "runs" / "synthetic" / "unet" /
                          outcome.folder.split("/")[-1] / "metrics.json").read_text())
    assert metrics["seed"] == 4 and metrics["n_test_images"] == 24


# End-to-end: these train and evaluate through the CLI or the engine (`-m "not e2e"` skips them).
pytestmark = pytest.mark.e2e
