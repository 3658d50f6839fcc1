"""`vsbench compare --against`: does a results folder reproduce a reference one?"""

import pytest
from typer.testing import CliRunner

from tests.leaderboard.test_board import make_run
from vsbench.cli import app
from vsbench.leaderboard.reproduction import ReproductionError, check_reproduction


def _reference(tmp_path):
    ref = tmp_path / "reference"
    make_run(ref, "unet", 0, pcc=0.60)
    make_run(ref, "unet", 1, pcc=0.62)
    make_run(ref, "palette", 0, pcc=0.55)
    return ref


def test_matching_runs_within_and_outside_tolerance(tmp_path):
    ref = _reference(tmp_path)
    mine = tmp_path / "mine"
    make_run(mine, "unet", 0, pcc=0.61)  # +0.01 on every channel, so on the Average
    make_run(mine, "palette", 0, pcc=0.60)  # +0.05
    make_run(mine, "dodnet", 0, pcc=0.70)  # not in the reference: ignored
    rows = check_reproduction(mine, ref, tolerance=0.03)
    assert list(zip(rows["method"], rows["seed"], rows["metric"])) == [
        ("palette", 0, "pcc"), ("palette", 0, "ssim"), ("unet", 0, "pcc"), ("unet", 0, "ssim")]
    pcc = rows.set_index(["method", "metric"])
    assert pcc.loc[("unet", "pcc"), "difference"] == pytest.approx(0.01)
    assert pcc.loc[("palette", "pcc"), "difference"] == pytest.approx(0.05)
    assert pcc.loc[("unet", "pcc"), "reference"] == pytest.approx(0.62)  # 0.60 + mean(0..0.04)
    assert list(rows["within"]) == [False, True, True, True]
    assert check_reproduction(mine, ref, tolerance=0.06)["within"].all()


def test_runs_on_another_split_do_not_match(tmp_path):
    ref = _reference(tmp_path)
    mine = tmp_path / "mine"
    make_run(mine, "unet", 0, pcc=0.60, split="other")
    with pytest.raises(ReproductionError, match="no run under .* matches .* unet seed 0"):
        check_reproduction(mine, ref)
    with pytest.raises(ReproductionError, match="no completed runs under"):
        check_reproduction(tmp_path / "empty", ref)


def test_cli_exit_codes_and_table(tmp_path):
    ref = _reference(tmp_path)
    mine = tmp_path / "mine"
    make_run(mine, "unet", 1, pcc=0.625)
    runner = CliRunner()
    ok = runner.invoke(app, ["compare", "--results", str(mine), "--against", str(ref)],
                       env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    assert "reproduced: 2 values of 1 method(s) within 0.03" in ok.output
    assert "+0.0050" in ok.output
    bad = runner.invoke(app, ["compare", "--results", str(mine), "--against", str(ref),
                              "--tolerance", "0.001"], env={"COLUMNS": "200"})
    assert bad.exit_code == 1
    assert "1 of 2 values differ" in bad.output and "unet seed 1 PCC +0.005" in bad.output
    none = runner.invoke(app, ["compare", "--results", str(tmp_path / "nothing"),
                               "--against", str(ref)])
    assert none.exit_code == 1 and "no completed runs under" in none.output
