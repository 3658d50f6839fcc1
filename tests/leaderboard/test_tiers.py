"""Leaderboards of the biological tiers: the same means, intervals, ranks and paired tests as
the pixel tier, over test images (instance) or features (features)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.leaderboard.test_board import make_run
from vsbench.cli import app
from vsbench.layout import FEATURE_SCORES_FILE, METRICS_FILE, PER_IMAGE_INSTANCE_FILE
from vsbench.leaderboard.tiers import build_tier_boards, load_tier_runs

CHANNELS = ("DNA", "ER", "RNA", "AGP", "Mito")
N = 24  # as many test images as make_run records (a partial table is not ranked)
FEATURES = [f"feat{i}" for i in range(10)]


def add_tiers(folder, f1: np.ndarray, r: dict[str, np.ndarray]) -> None:
    """Give a fabricated run per-image instance scores (nuclei F1 ``f1``; cells 0.5) and
    per-feature correlations ``r`` (channel -> one r per feature), and their summary."""
    rows = ["sample_id,objects,n_true,n_pred,matched,precision,recall,f1,mean_iou,"
            "count_error,ap"]
    for i, value in enumerate(f1):
        rows.append(f"img{i:02d},nuclei,4,4,2,{value},{value},{value},0.8,0.25,{value / 2}")
        rows.append(f"img{i:02d},cells,4,4,2,0.5,0.5,0.5,0.7,0.25,0.25")
    (folder.path / PER_IMAGE_INSTANCE_FILE).write_text("\n".join(rows) + "\n")
    rows = ["channel,feature,n_objects,pearson,spearman,median_real,median_pred,median_error"]
    for channel, values in r.items():
        rows += [f"{channel},{name},40,{v},{v},1,1,0" for name, v in zip(FEATURES, values)]
    rows.append("DNA|ER,Correlation_Pearson,40,0.9,0.9,1,1,0")  # pairs are not on the board
    (folder.path / FEATURE_SCORES_FILE).write_text("\n".join(rows) + "\n")
    metrics = json.loads(folder.file(METRICS_FILE).read_text())
    metrics["biometrics"] = {"version": 1, "tiers": ["instance", "features"],
                             "instance": {"nuclei": {"f1": float(np.mean(f1))}},
                             "features": {"average": {}}}
    folder.file(METRICS_FILE).write_text(json.dumps(metrics))


@pytest.fixture
def results(tmp_path):
    """unet: best PCC, worse nuclei F1 and feature r; dodnet the other way round; palette has
    no tiers (made before them)."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.3, 0.7, N)
    for method, pcc, shift in (("unet", 0.8, 0.0), ("dodnet", 0.6, 0.2)):
        for seed in (0, 1):
            folder = make_run(tmp_path, method, seed, pcc)
            r = {c: np.linspace(0.1, 0.6, 10) + shift + 0.01 * seed for c in CHANNELS}
            add_tiers(folder, np.clip(base + shift + 0.02 * seed, 0, 1), r)
    make_run(tmp_path, "palette", 0, 0.7)
    return tmp_path, base


def test_instance_board(results):
    root, base = results
    runs, notes = load_tier_runs(root, "instance")
    assert any("1 run(s) have no instance tier" in n and "palette" in n for n in notes)
    (board,) = build_tier_boards(runs, "instance")
    assert list(board.table.index) == ["dodnet", "unet"]  # ranked on nuclei F1
    assert board.sort_by == ("nuclei", "f1") and board.tier == "instance"
    unet = np.clip(base, 0, 1).mean() + 0.01  # mean over images, then over seeds 0 and 1
    assert board.table.loc["unet", ("nuclei", "f1")] == pytest.approx(unet)
    assert board.table.loc["unet", ("nuclei", "ap")] == pytest.approx(unet / 2)
    assert board.table.loc["unet", ("cells", "f1")] == pytest.approx(0.5)
    assert board.std.loc["unet", ("nuclei", "f1")] == pytest.approx(np.std([unet - 0.01,
                                                                            unet + 0.01],
                                                                           ddof=1))
    low, high = board.ci_low.loc["unet", ("nuclei", "f1")], board.ci_high.loc["unet",
                                                                              ("nuclei", "f1")]
    assert low < unet < high
    # 0.2 lower on every image, whichever seeds and images are drawn: no resample crosses 0
    assert board.p_value["unet"] == 0.0
    assert board.n_images == N and "the 24 test images" in board.caption()
    assert board.title().startswith("instance tier: synthetic")


def test_features_board(results):
    root, _ = results
    (board,) = build_tier_boards(load_tier_runs(root, "features")[0], "features")
    assert list(board.table.index) == ["dodnet", "unet"]
    assert [c for c, m in board.metric_columns() if m == "feature_r"] == [*CHANNELS, "Average"]
    r = np.linspace(0.1, 0.6, 10)
    assert board.table.loc["unet", ("DNA", "feature_r")] == pytest.approx(r.mean() + 0.005)
    assert board.table.loc["unet", ("Average", "feature_good")] == pytest.approx(
        np.mean(r + 0.005 >= 0.5))
    assert board.n_images == 10 and "independently, the 10 features" in board.caption()


def test_controls_have_their_own_unranked_tier_boards(results):
    root, base = results
    # a control better than every method on every tier: it must not take rank 1 or be the
    # row the methods are tested against
    control = make_run(root, "palette-oracle-masks", 0, 0.9, control=True)
    add_tiers(control, np.clip(base + 0.3, 0, 1), {c: np.full(10, 0.95) for c in CHANNELS})
    for tier in ("instance", "features"):
        boards = build_tier_boards(load_tier_runs(root, tier)[0], tier)
        by_section = {b.section: b for b in boards}
        assert len(boards) == 2 and set(by_section) == {"methods", "controls"}
        methods, controls = by_section["methods"], by_section["controls"]
        assert list(methods.table.index) == ["dodnet", "unet"]
        assert int(methods.rank["dodnet"]) == 1 and not np.isnan(methods.p_value["unet"])
        assert list(controls.table.index) == ["palette-oracle-masks"]
        assert controls.rank is None and controls.p_value is None
        assert "CONTROLS" in controls.title() and controls.title().startswith(f"{tier} tier")
    out = CliRunner().invoke(app, ["compare", "--results", str(root), "--tier", "instance"],
                             env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert out.output.count("CONTROLS") == 1


def test_compare_tier_all_and_errors(results):
    root, _ = results
    runner = CliRunner()
    out = runner.invoke(app, ["compare", "--results", str(root), "--tier", "all"],
                        env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert "instance tier: synthetic" in out.output and "features tier: synthetic" in out.output
    assert "palette" in out.output  # on the pixel board
    default = runner.invoke(app, ["compare", "--results", str(root)], env={"COLUMNS": "250"})
    assert "instance tier" not in default.output
    bad = runner.invoke(app, ["compare", "--results", str(root), "--tier", "cells"])
    assert bad.exit_code == 2 and "--tier cells: choose one of pixel, instance, features, profiles, posterior, all" in (
        bad.output)
    none = runner.invoke(app, ["compare", "--results", str(root), "--tier", "instance",
                               "--methods", "palette"])
    assert none.exit_code != 0


def test_the_report_has_a_tiers_section(results, tmp_path):
    from vsbench.report.build import build_report

    root, _ = results
    page = build_report(root, tmp_path / "report", data_root=tmp_path / "data").read_text()
    assert page.count("<h3>Instance tier</h3>") == 1 and page.count("<h3>Features tier</h3>") == 1
    assert "<h4>instance: f1</h4>" in page and "<h4>features: feature_r</h4>" in page
    assert "independently, the 10 features" in page


def test_the_profile_board_flags_a_method_given_the_test_labels():
    from vsbench.leaderboard.builder import board_notes
    from vsbench.tiers.registry import tier
    from vsbench.tiers.profiles import board_notes as profile_notes

    pd = __import__("pandas")
    unflagged = profile_notes(pd.DataFrame({"dataset": "synthetic",
                                            "method": ["unet", "palette"]}))
    assert len(unflagged) == 1 and "known-answer ladder" in unflagged[0]  # no label flag
    group = pd.DataFrame({"dataset": "synthetic", "method": ["unet", "class-guided"],
                          "folder": ["a", "b"], "label": ["unet", "class-guided"]})
    notes = " ".join(board_notes(tier("profiles"), group))
    assert "class-guided: given each test field's class label" in notes
    assert "given each test field" not in " ".join(board_notes(tier("instance"), group))
