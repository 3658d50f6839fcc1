"""What "best" means on the posterior board: a coverage is best closest to the level a
calibrated ensemble of the row's size reaches (not highest), a diversity has no best, a point
mass (a deterministic method) is shown but never bold on the columns that need samples, ties
share the bold and the rank, and a table of one metric that is not the one ranked on does
not repeat the rank and p columns."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from tests.leaderboard.test_board import N_IMAGES, make_run
from vsbench.layout import METRICS_FILE, PER_IMAGE_MEAN_FILE, PER_IMAGE_POSTERIOR_FILE
from vsbench.leaderboard import formatted
from vsbench.leaderboard.render import print_board, render
from vsbench.leaderboard.tiers import build_tier_boards, load_tier_runs
from vsbench.posterior import calibrated_coverage

CHANNELS = ("DNA", "ER")


def posterior_run(root, method: str, samples: int, crps: float, coverage_50: float,
                  coverage_90: float, diversity: float, seed: int = 0):
    """A fabricated run with a posterior tier of ``samples`` samples per image and the same
    value on every test image (plus a per-image offset shared by all runs, so that paired
    tests have something to pair)."""
    folder = make_run(root, method, seed, 0.7, channels=CHANNELS)
    rows = ["sample_id,channel,crps,coverage_50,coverage_90,diversity"]
    mean = ["sample_id,channel,mae,pcc"]
    for i in range(N_IMAGES):
        for c in CHANNELS:
            offset = 0.001 * i
            rows.append(f"img{i:02d},{c},{crps + offset},{coverage_50},{coverage_90},"
                        f"{diversity}")
            mean.append(f"img{i:02d},{c},{crps + offset},0.8")
    (folder.path / PER_IMAGE_POSTERIOR_FILE).write_text("\n".join(rows) + "\n")
    (folder.path / PER_IMAGE_MEAN_FILE).write_text("\n".join(mean) + "\n")
    record = json.loads(folder.file(METRICS_FILE).read_text())
    record["posterior"] = {"version": 1, "stochastic": samples > 1, "n_samples": samples}
    folder.file(METRICS_FILE).write_text(json.dumps(record))
    return folder


def board_of(root):
    runs, _ = load_tier_runs(root, "posterior")
    boards = build_tier_boards(runs, "posterior")
    assert len(boards) == 1
    return boards[0]


@pytest.fixture
def mixed(tmp_path):
    """Two 4-sample ensembles (calibrated coverage 0.30 / 0.54): "wide" covers more than a
    calibrated ensemble would (0.45 / 0.80, the highest), "calibrated" sits at 0.31 / 0.55;
    "unet" is a point mass (coverage 0); "twin" has exactly "calibrated"'s CRPS."""
    posterior_run(tmp_path, "wide", 4, 0.030, 0.45, 0.80, 0.06)
    posterior_run(tmp_path, "calibrated", 4, 0.020, 0.31, 0.55, 0.03)
    posterior_run(tmp_path, "twin", 4, 0.020, 0.20, 0.40, 0.02)
    posterior_run(tmp_path, "unet", 1, 0.025, 0.0, 0.0, 0.0)
    return board_of(tmp_path)


def test_coverage_is_best_closest_to_the_calibrated_level(mixed):
    assert calibrated_coverage(0.5, 4) == pytest.approx(0.30)
    best, second = mixed.best(), mixed.second()
    for channel in (*CHANNELS, "Average"):
        assert best[(channel, "coverage_50")] == ["calibrated"]  # not "wide", the highest
        assert best[(channel, "coverage_90")] == ["calibrated"]
        # |0.45 - 0.30| = 0.15 > |0.20 - 0.30| = 0.10: too narrow by less than wide is too wide
        assert second[(channel, "coverage_50")] == ["twin"]
    assert mixed.target("calibrated", "coverage_90") == pytest.approx(0.9 * 3 / 5)
    assert mixed.target("unet", "coverage_50") is None


def test_a_point_mass_is_never_bold_where_samples_are_needed_and_diversity_has_no_best(mixed):
    best, second = mixed.best(), mixed.second()
    assert mixed.point_mass == {"unet"}
    for column, rows in [*best.items(), *second.items()]:
        if column[1] in ("coverage_50", "coverage_90", "diversity"):
            assert "unet" not in rows
    assert not any(column[1] == "diversity" for column in best)
    # but it is on the board, and ranked on CRPS (its MAE), between the two ensembles
    assert list(mixed.table.index) == ["calibrated", "twin", "unet", "wide"]
    assert mixed.rank["unet"] == 3
    assert "Deterministic rows (unet" in mixed.caption()
    assert "0.30 / 0.54 at 4 samples" in mixed.caption()


def test_ties_share_the_rank_and_the_bold(mixed):
    assert mixed.rank["calibrated"] == mixed.rank["twin"] == 1
    assert mixed.best()[("Average", "crps")] == ["calibrated", "twin"]
    text = render(mixed, "markdown")
    row = {line.split("|")[1].strip(): line for line in text.splitlines() if "|" in line}
    crps = [i for i, cell in enumerate(row["method"].split("|")) if "Average CRPS" in cell][0]
    twin, calibrated = (row[m].split("|")[crps].strip() for m in ("twin", "calibrated"))
    assert twin == calibrated and twin.startswith("**")


def test_a_board_of_point_masses_shows_no_coverage_or_diversity(tmp_path):
    posterior_run(tmp_path, "unet", 1, 0.025, 0.0, 0.0, 0.0)
    posterior_run(tmp_path, "dodnet", 1, 0.030, 0.0, 0.0, 0.0)
    board = board_of(tmp_path)
    assert {metric for _, metric in board.metric_columns()} == {"crps", "pcc_mean"}
    assert "Every row is deterministic" in board.caption()


def test_tables_of_other_metrics_do_not_repeat_rank_and_p(mixed):
    crps = formatted(mixed.select(metrics=["crps"]), "html", ranked=True)
    coverage = formatted(mixed.select(metrics=["coverage_50"]), "html", ranked=False)
    assert ("", "rank") in crps.columns and ("", "p") in crps.columns
    assert ("", "rank") not in coverage.columns and ("", "p") not in coverage.columns
    out = io.StringIO()
    print_board(Console(file=out, width=120, color_system=None), mixed)
    printed = out.getvalue()
    tables = printed.split(" - posterior tier: ")
    # one table per metric at this width: only the CRPS one has the rank and p columns
    assert len(tables) - 1 == len({m for _, m in mixed.metric_columns()})
    assert printed.count("┃ rank ┃") == 1 and "┃ rank ┃" in tables[1]  # the CRPS table
    assert tables[0].strip().startswith("CRPS")
