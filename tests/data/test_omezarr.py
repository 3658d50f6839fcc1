"""ome-zarr: a small OME-Zarr HCS plate written with iohub (the library VisCy uses), read by
channel name, Z slice or projection and time point, and trained on end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import TINY
from vsbench.cli import app
from vsbench.data.sources.omezarr import OmeZarrSettings, OmeZarrSource
from vsbench.data.preprocess import percentile_normalise
from vsbench.data.source import DataError, check_sample
from vsbench.errors import ConfigError

pytest.importorskip("iohub")
runner = CliRunner()
CHANNELS = ["Phase3D", "Nuclei", "Membrane"]
WELLS = [("A", "1"), ("A", "2"), ("B", "1"), ("B", "2")]


def field(seed: int, t: int, size: int = 32) -> np.ndarray:
    """[C, Z, Y, X]: nuclei and membranes, and a phase image that shows both."""
    rng = np.random.default_rng(seed * 10 + t)
    yy, xx = np.mgrid[:size, :size]
    nuclei = np.zeros((size, size))
    for _ in range(3):
        cy, cx = rng.uniform(6, size - 6, 2)
        nuclei += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 12.0)
    membrane = np.abs(np.gradient(nuclei)[0]) + rng.normal(0, 0.01, nuclei.shape)
    phase = 0.5 * nuclei + membrane
    stacks = [np.stack([(0.5 + 0.5 * z) * image for z in range(3)])
              for image in (phase, 100 * nuclei, 50 * membrane)]
    return np.stack(stacks).astype(np.float32)


def write_plate(path, times: int = 2, fields: int = 2) -> dict:
    from iohub.ngff import open_ome_zarr

    data = {}
    with open_ome_zarr(path, layout="hcs", mode="w", channel_names=CHANNELS) as plate:
        for w, (row, col) in enumerate(WELLS):
            for f in range(fields):
                image = np.stack([field(10 * w + f, t) for t in range(times)])
                plate.create_position(row, col, str(f)).create_image("0", image)
                data[f"{row}/{col}/{f}"] = image
    return data


@pytest.fixture(scope="module")
def plate(tmp_path_factory):
    path = tmp_path_factory.mktemp("zarr") / "livecell.zarr"
    return path, write_plate(path)


def source_for(path, tmp_path, **settings) -> OmeZarrSource:
    settings = {"planes": ("Phase3D",), "channels": ("Nuclei", "Membrane"), **settings}
    return OmeZarrSource(OmeZarrSettings(root=str(path), **settings), tmp_path / "data")


def test_wells_sites_and_time_points_are_samples(plate, tmp_path):
    path, _ = plate
    source = source_for(path, tmp_path)
    records = source.records()
    assert len(records) == 4 * 2 * 2
    assert records[0].sample_id == "livecell_A1_s0_t0" and records[1].sample_id == (
        "livecell_A1_s0_t1")
    assert {r.well for r in records} == {"A1", "A2", "B1", "B2"}
    assert {r.plate for r in records} == {"livecell"}
    assert source.info.planes == ("Phase3D",) and source.info.channels == ("Nuclei", "Membrane")
    first = source_for(path, tmp_path, timepoints="first").records()
    assert [r.sample_id for r in first][:2] == ["livecell_A1_s0", "livecell_A1_s1"]
    assert len(first) == 8


@pytest.mark.parametrize("z", ["0", "2", "middle", "max"])
def test_pixels_by_channel_name_and_z(plate, tmp_path, z):
    path, data = plate
    source = source_for(path, tmp_path, z=z, planes=("Membrane",), channels=("Nuclei",))
    record = next(r for r in source.records() if r.sample_id == "livecell_B2_s1_t1")
    sample = check_sample(source.load(record), source.info)
    stack = data["B/2/1"][1]  # time point 1: [C, Z, Y, X]
    pick = (lambda c: stack[c].max(axis=0)) if z == "max" else (
        lambda c: stack[c][1 if z == "middle" else int(z)])
    np.testing.assert_allclose(sample.brightfield, percentile_normalise(pick(2)[None]),
                               atol=1e-6)
    np.testing.assert_allclose(sample.fluorescence, percentile_normalise(pick(1)[None]),
                               atol=1e-6)


def test_bad_settings_and_stores(plate, tmp_path):
    path, _ = plate
    with pytest.raises(DataError, match="has no channel DAPI \\(its channels: Phase3D, Nuclei, "
                                        "Membrane\\)"):
        source_for(path, tmp_path, channels=("DAPI",)).records()
    with pytest.raises(DataError, match="needs its input and target channels by name"):
        OmeZarrSource(OmeZarrSettings(root=str(path)), tmp_path).records()
    with pytest.raises(DataError, match="has 3 Z slice\\(s\\); --set z=5"):
        source = source_for(path, tmp_path, z="5")
        source.load(source.records()[0])
    with pytest.raises(DataError, match="does not exist"):
        source_for(tmp_path / "nope.zarr", tmp_path).records()
    (tmp_path / "not.zarr").mkdir()
    with pytest.raises(DataError, match="cannot be read as an OME-Zarr HCS plate"):
        source_for(tmp_path / "not.zarr", tmp_path).records()
    with pytest.raises(ConfigError, match="--set z=top"):
        OmeZarrSettings(z="top").validate()
    assert source_for(path, tmp_path).symmetry == "none"


def test_fingerprint_follows_the_store(tmp_path):
    path = tmp_path / "p.zarr"
    write_plate(path, times=1, fields=1)
    a = source_for(path, tmp_path).fingerprint()
    assert a == source_for(path, tmp_path).fingerprint()
    assert a != source_for(path, tmp_path, z="max").fingerprint()
    write_plate(path, times=2, fields=1)
    assert a != source_for(path, tmp_path).fingerprint()


@pytest.mark.e2e
def test_plate_trains_unet_end_to_end(plate, tmp_path):
    path, _ = plate
    data, results = tmp_path / "data", tmp_path / "results"
    out = runner.invoke(app, ["data", "prepare", "--dataset", "ome-zarr", "--set", f"root={path}",
                              "--set", "planes=Phase3D", "--set", "channels=Nuclei,Membrane",
                              "--image-size", "32", "--data-root", str(data)],
                        env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "16 samples, 1 plate(s); planes Phase3D -> channels Nuclei, Membrane" in out.output
    out = runner.invoke(app, ["run", "--method", "unet", "--dataset", "ome-zarr", "--data-root",
                              str(data), "--results", str(results), *TINY],
                        env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    [folder] = (results / "runs" / "ome-zarr" / "unet").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert list(metrics["channels"]) == ["Nuclei", "Membrane"] and metrics["n_test_images"] >= 2
    config = json.loads((folder / "config.json").read_text())
    assert config["planes"] == ["Phase3D"]
    assert config["augmentation"] == {"symmetry": "none", "applied": "none"}
