"""`vsbench predict` (a completed run applied to new fields) and `vsbench score` (predictions
made elsewhere, scored and ranked as a submitted run), end to end on one tiny unet run whose
test fields (48 px) are predicted in tiles of its training size (32 px)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

from tests.conftest import TINY, all_tiers
from vsbench.cli import app
from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.engine.predictions import load_test_predictions
from vsbench.store import RunFolder

runner = CliRunner()
CHANNELS = ["DNA", "ER", "RNA", "AGP", "Mito"]
FLOAT16_STEP = 2.0 ** -11  # float16's spacing on [0.5, 1): the rounding of the saved arrays


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A completed unet run (32 px tiles, 48 px test fields) and its saved test predictions."""
    root = tmp_path_factory.mktemp("apply")
    patch = all_tiers()  # `score` is checked against the run's own tier summaries
    try:
        out = invoke("run", "--dataset", "synthetic",
                     "--method", "unet", "--results", root / "results", "--data-root",
                     root / "data", *TINY, "--set", "eval_image_size=48")
    finally:
        patch.undo()
    assert out.exit_code == 0, out.output
    [folder] = (root / "results" / "runs" / "synthetic" / "unet").iterdir()
    return root, folder, load_test_predictions(folder)


def brightfield_folder(path, ids):
    """The raw (un-normalised) 128 px brightfield of the synthetic fields ``ids``, one
    three-page TIFF per field, as a microscope would write them."""
    path.mkdir()
    source = SyntheticSource()
    by_id = {r.sample_id: r for r in source.records()}
    for sid in ids:
        raw = source.load(by_id[sid]).brightfield
        assert raw.shape == (3, 128, 128)
        tifffile.imwrite(path / f"{sid}.tif", raw.astype(np.float32), photometric="minisblack")
    return path


def test_predict_a_folder_reproduces_the_runs_test_predictions(tiny_run, tmp_path):
    root, folder, saved = tiny_run
    ids = list(saved.sample_ids[:5])
    inputs = brightfield_folder(tmp_path / "new", ids)
    out = invoke("predict", folder, "--input", inputs, "--out", tmp_path / "pred")
    assert out.exit_code == 0, out.output
    assert "predicted 5 field(s)" in out.output
    # the fields were resized as the run's test fields were, and the output says so
    assert "resized 5 of 5 field(s) to the run's evaluation size (128x128 -> 48x48 px)" in (
        " ".join(out.output.split()))
    for i, sid in enumerate(ids):
        path = tmp_path / "pred" / f"{sid}.ome.tif"
        with tifffile.TiffFile(path) as tif:
            image = tif.asarray()
            ome = tif.ome_metadata
        assert image.shape == (5, 48, 48) and image.dtype == np.float32
        assert all(f'Name="{c}"' in ome for c in CHANNELS)
        expected = saved.prediction[saved.sample_ids.index(sid)].astype(np.float32)
        # equal to float16 precision: within the saved arrays' rounding
        assert np.abs(image - expected).max() <= FLOAT16_STEP
        assert np.mean(image.astype(np.float16) == saved.prediction[
            saved.sample_ids.index(sid)]) > 0.99
    manifest = json.loads((tmp_path / "pred" / "manifest.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    assert manifest["run_id"] == folder.name and manifest["channels"] == CHANNELS
    rows = manifest["fields"]
    assert [r["sample_id"] for r in rows] == ids
    assert rows[0]["input"] == str(inputs / f"{ids[0]}.tif")
    assert rows[0]["output"] == f"{ids[0]}.ome.tif"
    assert rows[0]["input_shape"] == [3, 128, 128] and rows[0]["shape"] == [5, 48, 48]
    assert {r["config_hash"] for r in rows} == {config["config_hash"]}
    header = (tmp_path / "pred" / "manifest.csv").read_text().splitlines()[0]
    assert header == "sample_id,input,output,input_shape,shape,pixel_size_um,run_id,config_hash"


def test_predict_at_the_inputs_own_resolution_in_tiles(tiny_run, tmp_path):
    from rich.console import Console

    from vsbench.predict.apply import predict_run

    root, folder, saved = tiny_run
    ids = list(saved.sample_ids[:2])
    inputs = brightfield_folder(tmp_path / "new", ids)
    out = invoke("predict", folder, "--input", inputs, "--out", tmp_path / "pred",
                 "--resolution", "input")
    assert out.exit_code == 0, out.output
    assert "resized" not in out.output
    manifest = json.loads((tmp_path / "pred" / "manifest.json").read_text())
    assert manifest["resolution"] == "input" and manifest["tile"] == 32
    assert [r["shape"] for r in manifest["fields"]] == [[5, 128, 128]] * 2
    for sid in ids:
        image = tifffile.imread(tmp_path / "pred" / f"{sid}.ome.tif")
        assert image.shape == (5, 128, 128) and 0 <= image.min() and image.max() <= 1
        # predicted, not an upsampled 48 px prediction: detail at the input's scale
        assert np.abs(np.diff(image, axis=-1)).mean() > 0
    # a field smaller than the training tile cannot be tiled: named, with the fix
    small = tmp_path / "small"
    small.mkdir()
    tifffile.imwrite(small / "f.tif", np.random.default_rng(0).random((3, 24, 24), np.float32),
                     photometric="minisblack")
    out = invoke("predict", folder, "--input", small, "--out", tmp_path / "p2",
                 "--resolution", "input")
    assert out.exit_code == 2
    assert "is smaller than the run's 32 px tile; predict it with --resolution run" in (
        " ".join(out.output.split()))
    out = invoke("predict", folder, "--dataset", "synthetic", "--out", tmp_path / "p3",
                 "--resolution", "input")
    assert out.exit_code == 2 and "use --input FOLDER_OR_ZARR" in " ".join(out.output.split())
    # --dataset knows how many fields it predicts: the bar shows 24/24, not 24/?
    shown = Console(file=__import__("io").StringIO(), force_terminal=True, width=100)
    rows = predict_run(RunFolder(folder), tmp_path / "p4", dataset="synthetic",
                       data_root=root / "data", console=shown)
    assert len(rows) == 24 and "24/24" in shown.file.getvalue()


def test_predict_an_ome_zarr_plate_to_ome_zarr(tiny_run, tmp_path):
    from iohub.ngff import open_ome_zarr

    root, folder, saved = tiny_run
    ids = list(saved.sample_ids[:2])
    source = SyntheticSource()
    by_id = {r.sample_id: r for r in source.records()}
    plate_path = tmp_path / "live.zarr"
    with open_ome_zarr(plate_path, layout="hcs", mode="w",
                       channel_names=list(source.info.planes)) as plate:
        for f, sid in enumerate(ids):
            raw = source.load(by_id[sid]).brightfield
            plate.create_position("B", "3", str(f)).create_image("0", raw[None, :, None])
    out = invoke("predict", folder, "--input", plate_path, "--out", tmp_path / "pred",
                 "--format", "ome-zarr")
    assert out.exit_code == 0, out.output
    with open_ome_zarr(tmp_path / "pred" / "predictions.zarr", mode="r") as plate:
        assert list(plate.channel_names) == CHANNELS
        for f, sid in enumerate(ids):
            image = np.asarray(plate[f"B/3/{f}"]["0"][0, :, 0])
            expected = saved.prediction[saved.sample_ids.index(sid)].astype(np.float32)
            assert np.abs(image - expected).max() <= FLOAT16_STEP
    rows = json.loads((tmp_path / "pred" / "manifest.json").read_text())["fields"]
    assert [r["output"] for r in rows] == ["predictions.zarr/B/3/0", "predictions.zarr/B/3/1"]
    assert rows[0]["sample_id"] == "live_B3_s0"


def test_predict_errors_name_the_thing_and_the_fix(tiny_run, tmp_path):
    root, folder, saved = tiny_run
    out = invoke("predict", "20200101-000000-seed0-abcdef", "--input", tmp_path, "--out",
                 tmp_path / "o", "--results", root / "results")
    assert out.exit_code == 2
    assert "unknown run 20200101-000000-seed0-abcdef" in out.output
    unfinished = tmp_path / "unfinished"
    shutil.copytree(folder, unfinished)
    RunFolder(unfinished).set_state("running")
    out = invoke("predict", unfinished, "--input", tmp_path, "--out", tmp_path / "o")
    assert out.exit_code == 2 and "is running, not completed" in out.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.tif").write_bytes(b"II*\x00not really a tiff")
    out = invoke("predict", folder, "--input", bad, "--out", tmp_path / "o")
    assert out.exit_code == 2
    assert f"Image {bad / 'broken.tif'} cannot be read" in " ".join(out.output.split())
    one = tmp_path / "one-plane"
    one.mkdir()
    tifffile.imwrite(one / "f1.tif", np.ones((128, 128), np.float32))
    out = invoke("predict", folder, "--input", one, "--out", tmp_path / "o")
    assert out.exit_code == 2
    text = " ".join(out.output.split())
    assert "holds 1 brightfield plane(s) but the run was trained on 3" in text
    assert str(one / "f1.tif") in text
    out = invoke("predict", folder, "--out", tmp_path / "o")
    assert out.exit_code == 2 and "give either --dataset NAME or --input" in out.output


def test_predict_into_earlier_predictions_needs_overwrite_and_keeps_them_on_failure(
        tiny_run, tmp_path):
    root, folder, saved = tiny_run
    first, second = list(saved.sample_ids[:3]), list(saved.sample_ids[3:4])
    pred = tmp_path / "pred"
    out = invoke("predict", folder, "--input", brightfield_folder(tmp_path / "a", first),
                 "--out", pred)
    assert out.exit_code == 0, out.output
    before = {p.name: p.read_bytes() for p in pred.iterdir()}
    inputs = brightfield_folder(tmp_path / "b", second)
    out = invoke("predict", folder, "--input", inputs, "--out", pred)
    assert out.exit_code == 2 and "pass --overwrite" in " ".join(out.output.split())
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.tif").write_bytes(b"II*\x00not really a tiff")
    out = invoke("predict", folder, "--input", bad, "--out", pred, "--overwrite")
    assert out.exit_code == 2  # the failed predict leaves the earlier one whole
    assert {p.name: p.read_bytes() for p in pred.iterdir()} == before
    out = invoke("predict", folder, "--input", inputs, "--out", pred, "--overwrite")
    assert out.exit_code == 0, out.output
    rows = json.loads((pred / "manifest.json").read_text())["fields"]
    assert [r["sample_id"] for r in rows] == second
    # the manifest describes every file in the folder: the first predict's fields are gone
    assert {p.name for p in pred.iterdir()} == {r["output"] for r in rows} | {
        "manifest.csv", "manifest.json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "bad", "pred"]


def metrics_of(folder):
    return json.loads((folder / "metrics.json").read_text())


def same_tiers(mine, theirs):
    """The tier summaries, but for timings and whether the ground truth came from the cache."""
    def strip(summary):
        return {k: v for k, v in summary.items() if k not in ("seconds", "ground_truth")}
    assert strip(mine) == strip(theirs)
    assert mine["ground_truth"]["cache_key"] == theirs["ground_truth"]["cache_key"]


def test_score_of_the_runs_own_predictions_reproduces_its_metrics(tiny_run, tmp_path):
    root, folder, saved = tiny_run
    run = metrics_of(folder)
    # predictions made with `vsbench predict` (float32) score exactly as the run scored itself
    out = invoke("predict", folder, "--dataset", "synthetic", "--out", tmp_path / "mine")
    assert out.exit_code == 0, out.output
    out = invoke("score", "--predictions", tmp_path / "mine", "--dataset", "synthetic",
                 "--name", "unet-again", "--description", "the run, predicted again",
                 "--results", root / "results", "--data-root", root / "data")
    assert out.exit_code == 0, out.output
    [again] = (root / "results" / "runs" / "synthetic" / "unet-again").iterdir()
    scored = metrics_of(again)
    assert scored["channels"] == run["channels"] and scored["average"] == run["average"]
    assert scored["n_test_images"] == 24 and scored["eval_image_size"] == 48
    assert (scored["preset"], scored["image_size"]) == ("smoke", 32)  # the run's leaderboard
    assert scored["train_seconds"] is None
    same_tiers(scored["biometrics"], run["biometrics"])
    # and the profile tier: the same wells, the same mAP as the run's own (so a submission is
    # on the profile board too)
    assert scored["profiles"]["virtual"]["mean_map"] == pytest.approx(
        run["profiles"]["virtual"]["mean_map"])
    assert scored["profiles"]["real"] == run["profiles"]["real"]
    assert (again / "profiles_map.csv").is_file()
    config = json.loads((again / "config.json").read_text())
    assert config["submitted"] is True and config["description"] == "the run, predicted again"
    assert len(config["predictions_digest"]) == 64 and not (again / "train_log.csv").exists()
    assert not (again / "checkpoint.pt").exists()
    # the run's own saved float16 arrays: the same tiers, pixel metrics to float16 rounding
    npy = tmp_path / "npy"
    npy.mkdir()
    for sid, image in zip(saved.sample_ids, saved.prediction):
        np.save(npy / f"{sid}.npy", image.astype(np.float32))
    out = invoke("score", "--predictions", npy, "--dataset", "synthetic", "--name", "ext",
                 "--results", root / "results", "--data-root", root / "data")
    assert out.exit_code == 0, out.output
    [ext] = (root / "results" / "runs" / "synthetic" / "ext").iterdir()
    same_tiers(metrics_of(ext)["biometrics"], run["biometrics"])
    for channel, values in run["channels"].items():
        for metric, value in values.items():
            assert metrics_of(ext)["channels"][channel][metric] == pytest.approx(value, abs=2e-3)
    board = invoke("compare", "--results", root / "results")
    assert board.exit_code == 0, board.output
    assert "ext (submitted)" in board.output and "unet-again (submitted)" in board.output
    assert "unet " in board.output


@pytest.mark.parametrize("fault, message", [
    ("missing", "no prediction for 1 test sample(s), e.g. {first}"),
    ("extra", "not-a-sample.npy is not a test sample of the split"),
    ("channels", "Prediction {path} has shape (4, 48, 48); expected [5, H, W]"),
    ("size", "Prediction {path} is 40 x 40 pixels; expected 48 x 48"),
    ("nan", "Prediction {path} has 1 NaN or Inf pixel(s)"),
])
def test_score_refuses_bad_predictions_before_writing(tiny_run, tmp_path, fault, message):
    root, folder, saved = tiny_run
    preds = tmp_path / "preds"
    preds.mkdir()
    for sid in saved.sample_ids:
        np.save(preds / f"{sid}.npy", np.full((5, 48, 48), 0.5, np.float32))
    second = saved.sample_ids[1]
    path = preds / f"{second}.npy"
    if fault == "missing":
        (preds / f"{saved.sample_ids[0]}.npy").unlink()
    elif fault == "extra":
        np.save(preds / "not-a-sample.npy", np.zeros((5, 48, 48), np.float32))
    elif fault == "channels":
        np.save(path, np.zeros((4, 48, 48), np.float32))
    elif fault == "size":
        np.save(path, np.zeros((5, 40, 40), np.float32))
    else:
        bad = np.zeros((5, 48, 48), np.float32)
        bad[2, 3, 4] = np.nan
        np.save(path, bad)
    results = tmp_path / "results"
    out = invoke("score", "--predictions", preds, "--dataset", "synthetic", "--name", "bad",
                 "--results", results, "--data-root", root / "data")
    assert out.exit_code == 2
    expected = message.format(first=saved.sample_ids[0], path=path)
    assert expected in " ".join(out.output.split())
    assert not results.exists()  # nothing scored or written


def test_score_refuses_a_registered_methods_name(tiny_run, tmp_path):
    root, *_ = tiny_run
    out = invoke("score", "--predictions", tmp_path, "--dataset", "synthetic", "--name", "unet",
                 "--results", tmp_path / "r", "--data-root", root / "data")
    assert out.exit_code == 2 and "a registered method has that name" in out.output


pytestmark = [pytest.mark.e2e, pytest.mark.tiers]
