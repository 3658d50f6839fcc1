"""The bad-input suite on the input side (issue 15): data sources, source settings and
``--set`` values. Each case is refused with one line naming the file, column or key and the
fix, before anything is trained, read further or written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data_fixtures import write_tiff
from vsbench.config import resolve
from vsbench.data.cache import build
from vsbench.data.sources.folder import FolderSettings, FolderSource
from vsbench.diffusion.params import DiffusionParams
from vsbench.errors import ConfigError, DataError


@pytest.mark.parametrize("key", ["lr", "weight_decay", "grad_clip", "checkpoint_minutes",
                                 "dropout", "beta_start"])
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", float("nan")])
def test_non_finite_float_settings_are_refused(key, value):
    with pytest.raises(ConfigError) as err:
        resolve(DiffusionParams, {}, "smoke", {key: value})
    message = str(err.value)
    assert message.startswith(f"--set {key}=") and "finite number" in message
    assert "\n" not in message


def float_folder_dataset(root: Path, plates=("P1", "P2", "P3"), size: int = 16) -> Path:
    """A folder dataset of float32 TIFFs (brightfield and fluorescence), one well per plate."""
    rows = []
    rng = np.random.default_rng(0)
    for plate in plates:
        for well in ("A01", "A02"):
            row = {"plate": plate, "well": well, "site": 1, "label_perturbation": "DMSO"}
            for column in ("bf_BF", "fl_DNA"):
                rel = f"{plate}/{well}_{column}.tif"
                write_tiff(root / rel, rng.random((size, size), dtype=np.float32))
                row[column] = rel
            rows.append(row)
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return root


def folder_source(root: Path, tmp_path: Path) -> FolderSource:
    return FolderSource(FolderSettings(root=str(root)), tmp_path / "data")


@pytest.mark.parametrize("column", ["bf_BF", "fl_DNA"])
@pytest.mark.parametrize("bad,kind", [(np.inf, "+Inf"), (-np.inf, "-Inf"), (np.nan, "NaN")])
def test_non_finite_pixels_are_refused_naming_the_file(tmp_path, column, bad, kind):
    root = float_folder_dataset(tmp_path / "float")
    path = root / "P2" / f"A01_{column}.tif"
    image = np.random.default_rng(1).random((16, 16), dtype=np.float32)
    image[3, 4:7] = bad  # a few pixels: the 98th percentile alone would not notice
    write_tiff(path, image)
    source = folder_source(root, tmp_path)
    record = next(r for r in source.records() if r.sample_id == "P2_A01_s1")
    with pytest.raises(DataError) as err:
        source.load(record)
    message = str(err.value)
    assert message.startswith(f"Image {path} has 3 non-finite pixel(s) ({kind})")
    assert "\n" not in message
    with pytest.raises(DataError, match="non-finite pixel"):
        build(source, 32, tmp_path / "cache")  # what `vsbench data prepare` runs


def test_finite_float_images_load(tmp_path):
    source = folder_source(float_folder_dataset(tmp_path / "float"), tmp_path)
    sample = source.load(source.records()[0])
    assert np.isfinite(sample.fluorescence).all() and sample.fluorescence.max() == 1.0


@pytest.mark.parametrize("labels", [["", "", "", "", "", ""], ["DMSO"] * 6])
def test_class_guided_needs_two_classes_in_the_label_column(tmp_path, labels):
    from vsbench_methods.class_guided import ClassGuidedParams
    from vsbench_methods.class_guided.method import ClassGuidedMethod

    root = float_folder_dataset(tmp_path / "float")
    table = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    table["label_perturbation"] = labels
    table.to_csv(root / "manifest.csv", index=False)
    info = folder_source(root, tmp_path).info
    params = ClassGuidedParams(width=8, channel_mults=(1, 2), layers_per_block=1, head_dim=8)
    with pytest.raises(DataError) as err:
        ClassGuidedMethod(params, info)  # built before any training
    message = str(err.value)
    assert message.startswith("Dataset 'folder' has 1 'perturbation' class(es)")
    assert "fill the label_perturbation column" in message and "\n" not in message


@pytest.mark.parametrize("text", ["plate,well,site,bf_BF,fl_DNA\n", "plate,well,site,bf_BF,fl_DNA"])
def test_header_only_manifest_has_no_rows(tmp_path, text):
    root = tmp_path / "empty"
    root.mkdir()
    (root / "manifest.csv").write_text(text)
    with pytest.raises(DataError) as err:
        folder_source(root, tmp_path).records()
    assert str(err.value) == (f"Manifest {root / 'manifest.csv'} has no rows (its columns: "
                              "plate, well, site, bf_BF, fl_DNA); add one row per field of view "
                              "below the header.")


@pytest.mark.parametrize("escape", ["../outside.tif", "P1/../../outside.tif",
                                    "../../etc/x.tif"])
def test_a_path_leaving_the_dataset_is_refused_before_any_read(tmp_path, monkeypatch, escape):
    import vsbench.data.sources.folder as folder

    root = float_folder_dataset(tmp_path / "float")
    write_tiff(tmp_path / "outside.tif", np.ones((16, 16), np.float32))  # exists: readable
    table = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    table.loc[3, "fl_DNA"] = escape
    table.to_csv(root / "manifest.csv", index=False)
    touched = []
    monkeypatch.setattr(folder, "read_plane", lambda *a: touched.append(a))
    monkeypatch.setattr(folder, "file_digests", lambda paths, *a: touched.append(paths))
    source = folder_source(root, tmp_path)
    for step in (source.records, source.fingerprint):
        with pytest.raises(DataError) as err:
            step()
        assert str(err.value).startswith(
            f"{root / 'manifest.csv'}, line 5 (sample P2_A02_s1), fl_DNA: path '{escape}' "
            f"leaves the dataset folder {root}")
    assert not touched
    table.loc[3, "fl_DNA"] = "P2/./sub/../A02_fl_DNA.tif"  # stays inside: fine
    table.to_csv(root / "manifest.csv", index=False)
    assert len(folder_source(root, tmp_path).records()) == 6


@pytest.mark.parametrize("column", ["bf_BF", "fl_DNA"])
def test_an_odd_first_sample_is_blamed_not_the_correct_file(tmp_path, column):
    root = float_folder_dataset(tmp_path / "float")
    odd = root / "P1" / f"A01_{column}.tif"  # the first sample in id order: the reference
    write_tiff(odd, np.random.default_rng(2).random((12, 16), dtype=np.float32))
    source = folder_source(root, tmp_path)
    first, second = source.records()[:2]
    # The second sample is correct: with an odd reference (the first sample's bf_BF, which sets
    # the field size) loading it fails, and names the odd file, not the correct one.
    for record in (first, second) if column == "bf_BF" else (first,):
        with pytest.raises(DataError) as err:
            folder_source(root, tmp_path).load(record)
        assert str(err.value) == (f"Image {odd} is 12 x 16 pixels but 11 of the dataset's 12 "
                                  "images are 16 x 16; crop or resample the files to one "
                                  "field size.")


def test_an_odd_first_bit_depth_is_blamed_not_the_correct_file(tmp_path):
    root = float_folder_dataset(tmp_path / "float")
    odd = root / "P1" / "A01_fl_DNA.tif"
    write_tiff(odd, np.zeros((16, 16), np.uint16))
    source = folder_source(root, tmp_path)
    with pytest.raises(DataError) as err:
        source.load(source.records()[1])
    assert str(err.value) == (f"Image {odd} is 16-bit (uint16) but 5 of the 6 fl_DNA images "
                              "are 32-float (float32); convert the files to one bit depth.")


@pytest.mark.parametrize("suffix,writer,message", [
    (".tif", "png", "is a PNG file named .tif; rename it to .png (and its manifest entry)."),
    (".tiff", "png", "is a PNG file named .tiff; rename it to .png (and its manifest entry)."),
    (".png", "tiff", "is a TIFF file named .png; rename it to .tif (and its manifest entry)."),
    (".tif", "jpeg", "is a JPEG file named .tif; convert it to TIFF or PNG."),
])
def test_a_file_in_another_format_is_named_not_called_corrupt(tmp_path, suffix, writer,
                                                               message):
    from PIL import Image

    from vsbench.data.images import read_plane

    image = np.random.default_rng(0).integers(0, 255, (16, 16), dtype=np.uint8)
    path = tmp_path / f"field{suffix}"
    if writer == "tiff":
        write_tiff(tmp_path / "real.tif", image)
        (tmp_path / "real.tif").rename(path)
    else:
        Image.fromarray(image).save(path, format=writer.upper())
    with pytest.raises(DataError) as err:
        read_plane(path)
    assert str(err.value) == f"Image {path} {message}"
    assert "download" not in str(err.value)


def closed_port() -> int:
    import socket

    with socket.socket() as sock:  # bound and closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fetch_from_an_unreachable_server_is_one_short_error(tmp_path):
    import time

    from typer.testing import CliRunner

    from vsbench.cli import app
    from vsbench.data.sources.jump.fetch import fetch_jump

    pytest.importorskip("s3fs")
    endpoint = f"http://127.0.0.1:{closed_port()}"
    url = "s3://cellpainting-gallery/cpg0000-jump-pilot/source_4"
    start = time.perf_counter()
    with pytest.raises(DataError) as err:
        fetch_jump(url, tmp_path / "jump", ("BR00116991",), endpoint_url=endpoint)
    assert time.perf_counter() - start < 20  # a bounded retry, not minutes
    message = str(err.value)
    assert message.startswith(f"Cannot reach {url} at {endpoint} (EndpointConnectionError")
    for hint in ("--source", "--endpoint-url",
                 "vsbench data prepare --dataset jump-cpg0000 --set root=PATH"):
        assert hint in message
    assert "\n" not in message and err.value.__cause__ is None
    result = CliRunner().invoke(app, ["data", "fetch", "jump-cpg0000", "--plates", "BR00116991",
                                      "--endpoint-url", endpoint, "--data-root",
                                      str(tmp_path / "data")], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert "Cannot reach" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "data" / "jump-cpg0000" / "source.json").exists()


def test_a_split_part_much_smaller_than_its_plates_is_warned(tmp_path):
    from vsbench.data.splits import load_or_create_split, read_split, split_size_warnings
    from vsbench.data.sources.synthetic.source import SyntheticSource

    records = SyntheticSource().records()
    path = tmp_path / "synthetic" / "split.csv"
    split = load_or_create_split(records, path)
    assert split_size_warnings(split, records) == []  # whole plates: nothing to say
    lines = path.read_text().splitlines()
    test_rows = [line for line in lines if line.endswith(",test")]
    assert len(test_rows) == 24
    dropped = set(test_rows[3:])  # keep 3 of the 24 test rows
    path.write_text("\n".join(line for line in lines if line not in dropped) + "\n")
    edited = read_split(path)
    assert edited.hash != split.hash and len(edited.ids("test")) == 3
    [warning] = split_size_warnings(edited, records)
    assert warning.startswith(f"The test part of split {path} lists 3 sample(s) but its "
                              "plate(s) SYN-P06 hold 24 in the dataset (21 are in another part "
                              "or in none)")
    assert "vsbench data split --dataset synthetic --regenerate" in warning
    assert "\n" not in warning
    # a part keeping more than half of its plates' samples is left alone
    path.write_text("\n".join(line for line in lines if line not in set(test_rows[:11])) + "\n")
    assert split_size_warnings(read_split(path), records) == []


def test_split_size_rule_counts_wells_with_fewer_than_three_plates(tmp_path):
    from vsbench.data.source import SampleRecord
    from vsbench.data.splits import read_split, split_size_warnings, write_split

    records = [SampleRecord(f"P1_{w}_{s}", "P1", w, str(s))
               for w in ("A01", "A02", "A03", "A04") for s in range(4)]
    path = tmp_path / "tiny" / "split.csv"
    assert split_size_warnings(write_split(records, path), records) == []
    lines = path.read_text().splitlines()
    val = [line for line in lines if line.endswith(",val")]
    path.write_text("\n".join(line for line in lines if line not in set(val[1:])) + "\n")
    [warning] = split_size_warnings(read_split(path), records)
    assert "The val part" in warning and "well(s) P1/A03 hold 4" in warning


def test_vsbench_run_prints_the_split_warning(tmp_path):
    """The engine shows what split_size_warnings finds before it trains (issue 15)."""
    from typer.testing import CliRunner

    from tests.conftest import TINY
    from vsbench.cli import app
    from vsbench.data.splits import load_or_create_split
    from vsbench.data.sources.synthetic.source import SyntheticSource
    from vsbench.layout import dataset_folder

    data = tmp_path / "data"
    manifest = dataset_folder(data, "synthetic").split_manifest
    load_or_create_split(SyntheticSource().records(), manifest)
    lines = manifest.read_text().splitlines()
    test_rows = [line for line in lines if line.endswith(",test")]
    manifest.write_text("\n".join(line for line in lines if line not in test_rows[3:]) + "\n")
    out = CliRunner().invoke(app, ["run", "--dataset", "synthetic",
                                   "--method", "unet", *TINY, "--results",
                                   str(tmp_path / "r"), "--data-root", str(data)],
                             env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "warning: The test part of split" in text
    assert "lists 3 sample(s) but its plate(s) SYN-P06 hold 24" in text


def test_prepare_checks_candidate_settings_before_writing_them(tmp_path):
    """What `vsbench data prepare --set root=B` does on a data root that holds dataset A:
    settings.candidate + splits.check_split, then Candidate.save, in that order."""
    from vsbench.config import ConfigError
    from vsbench.data import settings as source_settings
    from vsbench.data.splits import check_split, load_or_create_split
    from vsbench.layout import dataset_folder

    data_root = tmp_path / "data"
    first = float_folder_dataset(tmp_path / "A")
    second = float_folder_dataset(tmp_path / "B", plates=("Q1", "Q2", "Q3"))
    paths = dataset_folder(data_root, "folder")
    assert not paths.settings_file.exists()
    prepared = source_settings.candidate(FolderSource.from_data_root(data_root), data_root,
                                         "folder", {"root": str(first)})
    assert not paths.settings_file.exists()  # a candidate writes nothing
    assert check_split(prepared.source.records(), paths.split_manifest) is None
    prepared.save()
    split = load_or_create_split(prepared.source.records(), paths.split_manifest)
    stored, split_text = paths.settings_file.read_bytes(), paths.split_manifest.read_text()

    other = source_settings.candidate(FolderSource.from_data_root(data_root), data_root,
                                      "folder", {"root": str(second)})
    assert other.source.root == second.resolve()
    with pytest.raises(DataError) as err:
        check_split(other.source.records(), paths.split_manifest)
    message = str(err.value)
    assert message.startswith(f"Split manifest {paths.split_manifest} names 6 sample(s) the "
                              "dataset does not have (e.g. ")
    assert "For a second dataset use another --data-root" in message
    assert "delete" not in message and "\n" not in message
    with pytest.raises(DataError, match="another --data-root"):
        load_or_create_split(other.source.records(), paths.split_manifest)
    with pytest.raises(ConfigError, match="Unknown setting 'rooot'"):
        source_settings.candidate(FolderSource.from_data_root(data_root), data_root, "folder",
                                  {"rooot": str(second)})
    # refused: the data root still runs dataset A, on A's split
    assert paths.settings_file.read_bytes() == stored
    assert paths.split_manifest.read_text() == split_text
    assert FolderSource.from_data_root(data_root).root == first.resolve()
    assert split.hash == load_or_create_split(FolderSource.from_data_root(data_root).records(),
                                              paths.split_manifest).hash


def test_refused_cli_prepare_leaves_source_json_as_it_was(tmp_path):
    from typer.testing import CliRunner

    from vsbench.cli import app
    from vsbench.layout import dataset_folder

    data_root = tmp_path / "data"
    first = float_folder_dataset(tmp_path / "A")
    second = float_folder_dataset(tmp_path / "B", plates=("Q1", "Q2", "Q3"))

    def prepare(root):
        return CliRunner().invoke(app, ["data", "prepare", "--dataset", "folder", "--set",
                                        f"root={root}", "--image-size", "32", "--data-root",
                                        str(data_root)], env={"COLUMNS": "400"})

    assert prepare(first).exit_code == 0
    settings_file = dataset_folder(data_root, "folder").settings_file
    stored = settings_file.read_bytes()
    refused = prepare(second)
    assert refused.exit_code == 2 and "another --data-root" in refused.output
    assert settings_file.read_bytes() == stored
