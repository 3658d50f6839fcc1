"""``vsbench compare --format json``: one versioned document whose numbers are the boards'."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.leaderboard.test_board import make_run
from tests.leaderboard.test_posterior_board import posterior_run
from vsbench.cli import app
from vsbench.leaderboard import build_leaderboards, load_runs
from vsbench.leaderboard.json_export import SCHEMA, board_json


def test_the_json_holds_every_number_of_the_board(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6)
    make_run(tmp_path, "unet", 1, 0.8)
    make_run(tmp_path, "palette", 0, 0.5, mse=0.01)
    [board] = build_leaderboards(load_runs(tmp_path)[0])
    document = board_json(board)
    json.dumps(document, allow_nan=False)  # plain JSON: no NaN, no numpy types
    rows = {row["label"]: row for row in document["rows"]}
    assert [row["label"] for row in document["rows"]] == ["unet", "palette"]
    unet, palette = rows["unet"], rows["palette"]
    assert unet["rank"] == 1 and palette["rank"] == 2 and unet["runs"] == 2
    cell = unet["values"]["DNA"]["pcc"]
    assert cell["mean"] == pytest.approx(0.7)
    assert cell["std"] == pytest.approx(board.std.loc["unet", ("DNA", "pcc")])
    assert cell["ci_low"] <= cell["mean"] <= cell["ci_high"]
    assert palette["values"]["DNA"]["pcc"]["std"] is None  # one run: no spread
    assert unet["p_value"] is None and 0 <= palette["p_value"] <= 1
    assert "Average/pcc" in unet["best"] and "DNA/mse" in palette["best"]
    assert document["sort_by"] == "Average/pcc" and document["n_units"] == 24


def test_compare_format_json_writes_every_tier(tmp_path):
    posterior_run(tmp_path, "calibrated", 4, 0.020, 0.31, 0.55, 0.03)
    posterior_run(tmp_path, "wide", 4, 0.030, 0.45, 0.80, 0.06)
    out = tmp_path / "boards.json"
    result = CliRunner().invoke(app, ["compare", "--results", str(tmp_path), "--tier", "all",
                                      "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["schema"] == SCHEMA
    assert [b["tier"] for b in document["boards"]] == ["pixel", "posterior"]
    posterior = document["boards"][1]
    best = {row["label"]: row["best"] for row in posterior["rows"]}
    assert "Average/coverage_50" in best["calibrated"]  # closest to 0.30, not the highest
    assert "Average/coverage_50" not in best["wide"]
