"""Leaderboards from run folders: grouping, averaging, highlighting, exports, bad records."""

import json

import pytest

from vsbench.leaderboard import AVERAGE, build_leaderboards, export, load_runs, render
from vsbench.results import METRICS_FILE, RunFolder

CHANNELS = ("DNA", "ER", "RNA", "AGP", "Mito")


def make_run(results, method, seed, pcc, split="s1", status="completed", mse=0.02):
    folder = RunFolder.create(results, "synthetic", method, seed)
    channels = {ch: {"mse": mse, "mae": 0.1, "pcc": pcc + 0.01 * i, "ssim": 0.5}
                for i, ch in enumerate(CHANNELS)}
    average = {m: sum(v[m] for v in channels.values()) / 5 for m in ("mse", "mae", "pcc", "ssim")}
    folder.write_json(METRICS_FILE, {
        "method": method, "dataset": "synthetic", "dataset_fingerprint": "fp",
        "split_hash": split, "preset": "smoke", "seed": seed, "image_size": 64,
        "n_test_images": 24, "channels": channels, "average": average,
        "train_seconds": 1.0, "predict_seconds_per_image": 0.01})
    folder.set_state(status)
    return folder


def test_mean_over_runs_and_counts(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6)
    make_run(tmp_path, "unet", 1, 0.8)
    make_run(tmp_path, "palette", 0, 0.5, mse=0.01)
    runs, warnings = load_runs(tmp_path)
    assert not warnings
    [board] = build_leaderboards(runs)
    table = board.table
    assert table.loc["unet", ("DNA", "pcc")] == pytest.approx(0.7)
    assert table.loc["unet", ("", "runs")] == 2 and table.loc["palette", ("", "runs")] == 1
    assert list(table.index) == ["unet", "palette"]  # ranked by Average PCC
    assert table.columns[0] == ("DNA", "mse") and (AVERAGE, "ssim") in table.columns
    best = board.best()
    assert best[("DNA", "pcc")] == "unet"
    assert best[("DNA", "mse")] == "palette"  # lower is better


def test_different_splits_are_never_averaged(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6, split="s1")
    make_run(tmp_path, "unet", 0, 0.9, split="s2")
    boards = build_leaderboards(load_runs(tmp_path)[0])
    assert len(boards) == 2
    assert {b.key["split_hash"] for b in boards} == {"s1", "s2"}
    assert sorted(b.table.loc["unet", ("DNA", "pcc")] for b in boards) == pytest.approx([0.6, 0.9])


def test_unfinished_and_malformed_runs(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6)
    make_run(tmp_path, "unet", 1, 0.99, status="failed")
    make_run(tmp_path, "unet", 2, 0.99, status="running")
    bad = make_run(tmp_path, "dodnet", 0, 0.7)
    (bad.path / METRICS_FILE).write_text("{not json")
    partial = make_run(tmp_path, "palette", 0, 0.7)
    record = json.loads((partial.path / METRICS_FILE).read_text())
    del record["channels"]
    (partial.path / METRICS_FILE).write_text(json.dumps(record))
    runs, warnings = load_runs(tmp_path)
    assert len(warnings) == 2
    assert any(str(bad.path / METRICS_FILE) in w and "invalid JSON" in w for w in warnings)
    assert any("missing key(s) channels" in w for w in warnings)
    [board] = build_leaderboards(runs)
    assert list(board.table.index) == ["unet"]
    assert board.table.loc["unet", ("", "runs")] == 1


def test_exports_bold_the_best(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6)
    make_run(tmp_path, "palette", 0, 0.5, mse=0.01)
    boards = build_leaderboards(load_runs(tmp_path)[0])
    md = render(boards[0], "markdown")
    assert "| unet" in md and "**0.600**" in md and "**0.010**" in md and "DNA PCC" in md
    tex = render(boards[0], "latex")
    assert "\\textbf{0.600}" in tex and "\\begin{tabular}" in tex
    html = render(boards[0], "html")
    assert "<b>0.600</b>" in html and "<table" in html
    path = export(boards, "csv", tmp_path / "leaderboard.csv")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("method,dataset") or "method" in lines[0]
    assert len(lines) == 3 and "DNA PCC" in lines[0]


def test_channel_sets_are_never_mixed(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6)
    folder = make_run(tmp_path, "unet", 1, 0.6)
    record = json.loads((folder.path / METRICS_FILE).read_text())
    record["channels"] = {"DNA": record["channels"]["DNA"]}
    (folder.path / METRICS_FILE).write_text(json.dumps(record))
    boards = build_leaderboards(load_runs(tmp_path)[0])
    assert sorted(b.key["channel_set"] for b in boards) == ["DNA", "DNA,ER,RNA,AGP,Mito"]


def test_stale_split_is_flagged(tmp_path):
    from vsbench.leaderboard import mark_stale

    make_run(tmp_path, "unet", 0, 0.6, split="oldhash")
    manifest = tmp_path / "data" / "synthetic" / "split.csv"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("sample_id,part\na,train\nb,val\nc,test\n")
    [board] = mark_stale(build_leaderboards(load_runs(tmp_path)[0]), tmp_path / "data")
    assert board.stale and "STALE" in board.title()
