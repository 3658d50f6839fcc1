"""`vsbench data fetch` against a local S3 server (moto, 127.0.0.1): only the selected files are
downloaded, anonymously; an interrupted download resumes; a corrupted one is caught."""

from __future__ import annotations

import hashlib
import json
import socket

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.data_fixtures import (BATCH, PLATE, expected_plane, make_jump_plate, phenix_name,
                                 plate_folder, write_platemap)
from vsbench.cli import app
from vsbench.data.sources.jump import fetch as fetch_module
from vsbench.data.sources.jump import transfer
from vsbench.data.sources.jump.source import JumpSource
from vsbench.data.source import DataError

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

runner = CliRunner()
BUCKET = "cellpainting-gallery"
PREFIX = "cpg0000-jump-pilot/source_4"
URL = f"s3://{BUCKET}/{PREFIX}"
OTHER = "BR00116992"
SHARED = "BR00117006"  # in the main batch and, re-imaged, in a timepoint batch
TIMEPOINT = "2020_11_18_CPJUMP1_TimepointDay1"
LATER_WELLS = ("B02", "B03", "B04")  # the timepoint batch's plate of SHARED
SIZE = 24


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    """A public bucket in the Gallery's layout with two plates, on a local moto server."""
    import s3fs

    root = tmp_path_factory.mktemp("gallery") / "source_4"
    for plate in (PLATE, OTHER):
        make_jump_plate(root, plate=plate, wells=("A01", "A02", "A03"), sites=2, size=SIZE,
                        with_platemap=False)
    make_jump_plate(root, plate=SHARED, wells=("A01",), sites=1, size=SIZE, with_platemap=False,
                    timestamp="2020-11-02T19_54_45")
    make_jump_plate(root, plate=SHARED, wells=LATER_WELLS, sites=1, size=SIZE, batch=TIMEPOINT,
                    timestamp="2020-11-03T19_45_39", measurement=2)
    write_platemap(root, (PLATE, OTHER, SHARED), ("A01", "A02", "A03"))
    write_platemap(root, (SHARED,), LATER_WELLS, TIMEPOINT)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    endpoint = f"http://127.0.0.1:{server._port}"
    try:
        # Public objects, read anonymously below, as the Gallery is.
        fs = s3fs.S3FileSystem(key="test", secret="test", use_listings_cache=False,
                               client_kwargs={"endpoint_url": endpoint,
                                              "region_name": "eu-west-1"},
                               s3_additional_kwargs={"ACL": "public-read"})
        fs.mkdir(BUCKET)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            fs.put_file(str(path), f"{BUCKET}/{PREFIX}/{path.relative_to(root).as_posix()}")
        yield endpoint, root
    finally:
        server.stop()


def image(root, plate, well, site, channel, timestamp="2020-11-05T19_51_35"):
    return (root / "images" / BATCH / "images" / plate_folder(plate, timestamp) / "Images"
            / phenix_name(well, site, channel))


def test_fetch_downloads_only_the_selection(gallery, tmp_path):
    endpoint, origin = gallery
    data = tmp_path / "data"
    out = runner.invoke(app, ["data", "fetch", "jump-cpg0000", "--plates", PLATE,
                              "--sites-per-well", "1", "--wells", "A01,A03", "--endpoint-url",
                              endpoint, "--data-root", str(data)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    local = data / "jump-cpg0000"
    tiffs = sorted(p.name for p in local.rglob("*.tiff"))
    assert tiffs == sorted(phenix_name(w, 1, c) for w in ("A01", "A03")
                           for c in ("DNA", "ER", "RNA", "AGP", "Mito", "Brightfield",
                                     "HighZBF", "LowZBF"))
    assert not list(local.rglob(f"*{OTHER}*"))  # the other plate stays on the server
    assert len(list(local.rglob("*.npy"))) == 8
    assert (local / "workspace" / "metadata" / "platemaps" / BATCH / "barcode_platemap.csv"
            ).is_file()
    settings = json.loads((local / "source.json").read_text())
    assert settings["plates"] == [PLATE] and settings["sites_per_well"] == 1
    assert settings["wells"] == ["A01", "A03"]
    assert "files for plate(s) BR00116991: " in out.output and "0 already there" in out.output

    source = JumpSource.from_data_root(data)
    assert [r.sample_id for r in source.records()] == [f"{PLATE}_A01_s1", f"{PLATE}_A03_s1"]
    sample = source.load(source.records()[1])
    np.testing.assert_allclose(sample.fluorescence[0], expected_plane("DNA", 1, SIZE), atol=1e-6)
    assert source.records()[1].labels == {"perturbation": "tozasertib", "target": "AURKA"}

    again = runner.invoke(app, ["data", "fetch", "jump-cpg0000", "--plates", PLATE,
                                "--sites-per-well", "1", "--wells", "A01,A03", "--endpoint-url",
                                endpoint, "--data-root", str(data)], env={"COLUMNS": "200"})
    assert again.exit_code == 0 and " 0 downloaded" in again.output


class FlakyFile:
    """A remote file whose connection drops after ``limit`` bytes."""

    def __init__(self, handle, limit: int) -> None:
        self.handle, self.limit, self.sent = handle, limit, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def seek(self, offset):
        self.sent = offset
        return self.handle.seek(offset)

    def read(self, n=-1):
        if self.sent >= self.limit:
            raise ConnectionResetError("connection reset by peer")
        data = self.handle.read(self.limit - self.sent if n < 0 else min(n, self.limit - self.sent))
        self.sent += len(data)
        return data


class FlakyFS:
    """The real file system, except that one file's first download is cut off."""

    def __init__(self, fs, name: str, limit: int) -> None:
        self.fs, self.name, self.limit, self.cut = fs, name, limit, False

    def __getattr__(self, attr):
        return getattr(self.fs, attr)

    def open(self, path, mode="rb", **kwargs):
        handle = self.fs.open(path, mode, **kwargs)
        if path.endswith(self.name) and not self.cut:
            self.cut = True
            return FlakyFile(handle, self.limit)
        return handle


def test_interrupted_download_resumes_and_is_verified(gallery, tmp_path, monkeypatch):
    endpoint, origin = gallery
    local = tmp_path / "jump"
    target = image(origin, PLATE, "A02", 1, "DNA")
    size = target.stat().st_size
    real_open = fetch_module.open_filesystem

    def flaky(url, endpoint_url=None, **kwargs):
        fs, base = real_open(url, endpoint_url, **kwargs)
        return FlakyFS(fs, target.name, limit=size // 3), base

    monkeypatch.setattr(fetch_module, "open_filesystem", flaky)
    with pytest.raises(DataError, match=f"{target.name} failed after 1 attempt.*run the same "
                                        "command again to resume"):
        fetch_module.fetch_jump(URL, local, (PLATE,), sites_per_well=1, wells=("A02",),
                                endpoint_url=endpoint, retries=0, workers=1)
    part = image(local, PLATE, "A02", 1, "DNA").with_name(target.name + ".part")
    assert part.stat().st_size == size // 3

    complete_before = sum(p.stat().st_size for p in local.rglob("*")
                          if p.is_file() and p.suffix != ".part")
    monkeypatch.setattr(fetch_module, "open_filesystem", real_open)
    report = fetch_module.fetch_jump(URL, local, (PLATE,), sites_per_well=1, wells=("A02",),
                                     endpoint_url=endpoint, workers=1)
    fetched = image(local, PLATE, "A02", 1, "DNA")
    assert fetched.read_bytes() == target.read_bytes() and not part.exists()
    assert report.files == 8 + 8 + 2 + 3  # images, illumination, load_data CSVs, plate maps
    # Only what was missing crossed the network: the interrupted file from its third on.
    total = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
    assert report.bytes == total - complete_before - size // 3

    # A .part whose bytes are wrong cannot pass the checksum.
    other = image(local, PLATE, "A02", 1, "ER")
    other.unlink()
    other.with_name(other.name + ".part").write_bytes(b"\0" * 100)
    with pytest.raises(DataError, match="does not match its checksum"):
        fetch_module.fetch_jump(URL, local, (PLATE,), sites_per_well=1, wells=("A02",),
                                endpoint_url=endpoint, workers=1)
    assert not other.with_name(other.name + ".part").exists()
    fetch_module.fetch_jump(URL, local, (PLATE,), sites_per_well=1, wells=("A02",),
                            endpoint_url=endpoint, workers=1)
    assert hashlib.md5(other.read_bytes()).digest() == hashlib.md5(
        image(origin, PLATE, "A02", 1, "ER").read_bytes()).digest()


def test_unknown_plate_is_named(gallery, tmp_path):
    endpoint, _ = gallery
    with pytest.raises(DataError, match="Plate BR000 has no load_data_csv folder"):
        fetch_module.fetch_jump(URL, tmp_path, ("BR000",), endpoint_url=endpoint)


def test_ambiguous_plate_needs_a_batch_then_fetches_and_prepares_it(gallery, tmp_path):
    """The Gallery's current tables (load_data.csv with URL_ columns) through fetch and prepare
    (which refuses one training field); a barcode in two batches is refused, by one line naming them, until --batch chooses."""
    endpoint, _ = gallery
    data = tmp_path / "data"
    base = ["data", "fetch", "jump-cpg0000", "--plates", SHARED, "--endpoint-url", endpoint,
            "--data-root", str(data)]
    out = runner.invoke(app, base, env={"COLUMNS": "300"})
    assert out.exit_code == 2, out.output
    assert out.output.strip() == (f"error: Plate {SHARED} is in 2 batches ({BATCH}, {TIMEPOINT}"
                                  "); choose one with --batch BATCH (or --set batch=BATCH).")
    assert not (data / "jump-cpg0000").exists() or not list((data / "jump-cpg0000").rglob("*.*"))

    out = runner.invoke(app, base + ["--batch", TIMEPOINT], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    local = data / "jump-cpg0000"
    csvs = sorted(p.name for p in (local / "workspace" / "load_data_csv" / TIMEPOINT / SHARED
                                   ).iterdir())
    assert csvs == ["load_data.csv", "load_data_with_illum.csv"]
    folders = {p.parent.parent.name for p in local.rglob("*.tiff")}
    assert folders == {f"{SHARED}__2020-11-03T19_45_39-Measurement2"}
    assert len(list(local.rglob("*.npy"))) == 8 and len(list(local.rglob("*.tiff"))) == 3 * 8
    assert json.loads((local / "source.json").read_text())["batch"] == TIMEPOINT

    out = runner.invoke(app, ["data", "prepare", "--dataset", "jump-cpg0000", "--data-root",
                              str(data), "--image-size", "32"], env={"COLUMNS": "200"})
    # three wells of one plate split by well leave one training field: prepare refuses to
    # cache a dataset no method can train on, and says how to fix the split
    assert out.exit_code == 2, out.output
    text = " ".join(out.output.split())
    assert "holds 1 sample(s); training needs at least 2" in text and "--regenerate" in text
    assert not list(local.rglob("meta.json"))  # no cache was built
    source = JumpSource.from_data_root(data)
    assert [r.sample_id for r in source.records()] == [f"{SHARED}_{w}_s1" for w in LATER_WELLS]
    sample = source.load(source.records()[0])
    np.testing.assert_allclose(sample.fluorescence[0], expected_plane("DNA", 1, SIZE), atol=1e-6)


def test_multipart_etag_is_verified_by_size(gallery, tmp_path):
    """A multipart upload's ETag ('<md5>-<parts>') is no MD5: the file is checked by its size,
    and a single-part ETag still by its MD5."""
    endpoint, origin = gallery
    fs, base = fetch_module.open_filesystem(URL, endpoint)
    remote = f"{base}/workspace/load_data_csv/{BATCH}/{PLATE}/load_data.csv"
    real_info = fs.info
    info = dict(real_info(remote))
    assert transfer._md5_of_etag(info) == hashlib.md5(
        (origin / "workspace/load_data_csv" / BATCH / PLATE / "load_data.csv").read_bytes()
    ).hexdigest()
    multipart = dict(info, ETag='"0123456789abcdef0123456789abcdef-3"')
    assert transfer._md5_of_etag(multipart) is None

    class Multipart:
        """The server's files, described as a multipart upload (reads go to the real ones)."""

        def __init__(self, described):
            self.described = described

        def info(self, path):
            return self.described

        def open(self, path, mode="rb"):
            return fs.open(path, mode)

    local = tmp_path / "load_data.csv"
    assert transfer.download(fs, remote, local) == info["size"]
    assert local.read_bytes() == (origin / "workspace/load_data_csv" / BATCH / PLATE /
                                  "load_data.csv").read_bytes()
    # Verified by size: a server that says another size is refused.
    with pytest.raises(DataError, match=f"is {info['size']} bytes, expected {info['size'] + 5}"):
        transfer.download(Multipart(dict(multipart, size=info["size"] + 5)), remote,
                              tmp_path / "other.csv", retries=0)
