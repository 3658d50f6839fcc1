"""The committed reference leaderboards (results/reference: every method and control on the
default dataset, synthetic-graded, the smoke preset; results/reference-synthetic: the same on
synthetic, the default until 2026-12-07; results/reference-epsilon: the palette family there
with the paper's noise prediction) are what their run records give, with every tier."""

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vsbench.cli import app
from vsbench.data.sources import DEFAULT_DATASET
from vsbench.leaderboard import load_runs
from vsbench.leaderboard.tiers import load_tier_runs

RESULTS = Path(__file__).resolve().parents[2] / "results"
REFERENCE, EPSILON = RESULTS / "reference", RESULTS / "reference-epsilon"
SYNTHETIC = RESULTS / "reference-synthetic"
CONTROLS = {"palette-zero-guide", "palette-oracle-masks"}
METHODS = {"unet", "dodnet", "palette", "class-guided", "palette-threshold", "diffstain", "unext2",
           "flow-matching"}
PALETTE_FAMILY = {"palette", "palette-threshold", "diffstain", *CONTROLS}
SEEDS = [0, 1, 2]
# Every export, made by `vsbench compare --results FOLDER --format F [--tier all] --output X`.
EXPORTS = (("markdown", "leaderboard.md", ()), ("csv", "leaderboard.csv", ()),
           ("latex", "leaderboard.tex", ()),
           ("markdown", "leaderboard-all-tiers.md", ("--tier", "all")))
# synthetic's v-prediction upper-bound control has one seed (the CPU budget of its session)
FOLDERS = [(REFERENCE, {m: SEEDS for m in METHODS | CONTROLS}),
           (SYNTHETIC, {**{m: SEEDS for m in METHODS | CONTROLS}, "palette-oracle-masks": [0]}),
           (EPSILON, {m: SEEDS for m in PALETTE_FAMILY})]


@pytest.mark.parametrize("folder, methods", FOLDERS)
def test_reference_holds_every_method_and_seed_on_one_dataset(folder, methods):
    runs, warnings = load_runs(folder)
    assert warnings == []
    per_run = runs.drop_duplicates("folder")
    assert {m: sorted(g["seed"]) for m, g in per_run.groupby("method")} == methods
    assert per_run[["dataset", "split_hash", "preset", "image_size"]].drop_duplicates(
    ).shape[0] == 1
    assert set(per_run.loc[per_run["control"], "method"]) == CONTROLS & set(methods)
    for tier in ("instance", "features", "profiles", "posterior"):  # every run, every tier
        tier_runs, notes = load_tier_runs(folder, tier)
        assert notes == [], (tier, notes)
        assert tier_runs["folder"].nunique() == sum(map(len, methods.values()))


@pytest.mark.parametrize("folder, methods", FOLDERS)
def test_committed_exports_are_regenerated_exactly(folder, methods, tmp_path):
    """Never edited by hand: `vsbench compare` on the committed runs writes the same files."""
    for fmt, name, extra in EXPORTS:
        out = CliRunner().invoke(app, ["compare", "--results", str(folder), "--format", fmt,
                                       *extra, "--output", str(tmp_path / name)],
                                 env={"COLUMNS": "200"})
        assert out.exit_code == 0, out.output
        assert (tmp_path / name).read_text() == (folder / name).read_text(), name
    board = pd.read_csv(folder / "leaderboard.csv").set_index("method")
    ranked = board[board["rank"].notna()]
    assert set(ranked.index) == set(methods) - CONTROLS and ranked["rank"].min() == 1
    # the guided rows carry their paired guided-minus-unguided differences
    guided = board.loc[["palette-threshold", "diffstain"]]
    assert guided["Average PCC guided-unguided"].notna().all()
    assert guided["Average PCC guided-unguided p"].between(0, 1).all()


def test_the_reference_board_is_made_on_the_default_dataset():
    """A change of the default dataset must come with a regenerated reference board."""
    runs, _ = load_runs(REFERENCE)
    assert set(runs["dataset"]) == {DEFAULT_DATASET}
    assert {p.name for p in (REFERENCE / "runs").iterdir()} == {DEFAULT_DATASET}


def test_on_the_default_data_the_real_stain_wins_the_profile_tier():
    """What issue 28 asked of the profile tier's data, read from the committed runs: the real
    stain retrieves every active perturbation and no inactive one (activity mAP >= 0.8), every
    virtual stain's activity mAP is below the real stain's, and the board ranks on the
    cross-modal mAP with intervals."""
    for folder in sorted((REFERENCE / "runs").glob("*/*/*")):
        table = pd.read_csv(folder / "profiles_map.csv")
        inactive = table["target"] == "inactive"
        assert table.loc[~inactive, "retrieved_real"].all(), folder
        assert not table.loc[inactive, "retrieved_real"].any(), folder
        assert table["map_real"].mean() >= 0.8
        assert table["map_virtual"].mean() < table["map_real"].mean(), folder
    board = pd.read_csv(REFERENCE / "leaderboard.csv")  # the pixel board: every method ranked
    assert board["rank"].notna().sum() == len(METHODS)
    text = (REFERENCE / "leaderboard-all-tiers.md").read_text()
    profiles = text[text.index("**profiles tier"):]
    assert "Rank by cross-modal MAP" in profiles
    assert "95% confidence intervals" in profiles and "10 perturbations" in profiles
