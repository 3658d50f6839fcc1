"""Every record a leaderboard reads back is checked (issue 31): a per-image table that is not
the run's test images (cut short, other ids, a value off its metric's range, a mean that is not
metrics.json's) and a metrics.json holding values no scoring writes (PCC 5.0, an Average NaN
where every channel is defined) are named in one warning line and not ranked."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.leaderboard.test_board import N_IMAGES, make_run
from vsbench.layout import METRICS_FILE, PER_IMAGE_FILE, TEST_PREDICTIONS_FILE
from vsbench.leaderboard import build_leaderboards, load_runs


def _edit_table(folder, change):
    path = folder.file(PER_IMAGE_FILE)
    frame = pd.read_csv(path, dtype={"sample_id": str})
    frame = change(frame)
    frame.to_csv(path, index=False)


def _edit_metrics(folder, change):
    path = folder.file(METRICS_FILE)
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _truncate(folder):
    path = folder.file(PER_IMAGE_FILE)
    path.write_bytes(path.read_bytes()[:300])


def _half(folder):
    _edit_table(folder, lambda f: f[f["sample_id"] < f"img{N_IMAGES // 2:02d}"])


def _rename(folder):
    _edit_table(folder, lambda f: f.replace({"sample_id": {"img03": "imgXX"}}))


def _set(metric, value):
    def change(frame):
        frame.loc[(frame["sample_id"] == "img05") & (frame["channel"] == "ER"), metric] = value
        return frame
    return lambda folder: _edit_table(folder, change)


def _record(path, value):
    def change(record):
        section, *rest = path
        target = record[section]
        for key in rest[:-1]:
            target = target[key]
        target[rest[-1]] = value
    return lambda folder: _edit_metrics(folder, change)


@pytest.mark.parametrize("damage,words", [
    (_truncate, "per_image_metrics.csv"),
    (_half, "per_image_metrics.csv holds 12 test image(s), metrics.json n_test_images 24"),
    (_set("pcc", 5.0), "per_image_metrics.csv has a PCC that is 5, outside [-1, 1]"),
    (_set("ssim", -3.0), "per_image_metrics.csv has a SSIM that is -3, outside [-1, 1]"),
    (_set("mse", -0.5), "per_image_metrics.csv has a MSE that is -0.5, below 0"),
    (_set("mae", math.nan), "per_image_metrics.csv has a MAE that is NaN"),
    (_set("pcc", 0.99), "metrics.json ER PCC is 0.51 but the mean of per_image_metrics.csv is"),
    (_record(("channels", "DNA", "pcc"), 5.0), "DNA PCC is 5, outside [-1, 1]"),
    (_record(("average", "pcc"), math.nan), "Average PCC is NaN, not a number"),
    (_record(("channels", "DNA", "mse"), -1.0), "DNA MSE is -1, below 0"),
    (_record(("channels", "ER", "pcc"), math.nan), "metrics.json ER PCC is nan but the mean"),
])
def test_a_damaged_record_is_named_and_not_ranked(tmp_path, damage, words):
    make_run(tmp_path, "unet", 0, 0.6)
    bad = make_run(tmp_path, "palette", 0, 0.5)
    damage(bad)
    runs, warnings = load_runs(tmp_path)
    [line] = [w for w in warnings if bad.run_id in w]
    assert words in line and "\n" not in line and line.startswith("skipped ")
    [board] = build_leaderboards(runs)
    assert list(board.table.index) == ["unet"]
    assert board.n_images == N_IMAGES


def test_ids_are_matched_not_counted(tmp_path):
    """Renamed ids keep the count; the run's saved test predictions name the right ones."""
    bad = make_run(tmp_path, "palette", 0, 0.5)
    np.savez(bad.file(TEST_PREDICTIONS_FILE), prediction=np.zeros((N_IMAGES, 1, 1, 1)),
             sample_ids=np.array([f"img{i:02d}" for i in range(N_IMAGES)]),
             channels=np.array(["DNA"]))
    assert not load_runs(tmp_path)[1]  # the right ids pass
    _rename(bad)
    runs, [line] = load_runs(tmp_path)
    assert ("per_image_metrics.csv holds 24 test image(s), the run's test_predictions.npz 24: "
            "1 missing (e.g. img03), 1 not among them (e.g. imgXX)") in line
    assert runs.empty


def test_ids_are_matched_against_the_runs_split_manifest(tmp_path):
    from vsbench.records import ConfigRecord

    bad = make_run(tmp_path, "palette", 0, 0.5)
    manifest = tmp_path / "split.csv"
    rows = [f"img{i:02d},test" for i in range(N_IMAGES - 1)] + ["imgZZ,test", "t0,train"]
    manifest.write_text("sample_id,part\n" + "\n".join(rows) + "\n")
    from vsbench.data.splits import read_split

    config = json.loads(bad.file("config.json").read_text())
    config["split_manifest"] = str(manifest)
    bad.write_config(ConfigRecord.from_json(config))
    _edit_metrics(bad, lambda r: r.update(split_hash=read_split(manifest).hash))
    _, [line] = load_runs(tmp_path)
    assert f"the run's split {manifest} 24: 1 missing (e.g. imgZZ)" in line


def test_a_legacy_nan_average_beside_an_undefined_channel_still_counts(tmp_path):
    run = make_run(tmp_path, "unet", 0, 0.6)
    _record(("channels", "DNA", "pcc"), math.nan)(run)
    _record(("average", "pcc"), math.nan)(run)
    _edit_table(run, lambda f: f.assign(pcc=f["pcc"].where(f["channel"] != "DNA")))
    runs, warnings = load_runs(tmp_path)
    assert not warnings and not runs.empty


def test_a_missing_table_is_not_a_damaged_one(tmp_path):
    make_run(tmp_path, "unet", 0, 0.6, per_image=False)
    runs, warnings = load_runs(tmp_path)
    assert not warnings and not runs.empty
