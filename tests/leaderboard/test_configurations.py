"""A leaderboard row is one configuration, one seed counts once, and every run folder that is
not counted is named (issue 15's silent wrong results and tracebacks, on fabricated runs)."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.leaderboard.test_board import make_run
from vsbench.cli import app
from vsbench.layout import CONFIG_FILE, METRICS_FILE, PER_IMAGE_FILE, STATE_FILE, TRAIN_LOG_FILE
from vsbench.leaderboard import AVERAGE, build_leaderboards, check_reproduction, load_runs

runner = CliRunner()


def _board(results):
    runs, warnings = load_runs(results)
    [board] = build_leaderboards(runs)
    return board, warnings


def test_other_settings_get_their_own_labelled_row(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6)
    make_run(tmp_path, "unet", 1, 0.8)
    make_run(tmp_path, "unet", 0, 0.1, overrides={"lr": 1e6})
    board, warnings = _board(tmp_path)
    assert warnings == []
    assert list(board.table.index) == ["unet", "unet [lr=1e+06]"]
    assert board.table.loc["unet", ("", "runs")] == 2
    assert board.table.loc["unet [lr=1e+06]", ("", "runs")] == 1
    assert board.table.loc["unet", ("DNA", "pcc")] == pytest.approx(0.7)  # not pooled with 0.1
    assert board.table.loc["unet [lr=1e+06]", ("DNA", "pcc")] == pytest.approx(0.1)
    # The per-image statistics are per row too: each row its own interval.
    assert set(board.per_image) == {"unet", "unet [lr=1e+06]"}


def test_two_set_configurations_are_both_labelled(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6, overrides={"loss": "l1"})
    make_run(tmp_path, "unet", 0, 0.5, overrides={"loss": "l2"})
    board, _ = _board(tmp_path)
    assert set(board.table.index) == {"unet [loss=l1]", "unet [loss=l2]"}


def test_a_seed_counts_once_the_latest_and_the_older_is_named(tmp_path):
    # Completed in this order, within one second: run ids (random suffix) do not order them.
    old = make_run(tmp_path, "unet", 0, 0.2)
    new = make_run(tmp_path, "unet", 0, 0.6)
    board, warnings = _board(tmp_path)
    assert board.table.loc["unet", ("", "runs")] == 1
    assert board.table.loc["unet", ("DNA", "pcc")] == pytest.approx(0.6)  # the latest
    [note] = warnings
    assert old.run_id in note and new.run_id in note and "seed 0" in note


def test_runs_that_cannot_be_counted_are_each_named_with_the_reason(tmp_path):
    make_run(tmp_path, "unet", 1, 0.6)
    bad_config = make_run(tmp_path, "unet", 0, 0.5)
    bad_config.file(CONFIG_FILE).write_text("{oops")
    no_metrics = make_run(tmp_path, "dodnet", 0, 0.5)
    no_metrics.file(METRICS_FILE).unlink()
    bad_state = make_run(tmp_path, "palette", 0, 0.5)
    bad_state.file(STATE_FILE).write_text("[]")
    board, warnings = _board(tmp_path)
    assert list(board.table.index) == ["unet"] and board.table.loc["unet", ("", "runs")] == 1
    assert len(warnings) == 3
    for folder, reason in ((bad_config, "invalid JSON"), (no_metrics, "missing"),
                           (bad_state, "not a JSON object")):
        [line] = [w for w in warnings if folder.run_id in w]
        assert reason in line and "\n" not in line
    out = runner.invoke(app, ["compare", "--results", str(tmp_path)], env={"COLUMNS": "200"})
    assert out.exit_code == 0
    assert all(f.run_id in out.output for f in (bad_config, no_metrics, bad_state))


def test_a_constant_channel_shows_nan_and_the_average_skips_it(tmp_path):
    healthy = make_run(tmp_path, "unet", 0, 0.6)
    for folder in (make_run(tmp_path, "dodnet", 0, 0.5), healthy):
        path = folder.file(METRICS_FILE)
        record = json.loads(path.read_text())
        if folder is not healthy:  # a run from before the rule: NaN channel and NaN Average
            record["channels"]["DNA"]["pcc"] = math.nan
            record["average"]["pcc"] = math.nan
            path.write_text(json.dumps(record))
            table = folder.file(PER_IMAGE_FILE)  # DNA constant in every test image
            frame = pd.read_csv(table)
            frame.loc[frame["channel"] == "DNA", "pcc"] = math.nan
            frame.to_csv(table, index=False)
    board, _ = _board(tmp_path)
    dodnet = board.table.loc["dodnet"]
    assert math.isnan(dodnet[("DNA", "pcc")])
    others = [0.5 + 0.01 * i for i in range(1, 5)]  # ER..Mito of the fabricated run
    assert dodnet[(AVERAGE, "pcc")] == pytest.approx(np.mean(others))
    out = runner.invoke(app, ["compare", "--results", str(tmp_path), "--format", "markdown"],
                        env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "| dodnet" in (tmp_path / "leaderboard.md").read_text()
    report = runner.invoke(app, ["report", "--results", str(tmp_path), "--out",
                                 str(tmp_path / "rep")])
    assert report.exit_code == 0, report.output


def test_metric_accumulator_average_leaves_an_undefined_channel_out():
    import torch

    from vsbench.metrics import MetricAccumulator

    acc = MetricAccumulator(["DNA", "ER"])
    target = torch.rand(2, 2, 16, 16)
    target[:, 0] = 0.5  # DNA constant in every image: its PCC is undefined
    acc.update(target.clamp(0, 1) * 0.9, target, ["a", "b"])
    result = acc.compute()
    assert math.isnan(result["channels"]["DNA"]["pcc"])
    assert result["average"]["pcc"] == pytest.approx(result["channels"]["ER"]["pcc"])
    assert result["average"]["mse"] == pytest.approx(
        (result["channels"]["DNA"]["mse"] + result["channels"]["ER"]["mse"]) / 2)


def test_missing_per_image_file_marks_the_interval_missing_and_says_which(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6)
    lacking = make_run(tmp_path, "unet", 1, 0.8)
    lacking.file(PER_IMAGE_FILE).write_text("garbage\x00,,\n")
    make_run(tmp_path, "palette", 0, 0.5)
    board, _ = _board(tmp_path)
    assert board.ci_low.loc["unet"].isna().all()
    assert board.ci_low.loc["palette"].notna().any()
    [note] = board.notes
    assert lacking.run_id in note and "1 of 2 runs" in note
    report = runner.invoke(app, ["report", "--results", str(tmp_path), "--out",
                                 str(tmp_path / "rep")])
    assert report.exit_code == 0, report.output
    assert lacking.run_id in (tmp_path / "rep" / "report.html").read_text()


def test_report_survives_a_malformed_training_log(tmp_path):
    folder = make_run(tmp_path, "unet", 0, 0.6)
    folder.file(TRAIN_LOG_FILE).write_text("epoch,loss\n1,abc\nx,0.5\n2,0.25\n")
    other = make_run(tmp_path, "palette", 0, 0.5)
    other.file(TRAIN_LOG_FILE).write_text("\x00\x01binary")
    report = runner.invoke(app, ["report", "--results", str(tmp_path), "--out",
                                 str(tmp_path / "rep")])
    assert report.exit_code == 0, report.output
    assert "training loss" in (tmp_path / "rep" / "report.html").read_text()


def test_compare_output_that_is_a_folder_is_one_line_error(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6)
    (tmp_path / "out").mkdir()
    out = runner.invoke(app, ["compare", "--results", str(tmp_path), "--format", "csv",
                              "--output", str(tmp_path / "out")])
    assert out.exit_code == 2
    assert "is a folder; give a file name" in out.output and "Traceback" not in out.output


def test_against_matches_the_identical_configuration_not_the_latest(tmp_path):
    reference, ours = tmp_path / "reference", tmp_path / "ours"
    make_run(reference, "unet", 0, 0.6)
    make_run(reference, "unet", 0, 0.1, overrides={"lr": 1e6})  # later, other settings
    make_run(ours, "unet", 0, 0.6)
    rows = check_reproduction(ours, reference, 0.03)
    pcc = rows[rows["metric"] == "pcc"]
    assert rows["within"].all() and list(pcc["reference"].round(6)) == [0.62]
    make_run(ours, "unet", 0, 0.6, overrides={"lr": 3.0})  # not in the reference
    rows = check_reproduction(ours, reference, 0.03)
    assert rows["within"].all()
    [unmatched] = rows.attrs["unmatched"]
    assert "unet seed 0" in unmatched
