"""Leaderboards from run folders: grouping, averaging, highlighting, exports, bad records."""

import json
import re
import zlib

import numpy as np
import pytest

from vsbench.leaderboard import AVERAGE, build_leaderboards, export, load_runs, render
from vsbench.layout import METRICS_FILE, PER_IMAGE_FILE
from vsbench import atomic
from vsbench.records import ConfigRecord
from vsbench.store import ResultsStore

CHANNELS = ("DNA", "ER", "RNA", "AGP", "Mito")


N_IMAGES = 24


def _zero_mean(rng, n):
    values = rng.normal(size=n)
    return values - values.mean()


def _in_range(metric, mean, deviation):
    """``deviation`` (of mean zero) shrunk where needed so that mean + deviation stays in
    the metric's range (PCC and SSIM in [-1, 1], MSE and MAE at least 0), as real per-image
    values do; the mean is unchanged."""
    low, high = (-1.0, 1.0) if metric in ("pcc", "ssim") else (0.0, np.inf)
    scale = 1.0
    if deviation.max() > 0:
        scale = min(scale, 0.999 * (high - mean) / deviation.max())
    if deviation.min() < 0:
        scale = min(scale, 0.999 * (mean - low) / -deviation.min())
    return deviation * scale


def make_run(results, method, seed, pcc, split="s1", status="completed", mse=0.02,
             per_image=True, channels=CHANNELS, overrides=None, control=False):
    """A fabricated completed run: config.json (the smoke settings, changed by
    ``overrides``, which are recorded as the user's --set), metrics.json and, with
    ``per_image``, a per-image CSV
    whose per-channel means are exactly the metrics.json values (each image's value is the
    mean plus a shared per-image difficulty and a small run-specific deviation, both of mean
    zero), so the confidence intervals and paired tests have something real to work on."""
    folder = ResultsStore(results).create("synthetic", method, seed)
    overrides = dict(overrides or {})
    config = ConfigRecord(method=method, dataset="synthetic", preset="smoke", seed=seed,
                          run={"image_size": 64, "epochs": 5, "lr": 0.002,
                               **{k: v for k, v in overrides.items() if k in ("lr", "epochs")}},
                          method_params={"loss": "l1", **{k: v for k, v in overrides.items()
                                                          if k not in ("lr", "epochs")}},
                          dataset_fingerprint="fp", split_hash=split,
                          overrides=overrides, control=control).hashed()
    folder.write_config(config)
    means = {ch: {"mse": mse, "mae": 0.1, "pcc": pcc + 0.01 * i, "ssim": 0.5}
             for i, ch in enumerate(channels)}
    average = {m: sum(v[m] for v in means.values()) / len(channels)
               for m in ("mse", "mae", "pcc", "ssim")}
    atomic.write_json(folder.file(METRICS_FILE), {
        "method": method, "dataset": "synthetic", "dataset_fingerprint": "fp",
        "split_hash": split, "preset": "smoke", "seed": seed, "image_size": 64,
        "n_test_images": N_IMAGES, "channels": means, "average": average,
        "train_seconds": 1.0, "predict_seconds_per_image": 0.01})
    if per_image:
        difficulty = _zero_mean(np.random.default_rng(0), N_IMAGES)
        rng = np.random.default_rng(zlib.crc32(f"{method}/{seed}".encode()))  # stable
        rows = ["sample_id,channel,mse,mae,pcc,ssim"]
        per_channel = {ch: {m: means[ch][m] + _in_range(
                                m, means[ch][m], 0.1 * difficulty * (m in ("pcc", "ssim"))
                                + 0.01 * _zero_mean(rng, N_IMAGES)) for m in means[ch]}
                       for ch in channels}
        for i in range(N_IMAGES):
            for ch in channels:
                v = per_channel[ch]
                rows.append(f"img{i:02d},{ch}," + ",".join(repr(float(v[m][i]))
                                                           for m in ("mse", "mae", "pcc", "ssim")))
        (folder.path / PER_IMAGE_FILE).write_text("\n".join(rows) + "\n")
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
    assert best[("DNA", "pcc")] == ["unet"]
    assert best[("DNA", "mse")] == ["palette"]  # lower is better


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
    make_run(tmp_path, "unet", 1, 0.6, channels=("DNA",))
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


# ---- uncertainty: spread over seeds, bootstrap intervals, ranks, paired tests ----------------

def _per_image(folder):
    import pandas as pd

    return pd.read_csv(folder.path / PER_IMAGE_FILE, dtype={"sample_id": str})


def test_pool_runs_means_each_image_over_seeds_and_averages_channels(tmp_path):
    from vsbench.stats import pool_runs

    a, b = make_run(tmp_path, "unet", 0, 0.6), make_run(tmp_path, "unet", 1, 0.8)
    fa, fb = _per_image(a), _per_image(b)
    fb.loc[(fb.sample_id == "img03") & (fb.channel == "ER"), "pcc"] = np.nan  # undefined PCC
    pooled = pool_runs([fa, fb])
    assert list(pooled.index[:2]) == ["img00", "img01"] and len(pooled) == N_IMAGES
    assert [c for c, _ in pooled.columns[::4]] == [*CHANNELS, AVERAGE]

    def value(frame, sid, ch, metric):
        return float(frame[(frame.sample_id == sid) & (frame.channel == ch)][metric].iloc[0])

    assert pooled.loc["img05", ("DNA", "ssim")] == pytest.approx(
        (value(fa, "img05", "DNA", "ssim") + value(fb, "img05", "DNA", "ssim")) / 2)
    # the NaN of one run leaves the other run's value
    assert pooled.loc["img03", ("ER", "pcc")] == pytest.approx(value(fa, "img03", "ER", "pcc"))
    expected = np.mean([pooled.loc["img07", (ch, "mae")] for ch in CHANNELS])
    assert pooled.loc["img07", (AVERAGE, "mae")] == pytest.approx(expected)


def test_bootstrap_ci_is_reproducible_and_matches_normal_theory():
    import pandas as pd

    from vsbench.stats import bootstrap_ci

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": 0.5 + rng.normal(size=400), "b": rng.normal(size=400),
                          "few": [1.0] + [np.nan] * 399})
    low, high = bootstrap_ci(frame)
    low2, high2 = bootstrap_ci(frame)
    assert low.equals(low2) and high.equals(high2)  # fixed seed
    for col in ("a", "b"):
        mean, half = frame[col].mean(), 1.96 * frame[col].std() / np.sqrt(400)
        assert low[col] < mean < high[col]
        assert (high[col] - low[col]) / 2 == pytest.approx(half, rel=0.15)
        assert (low[col] + high[col]) / 2 == pytest.approx(mean, abs=0.2 * half)
    assert np.isnan(low["few"]) and np.isnan(high["few"])


def test_paired_p_value_is_wilcoxon_on_shared_images():
    import pandas as pd
    from scipy.stats import wilcoxon

    from vsbench.stats import format_p, paired_p_value

    rng = np.random.default_rng(2)
    ids = [f"img{i}" for i in range(30)]
    a = pd.Series(rng.random(30), index=ids)
    b = pd.Series(rng.random(30), index=ids)
    assert paired_p_value(a, b) == pytest.approx(wilcoxon(a - b).pvalue)
    # better on every image (distinct margins, no ties): exact two-sided p = 2 / 2**n
    assert paired_p_value(a + np.linspace(0.01, 0.02, 30), a) == pytest.approx(2 / 2**30)
    assert paired_p_value(a, a) == 1.0
    # pairs only on the images both have, and only where both are finite
    b_short = b.iloc[:20].copy()
    b_short.iloc[0] = np.nan
    assert paired_p_value(a, b_short) == pytest.approx(wilcoxon(a.iloc[1:20] - b.iloc[1:20]).pvalue)
    assert np.isnan(paired_p_value(a.iloc[:1], b.iloc[:1]))
    assert format_p(0.0004) == "<0.001" and format_p(0.0456) == "0.046" and format_p(np.nan) == "-"


def test_board_has_std_intervals_rank_and_tests(tmp_path):
    for s in (0, 1, 2):
        make_run(tmp_path, "unet", s, 0.80 + 0.01 * s)
    for s in (0, 1):
        make_run(tmp_path, "dodnet", s, 0.79 + 0.004 * s, mse=0.015)
    make_run(tmp_path, "palette", 0, 0.70, mse=0.03, per_image=False)
    [board] = build_leaderboards(load_runs(tmp_path)[0])
    assert list(board.table.index) == ["unet", "dodnet", "palette"]
    assert list(board.rank) == [1, 2, 3] and board.sort_by == (AVERAGE, "pcc")
    assert board.std.loc["unet", ("DNA", "pcc")] == pytest.approx(np.std([0.80, 0.81, 0.82],
                                                                          ddof=1))
    assert np.isnan(board.std.loc["palette", ("DNA", "pcc")])  # one run: no spread
    # the interval is around the per-image mean pooled over seeds
    for method in ("unet", "dodnet"):
        for col in [("DNA", "pcc"), ("Mito", "mse"), (AVERAGE, "ssim")]:
            assert board.ci_low.loc[method, col] < board.table.loc[method, col] \
                < board.ci_high.loc[method, col]
    assert board.ci_low.loc["palette"].isna().all()  # no per-image metrics: no interval
    # the p-value is the hierarchical bootstrap's on per-image Average PCC (seeds resampled)
    assert board.p_value["dodnet"] < 0.01  # a consistent gap of 0.01-0.02 on 24 images
    assert np.isnan(board.p_value["unet"]) and np.isnan(board.p_value["palette"])
    assert board.n_images == N_IMAGES
    # make_run writes no test_fields.csv: every image its own cluster, and the caption says so
    assert "the 24 test images (each its own cluster" in board.caption()
    assert "With 2 seeds" in board.caption()  # the fewest seeds of a row with intervals


def test_intervals_resample_wells_and_cover_the_seeds(tmp_path):
    """With test_fields.csv the sites of a well are one cluster; the interval of a row whose
    seeds disagree is wider than the spread of its images alone could make it."""
    import pandas as pd

    folders = [make_run(tmp_path, "unet", s, 0.70 + 0.05 * s) for s in (0, 1, 2)]
    ids = _per_image(folders[0])["sample_id"].drop_duplicates().tolist()
    fields = pd.DataFrame({"sample_id": ids, "plate": "P1",
                           "well": [f"W{i // 2:02d}" for i in range(len(ids))],
                           "site": [str(i % 2 + 1) for i in range(len(ids))]})
    for folder in folders:
        fields.to_csv(folder.path / "test_fields.csv", index=False)
    [board] = build_leaderboards(load_runs(tmp_path)[0])
    assert "the 12 wells of the 24 test images, then the sites within each" in board.caption()
    col = (AVERAGE, "pcc")
    half = (board.ci_high.loc["unet", col] - board.ci_low.loc["unet", col]) / 2
    # seeds 0.70, 0.75, 0.80: the standard error over seeds alone is 0.05 / sqrt(3) = 0.029
    assert half > 1.96 * 0.029 * 0.8


def test_sort_by_filters_and_their_errors(tmp_path):
    from vsbench.leaderboard import (LeaderboardError, filter_runs, parse_sort_by,
                                     select_columns)

    make_run(tmp_path, "unet", 0, 0.8)
    make_run(tmp_path, "dodnet", 0, 0.7, mse=0.01)
    make_run(tmp_path, "palette", 0, 0.6, mse=0.03)
    runs = load_runs(tmp_path)[0]
    assert parse_sort_by("DNA/SSIM") == ("DNA", "ssim")
    [board] = build_leaderboards(runs, sort_by="Mito/mse")  # lower is better
    assert list(board.table.index) == ["dodnet", "unet", "palette"]
    assert board.p_value["dodnet"] != board.p_value["dodnet"]  # the best has no test
    assert "Rank by Mito MSE" in board.caption()
    [board] = build_leaderboards(filter_runs(runs, "synthetic", "palette,unet"))
    assert list(board.table.index) == ["unet", "palette"]
    [narrow] = select_columns([board], "DNA,Average", "pcc,SSIM")
    assert narrow.metric_columns() == [("DNA", "pcc"), ("DNA", "ssim"), (AVERAGE, "pcc"),
                                       (AVERAGE, "ssim")]
    assert narrow.ci_low.columns.tolist() == narrow.metric_columns()
    assert list(narrow.rank) == [1, 2]  # the ranking does not depend on what is shown
    for call, message in [
            (lambda: parse_sort_by("DNA"), "expected CHANNEL/METRIC"),
            (lambda: parse_sort_by("DNA/psnr"), "metric one of mse, mae, pcc, ssim"),
            (lambda: build_leaderboards(runs, sort_by="Actin/pcc"), "no channel 'Actin'"),
            (lambda: filter_runs(runs, "jump"), "--dataset jump: no completed runs"),
            (lambda: filter_runs(runs, None, "unet,diffstain"), "no completed runs of diffstain"),
            (lambda: select_columns([board], "Actin"), "unknown channel(s) Actin"),
            (lambda: select_columns([board], None, "psnr"), "unknown metric(s) psnr")]:
        with pytest.raises(LeaderboardError, match=message.replace("(", r"\(").replace(")", r"\)")):
            call()


def test_exports_show_spread_bold_best_and_underline_second(tmp_path):
    make_run(tmp_path, "unet", 0, 0.60)
    make_run(tmp_path, "unet", 1, 0.62)
    make_run(tmp_path, "dodnet", 0, 0.55)
    make_run(tmp_path, "palette", 0, 0.50)
    [board] = build_leaderboards(load_runs(tmp_path)[0])
    md = render(board, "markdown")
    assert "**0.610 ± 0.014**" in md and "<u>0.550</u>" in md and "| 0.500 " in md
    assert re.search(r"\| method +\| +rank +\| DNA MSE", md) and "<0.001" in md
    assert "hierarchical bootstrap test against unet on Average PCC" in md
    tex = render(board, "latex")
    assert "\\textbf{0.610 $\\pm$ 0.014}" in tex and "\\underline{0.550}" in tex
    assert "$<$0.001" in tex and "method & rank" in tex
    html_text = render(board, "html")
    assert "<b>0.610 ± 0.014</b><br><small>[" in html_text and "<u>0.550</u>" in html_text
    csv_text = render(board, "csv")
    header = csv_text.splitlines()[0].split(",")
    for name in ("rank", "DNA PCC", "DNA PCC std", "DNA PCC ci_low", "DNA PCC ci_high",
                 "p_value", "runs"):
        assert name in header


def test_title_says_when_scored_at_another_size(tmp_path):
    make_run(tmp_path, "unet", 0, pcc=0.5)
    tiled = make_run(tmp_path, "unet", 1, pcc=0.5)
    record = json.loads((tiled.path / METRICS_FILE).read_text())
    record["eval_image_size"] = 256
    (tiled.path / METRICS_FILE).write_text(json.dumps(record))
    runs, _ = load_runs(tmp_path)
    titles = sorted(b.title() for b in build_leaderboards(runs, with_stats=False))
    assert len(titles) == 2  # never averaged together
    assert "64 px)" in titles[0] and "64 px, scored at 256 px)" in titles[1]


def test_rows_trained_for_different_budgets_are_named_in_the_caption(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6, overrides={"epochs": 30})
    make_run(tmp_path, "palette", 0, 0.7, overrides={"epochs": 80})
    [board] = build_leaderboards(load_runs(tmp_path)[0])
    assert board.epochs == {"unet": 30, "palette": 80}
    assert ("trained for different numbers of epochs (30: unet; 80: palette): a difference "
            "between them may be the training budget") in board.caption()
    same = tmp_path / "same"
    make_run(same, "unet", 0, 0.6, overrides={"epochs": 30})
    make_run(same, "dodnet", 0, 0.7, overrides={"epochs": 30})
    [board] = build_leaderboards(load_runs(same)[0])
    assert "different numbers of epochs" not in board.caption()
