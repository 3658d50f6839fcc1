"""The committed reference leaderboard (results/reference) is what its run records give."""

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from vsbench.cli import app
from vsbench.leaderboard import load_runs

REFERENCE = Path(__file__).resolve().parents[2] / "results" / "reference"
METHODS = {"unet", "dodnet", "palette", "class-guided", "palette-threshold", "diffstain"}


def test_reference_holds_every_method_and_seed_on_one_board():
    runs, warnings = load_runs(REFERENCE)
    assert warnings == []
    per_run = runs.drop_duplicates("folder")
    assert set(per_run["method"]) == METHODS
    seeds = {m: sorted(g["seed"]) for m, g in per_run.groupby("method")}
    assert seeds == {m: [0, 1, 2] for m in METHODS}
    assert per_run[["dataset", "split_hash", "preset", "image_size"]].drop_duplicates().shape[0] == 1


def test_committed_exports_are_regenerated_exactly(tmp_path):
    """Never edited by hand: `vsbench compare` on the committed runs writes the same files."""
    for fmt, ext in (("markdown", "md"), ("csv", "csv"), ("latex", "tex")):
        out = CliRunner().invoke(app, ["compare", "--results", str(REFERENCE), "--format", fmt,
                                       "--output", str(tmp_path / f"board.{ext}")],
                                 env={"COLUMNS": "200"})
        assert out.exit_code == 0, out.output
        assert (tmp_path / f"board.{ext}").read_text() == \
            (REFERENCE / f"leaderboard.{ext}").read_text(), ext
    board = pd.read_csv(REFERENCE / "leaderboard.csv").set_index("method")
    assert board.loc["unet", "runs"] == 3 and board["rank"].min() == 1
