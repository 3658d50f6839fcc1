"""folder: a lab's own images with only a nuclear channel and one brightfield plane, read from
a manifest or a folder layout, and trained end to end with unet through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import TINY
from tests.data_fixtures import make_folder_dataset, nuclei_field, write_tiff
from vsbench.cli import app
from vsbench.data.sources.folder import FolderSettings, FolderSource
from vsbench.data.source import DataError, check_sample

runner = CliRunner()
ENV = {"COLUMNS": "200"}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env=ENV)


def source_for(root, tmp_path, **settings) -> FolderSource:
    return FolderSource(FolderSettings(root=str(root), **settings), tmp_path / "data")


def hand_normalised(image: np.ndarray, low=2.0, high=98.0) -> np.ndarray:
    lo, hi = np.percentile(image.astype(np.float64), [low, high])
    return np.clip((image - lo) / (hi - lo), 0, 1)


def test_manifest_and_layout_read_the_same_samples(tmp_path):
    manifest = source_for(make_folder_dataset(tmp_path / "m"), tmp_path)
    layout = source_for(make_folder_dataset(tmp_path / "l", manifest=False), tmp_path)
    assert manifest.info.channels == layout.info.channels == ("DNA",)
    assert manifest.info.planes == layout.info.planes == ("BF",)
    assert manifest.info.label_kinds == {"perturbation": ("DMSO", "nocodazole")}
    assert layout.info.label_kinds == {}
    ids = [r.sample_id for r in manifest.records()]
    assert ids == [r.sample_id for r in layout.records()] and ids[0] == "P1_A01_s1"
    assert len(ids) == 12 and {r.plate for r in manifest.records()} == {"P1", "P2", "P3"}
    record = manifest.records()[0]
    a, b = manifest.load(record), layout.load(record)
    check_sample(a, manifest.info)
    np.testing.assert_array_equal(a.fluorescence, b.fluorescence)
    dna, bf = nuclei_field(1, 48)  # P1 (p=0), A01 (w=0), site 1
    np.testing.assert_allclose(a.fluorescence[0], hand_normalised(dna), atol=1e-6)
    np.testing.assert_allclose(a.brightfield[0], hand_normalised(bf), atol=1e-6)


def test_ome_tiff_stacks_are_addressed_by_plane(tmp_path):
    root = tmp_path / "ome"
    root.mkdir()
    rng = np.random.default_rng(0)
    stacks = []
    for i, plate in enumerate(("P1", "P2", "P3")):
        stack = rng.integers(0, 4000, (3, 20, 20), dtype=np.uint16)  # BF, DNA, ER
        import tifffile

        tifffile.imwrite(root / f"{plate}.ome.tif", stack, metadata={"axes": "CYX"})
        stacks.append(stack)
    pd.DataFrame({"plate": ["P1", "P2", "P3"], "well": "A01", "site": 1,
                  "bf_BF": [f"{p}.ome.tif#0" for p in ("P1", "P2", "P3")],
                  "fl_DNA": [f"{p}.ome.tif#1" for p in ("P1", "P2", "P3")],
                  "fl_ER": [f"{p}.ome.tif#2" for p in ("P1", "P2", "P3")]}
                 ).to_csv(root / "manifest.csv", index=False)
    source = source_for(root, tmp_path)
    sample = source.load(source.records()[1])
    np.testing.assert_allclose(sample.fluorescence[1], hand_normalised(stacks[1][2]), atol=1e-6)
    pd.DataFrame({"plate": ["P1"], "well": "A01", "site": 1, "bf_BF": ["P1.ome.tif"],
                  "fl_DNA": ["P1.ome.tif#1"]}).to_csv(root / "manifest.csv", index=False)
    source = source_for(root, tmp_path)
    with pytest.raises(DataError, match="holds 3 planes; name one as 'P1.ome.tif#0'"):
        source.load(source.records()[0])


def test_bad_folder_inputs(tmp_path):
    root = make_folder_dataset(tmp_path / "bad", plates=("P1",), wells=("A01", "A02", "A03"),
                               sites=1, size=32)
    source = source_for(root, tmp_path)
    records = source.records()
    write_tiff(root / "P1" / "A02_s1_hoechst.tif", np.zeros((32, 32), np.uint8))
    with pytest.raises(DataError, match=r"A02_s1_hoechst.tif is 8-bit \(uint8\) but 2 of the 3 "
                                        r"fl_DNA images are 16-bit \(uint16\)"):
        source.load(records[1])
    write_tiff(root / "P1" / "A02_s1_hoechst.tif", np.zeros((30, 32), np.uint16))
    with pytest.raises(DataError, match="A02_s1_hoechst.tif is 30 x 32 pixels but 5 of the "
                                        "dataset's 6 images are 32 x 32"):
        source.load(records[1])
    (root / "P1" / "A03_s1_bf.png").unlink()
    with pytest.raises(DataError, match="A03_s1_bf.png is missing"):
        source.load(records[2])
    table = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    table.loc[2, "fl_DNA"] = ""
    table.to_csv(root / "manifest.csv", index=False)
    with pytest.raises(DataError, match=r"line 4 \(sample P1_A03_s1\): no file for fl_DNA"):
        source_for(root, tmp_path).records()
    table.drop(columns=["fl_DNA"]).to_csv(root / "manifest.csv", index=False)
    with pytest.raises(DataError, match=r"needs at least one brightfield column \(bf_<plane>\) "
                                        r"and one fluorescence column"):
        source_for(root, tmp_path).records()
    with pytest.raises(DataError, match="does not exist; put your images there"):
        source_for(tmp_path / "nowhere", tmp_path).records()


def test_fingerprint_follows_file_contents(tmp_path):
    root = make_folder_dataset(tmp_path / "fp", plates=("P1",), wells=("A01", "A02", "A03"),
                               sites=1, size=16)
    before = source_for(root, tmp_path).fingerprint()
    assert before == source_for(root, tmp_path).fingerprint()
    dna, _ = nuclei_field(7, 16)
    write_tiff(root / "P1" / "A02_s1_hoechst.tif", dna)  # same size on disk, new pixels
    assert source_for(root, tmp_path).fingerprint() != before


def test_nuclear_channel_only_trains_end_to_end(tmp_path):
    """prepare -> run unet -> compare, with one brightfield plane and one DNA channel: the
    method, the metrics, the picture and the leaderboard follow the dataset's channel set."""
    root = make_folder_dataset(tmp_path / "lab")
    data, results = tmp_path / "data", tmp_path / "results"
    out = invoke("data", "prepare", "--dataset", "folder", "--set", f"root={root}",
                 "--image-size", "32", "--data-root", data)
    assert out.exit_code == 0, out.output
    assert "12 samples, 3 plate(s); planes BF -> channels DNA" in out.output
    assert json.loads((data / "folder" / "source.json").read_text())["root"] == str(root)
    [cache] = [p for p in (data / "folder" / "cache").iterdir() if p.is_dir()]
    built = (cache / "fluorescence.npy").stat().st_mtime_ns

    out = invoke("run", "--method", "unet", "--dataset", "folder", "--data-root", data,
                 "--results", results, *TINY)
    assert out.exit_code == 0, out.output
    [folder] = (results / "runs" / "folder" / "unet").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert list(metrics["channels"]) == ["DNA"] and metrics["n_test_images"] == 4
    assert 0 <= metrics["average"]["mse"] <= 1
    config = json.loads((folder / "config.json").read_text())
    assert config["planes"] == ["BF"] and config["channels"] == ["DNA"]
    assert (folder / "predictions.png").stat().st_size > 0
    # The run read the prepared cache: nothing was decoded or rebuilt.
    assert [p for p in (data / "folder" / "cache").iterdir() if p.is_dir()] == [cache]
    assert (cache / "fluorescence.npy").stat().st_mtime_ns == built

    board = invoke("compare", "--results", results)
    assert board.exit_code == 0, board.output
    assert "folder" in board.output and "DNA" in board.output and "Mito" not in board.output
    listing = invoke("datasets", "--data-root", data)
    row = next(line for line in listing.output.splitlines() if line.startswith("│ folder"))
    assert "32 px" in row and config["split_hash"] in row


def test_planning_a_run_decodes_no_image(tmp_path, monkeypatch):
    """``plan_run`` (which ``vsbench sweep`` calls per grid cell to decide what to skip) lists
    records and hashes files but never decodes an image or builds the cache."""
    from vsbench.data.sources import folder as folder_source
    from vsbench.engine import RunRequest, plan_run

    root = make_folder_dataset(tmp_path / "lab")
    data = tmp_path / "data"
    out = invoke("data", "prepare", "--dataset", "folder", "--set", f"root={root}",
                 "--image-size", "32", "--data-root", data)
    assert out.exit_code == 0, out.output
    import shutil

    shutil.rmtree(data / "folder" / "cache")

    def no_decoding(*args, **kwargs):
        raise AssertionError("an image was decoded while planning")

    monkeypatch.setattr(folder_source.FolderSource, "load", no_decoding)
    plan = plan_run(RunRequest(method="unet", dataset="folder", data_root=data,
                               overrides={"image_size": "32"}))
    assert plan.config.dataset_fingerprint and len(plan.test_ids) == 4
    assert not (data / "folder" / "cache").exists()


def test_symmetry_is_a_setting_that_defaults_to_none(tmp_path):
    from vsbench.config import ConfigError
    from vsbench.data.sources.jump.source import JumpSource

    root = make_folder_dataset(tmp_path / "lab", plates=("P1",), wells=("A01",), sites=1, size=16)
    plain = FolderSource(FolderSettings(root=str(root)), tmp_path / "d")
    assert plain.symmetry == "none"  # directional contrast is common: no rotation unless asked
    widefield = FolderSource(FolderSettings(root=str(root), symmetry="dihedral"), tmp_path / "d")
    assert widefield.symmetry == "dihedral"
    assert widefield.fingerprint() == plain.fingerprint()  # a training choice, not the data
    assert JumpSource.SYMMETRY == "dihedral"
    with pytest.raises(ConfigError, match="--set symmetry=rot90: use one of dihedral, flips"):
        FolderSettings(symmetry="rot90").validate()
