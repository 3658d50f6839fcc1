"""Guided minus the controls restarted from the same first estimates (seeds paired)."""

import shutil

import pytest

from vsbench.layout import PER_IMAGE_FILE, PER_IMAGE_UNGUIDED_FILE
from vsbench.leaderboard import build_leaderboards, load_runs, render
from vsbench.leaderboard.contrasts import SEEDS, same_first_estimates
from vsbench.stats import read_per_image

from tests.leaderboard.test_board import make_run


def _first_estimates(folders, source):
    """Give every run of ``folders`` the same unguided scores (those of ``source``'s
    per-image file): one network, one first estimate."""
    for folder in folders:
        shutil.copy(source.path / PER_IMAGE_FILE, folder.path / PER_IMAGE_UNGUIDED_FILE)


def _board(tmp_path):
    guided = [make_run(tmp_path, "palette-threshold", s, 0.62) for s in (0, 1)]
    zero = [make_run(tmp_path, "palette-zero-guide", s, 0.60, control=True) for s in (0, 1)]
    oracle = make_run(tmp_path, "palette-oracle-masks", 0, 0.70, control=True)
    first = [make_run(tmp_path / "first", "palette", s, 0.55) for s in (0, 1)]
    for seed in (0, 1):
        _first_estimates([guided[seed], zero[seed]], first[seed])
    # the oracle control restarted from another first estimate (seed 1's): never paired
    _first_estimates([oracle], first[1])
    runs, _ = load_runs(tmp_path)
    return [b for b in build_leaderboards(runs) if b.section == "methods"][0]


def test_guided_minus_control_pairs_only_runs_of_the_same_first_estimates(tmp_path):
    board = _board(tmp_path)
    contrasts = board.contrasts
    # the oracle run's first estimates are seed 1's, its seed is 0: no pair
    assert list(contrasts.index) == [("palette-threshold", "palette-zero-guide")]
    row = contrasts.loc[("palette-threshold", "palette-zero-guide")]
    assert row[SEEDS] == 2
    # every channel's per-image values average to the metrics.json means: 0.62 - 0.60
    assert row[("Average", "pcc", "diff")] == pytest.approx(0.02, abs=1e-9)
    assert row[("DNA", "mse", "diff")] == pytest.approx(0.0, abs=1e-12)
    assert row[("Average", "pcc", "p")] < 0.01
    # the unguided row (palette has no first estimates of its own) gets no contrast
    assert "palette" not in {m for m, _ in contrasts.index}


def test_the_contrast_table_is_in_every_export(tmp_path):
    board = _board(tmp_path)
    markdown = render(board, "markdown")
    assert "Guided minus each control restarted from the same first estimates" in markdown
    assert "| palette-threshold - palette-zero-guide |" in markdown
    assert "+0.020 (p <0.001)" in markdown
    csv = render(board, "csv")
    assert "Average PCC minus palette-zero-guide" in csv.splitlines()[0]
    assert "Average PCC minus palette-zero-guide p" in csv.splitlines()[0]
    assert "palette-threshold - palette-zero-guide" in render(board, "latex")
    assert "palette-threshold - palette-zero-guide" in render(board, "html")
    # and the JSON: both tables, every metric, the contrast's control and seeds
    from vsbench.leaderboard.json_export import differences_json

    guidance, contrast = differences_json(board)
    assert guidance["kind"] == "guidance" and contrast["kind"] == "contrast"
    [row] = contrast["rows"]
    assert (row["method"], row["control"], row["seeds"]) == ("palette-threshold",
                                                             "palette-zero-guide", 2)
    assert row["values"]["Average"]["pcc"]["diff"] == pytest.approx(0.02, abs=1e-9)
    assert row["values"]["Average"]["pcc"]["p"] < 0.01 and "mse" in row["values"]["DNA"]
    assert {r["method"] for r in guidance["rows"]} == {"palette-threshold"}
    assert guidance["rows"][0]["control"] is None and guidance["rows"][0]["seeds"] is None


def test_same_first_estimates_needs_the_same_images_and_values(tmp_path):
    a = make_run(tmp_path, "palette", 0, 0.5)
    b = make_run(tmp_path, "palette", 1, 0.5)
    frame_a, frame_b = read_per_image(a.path), read_per_image(b.path)
    assert same_first_estimates(frame_a, frame_a.iloc[::-1].copy())  # row order is free
    assert not same_first_estimates(frame_a, frame_b)  # other deviations
    assert not same_first_estimates(frame_a, frame_a.iloc[:-5])  # fewer images
    assert not same_first_estimates(frame_a, None)
