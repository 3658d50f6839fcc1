"""jump-cpg0000: a miniature plate in the Cell Painting Gallery layout, read and checked against
hand-computed values; each bad input gives its one-line error."""

from __future__ import annotations

import numpy as np
import pytest

from tests.data_fixtures import (BATCH, PLATE, expected_plane, make_jump_plate, phenix_name,
                                 plate_folder, rewrite_load_data, write_tiff)
from vsbench.config import ConfigError
from vsbench.data.sources.jump.source import JumpSettings, JumpSource
from vsbench.data.sources.jump.load_data import relative_image_path
from vsbench.data.source import DataError, check_sample

SIZE = 24


@pytest.fixture(scope="module")
def plate_root(tmp_path_factory):
    return make_jump_plate(tmp_path_factory.mktemp("jump") / "source_4", size=SIZE)


def source_for(root, tmp_path, **settings) -> JumpSource:
    return JumpSource(JumpSettings(root=str(root), **settings), tmp_path / "data")


def image_dir(root):
    return root / "images" / BATCH / "images" / plate_folder() / "Images"


def test_records_follow_load_data_and_plate_map(plate_root, tmp_path):
    source = source_for(plate_root, tmp_path)
    records = source.records()
    assert [r.sample_id for r in records] == [f"{PLATE}_{w}_s{s}" for w in ("A01", "A02", "A03")
                                              for s in (1, 2)]
    assert source.info.channels == ("DNA", "ER", "RNA", "AGP", "Mito")
    assert source.info.planes == ("LowZBF", "Brightfield", "HighZBF")
    # A01 is the DMSO control (no broad_sample); the others hold tozasertib, an AURKA inhibitor.
    assert records[0].labels == {"perturbation": "DMSO", "target": "none"}
    assert records[2].labels == {"perturbation": "tozasertib", "target": "AURKA"}
    assert source.info.label_kinds == {"perturbation": ("DMSO", "tozasertib"),
                                       "target": ("AURKA", "none")}


def test_pixels_match_hand_computed_values(plate_root, tmp_path):
    """Illumination-corrected planes are permutations of 0..n-1, so the 2nd/98th percentiles
    are 0.02 (n-1) and 0.98 (n-1); each channel's orientation proves which file it came from."""
    source = source_for(plate_root, tmp_path)
    for record in source.records()[:2]:
        sample = check_sample(source.load(record), source.info)
        site = int(record.site)
        assert sample.fluorescence.dtype == np.float32
        for i, channel in enumerate(source.info.channels):
            np.testing.assert_allclose(sample.fluorescence[i], expected_plane(channel, site, SIZE),
                                       atol=1e-6, err_msg=channel)
        for i, plane in enumerate(source.info.planes):
            np.testing.assert_allclose(sample.brightfield[i], expected_plane(plane, site, SIZE),
                                       atol=1e-6, err_msg=plane)
    # One pixel by hand: DNA is ch5, rotated once and mirrored; n = 576, lo = 11.5, hi = 563.5.
    dna = source.load(source.records()[0]).fluorescence[0]
    value = np.rot90(np.arange(576).reshape(24, 24), 1)[:, ::-1][3, 5]
    assert dna[3, 5] == pytest.approx((value - 11.5) / 552, abs=1e-6)


def test_channels_come_from_column_names_not_file_order(plate_root, tmp_path):
    """Reversing the column order and the row order of load_data.csv changes nothing; the
    percentile clip is a setting."""
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(plate_root, root)
    rewrite_load_data(root, PLATE, lambda t: t[list(reversed(t.columns))].iloc[::-1])
    source = source_for(root, tmp_path, clip_low=1.0, clip_high=99.0)
    record = source.records()[0]
    sample = source.load(record)
    np.testing.assert_allclose(sample.fluorescence[source.info.channels.index("Mito")],
                               expected_plane("Mito", 1, SIZE, 1, 99), atol=1e-6)


def test_selection_of_wells_sites_and_channels(plate_root, tmp_path):
    source = source_for(plate_root, tmp_path, wells=("a2", "A03"), sites_per_well=1,
                        channels=("DNA",), planes=("Brightfield",))
    assert [r.sample_id for r in source.records()] == [f"{PLATE}_A02_s1", f"{PLATE}_A03_s1"]
    sample = source.load(source.records()[0])
    assert sample.fluorescence.shape == (1, SIZE, SIZE) and sample.brightfield.shape[0] == 1
    np.testing.assert_allclose(sample.brightfield[0], expected_plane("Brightfield", 1, SIZE),
                               atol=1e-6)


def test_url_columns_and_foreign_paths_resolve_to_the_local_layout():
    url = (f"s3://cellpainting-gallery/cpg0000-jump-pilot/source_4/images/{BATCH}/images/"
           f"{plate_folder()}/Images/{phenix_name('A01', 1, 'DNA')}")
    expected = f"images/{BATCH}/images/{plate_folder()}/Images/{phenix_name('A01', 1, 'DNA')}"
    assert relative_image_path(BATCH, PLATE, phenix_name("A01", 1, "DNA"), url, None) == expected
    # No plate folder in the recorded path: the local plate folder is used.
    assert relative_image_path(BATCH, PLATE, "x.tiff", "/elsewhere", plate_folder()) == (
        f"images/{BATCH}/images/{plate_folder()}/Images/x.tiff")


def test_fingerprint_changes_with_preprocessing(plate_root, tmp_path):
    a = source_for(plate_root, tmp_path).fingerprint()
    assert a == source_for(plate_root, tmp_path).fingerprint()
    assert a != source_for(plate_root, tmp_path, clip_high=99.5).fingerprint()
    assert a != source_for(plate_root, tmp_path, illum="off").fingerprint()


def test_no_illumination_where_turned_off(plate_root, tmp_path):
    """illum=off: the raw right half (x2 or x3) is not divided back, so values differ."""
    sample = source_for(plate_root, tmp_path, illum="off").load(
        source_for(plate_root, tmp_path).records()[0])
    assert not np.allclose(sample.fluorescence[0], expected_plane("DNA", 1, SIZE), atol=1e-3)


# ----------------------------------------------------------------------------- bad inputs


@pytest.fixture
def fresh_plate(tmp_path):
    return make_jump_plate(tmp_path / "source_4", wells=("A01", "A02"), sites=2, size=16)


def test_missing_column_names_it(fresh_plate, tmp_path):
    rewrite_load_data(fresh_plate, PLATE, lambda t: t.drop(columns=["URL_OrigER"]))
    with pytest.raises(DataError, match=r"no column URL_OrigER \(nor FileName_OrigER\) for "
                                        "channel 'ER'"):
        source_for(fresh_plate, tmp_path).records()
    rewrite_load_data(fresh_plate, PLATE, lambda t: t.drop(columns=["Metadata_Site"]))
    with pytest.raises(DataError, match="lacks column\\(s\\) Metadata_Site"):
        source_for(fresh_plate, tmp_path).records()


def test_channel_missing_for_some_sites(fresh_plate, tmp_path):
    def blank(table):
        table.loc[[1, 3], "URL_OrigRNA"] = ""
        return table

    rewrite_load_data(fresh_plate, PLATE, blank)
    with pytest.raises(DataError, match=rf"channel RNA has no file for 2 site\(s\) "
                                        rf"\({PLATE}_A01_s2, {PLATE}_A02_s2\)"):
        source_for(fresh_plate, tmp_path).records()


def test_missing_and_corrupt_files(fresh_plate, tmp_path):
    source = source_for(fresh_plate, tmp_path)
    records = source.records()
    missing = image_dir(fresh_plate) / phenix_name("A02", 1, "AGP")
    missing.unlink()
    with pytest.raises(DataError, match=f"{missing.name} is missing"):
        source.load(records[2])
    corrupt = image_dir(fresh_plate) / phenix_name("A01", 2, "ER")
    corrupt.write_bytes(b"II*\x00" + b"\x00" * 20)
    with pytest.raises(DataError, match=f"{corrupt.name} cannot be read .*corrupt or truncated"):
        source.load(records[1])


def test_mixed_sizes_and_bit_depths(fresh_plate, tmp_path):
    source = source_for(fresh_plate, tmp_path)
    records = source.records()
    write_tiff(image_dir(fresh_plate) / phenix_name("A01", 2, "Mito"),
               np.zeros((12, 16), np.uint16))
    with pytest.raises(DataError, match=f"{phenix_name('A01', 2, 'Mito')} is 12 x 16 pixels but "
                                        r"\d+ of the dataset's \d+ images are 16 x 16"):
        source.load(records[1])
    write_tiff(image_dir(fresh_plate) / phenix_name("A02", 1, "DNA"),
               np.zeros((16, 16), np.uint8))
    with pytest.raises(DataError, match=r"is 8-bit \(uint8\) but the jump-cpg0000 images are "
                                        r"16-bit \(uint16\)"):
        source.load(records[2])


def test_illumination_required_but_missing(fresh_plate, tmp_path):
    (fresh_plate / "images" / BATCH / "illum" / PLATE / f"{PLATE}_IllumDNA.npy").unlink()
    with pytest.raises(DataError, match="IllumDNA.npy is missing \\(--set illum=on\\)"):
        source_for(fresh_plate, tmp_path, illum="on").records()
    np.save(fresh_plate / "images" / BATCH / "illum" / PLATE / f"{PLATE}_IllumDNA.npy",
            np.ones((8, 8)))
    source = source_for(fresh_plate, tmp_path)
    with pytest.raises(DataError, match="IllumDNA.npy is \\(8, 8\\) but the images are"):
        source.load(source.records()[0])


def test_no_plates_and_bad_settings(tmp_path):
    with pytest.raises(DataError, match="No JUMP plates under .*vsbench data fetch jump-cpg0000"):
        source_for(tmp_path / "empty", tmp_path).records()
    with pytest.raises(ConfigError, match="clip_low < clip_high"):
        JumpSettings(clip_low=99, clip_high=2).validate()


def test_unknown_plate(plate_root, tmp_path):
    with pytest.raises(DataError, match=f"Plate\\(s\\) BR999 not found .*found: {PLATE}"):
        source_for(plate_root, tmp_path, plates=("BR999",)).records()


# ------------------------------------------------------------- Gallery formats and batches

TIMEPOINT = "2020_11_18_CPJUMP1_TimepointDay1"


def test_older_csv_gz_format_reads_the_same(plate_root, tmp_path):
    """The Gallery's older tables (.csv.gz, FileName_/PathName_ columns) give the same samples
    and pixels as the current ones (load_data.csv, URL_ columns only)."""
    legacy = make_jump_plate(tmp_path / "legacy", size=SIZE, legacy=True)
    folder = legacy / "workspace" / "load_data_csv" / BATCH / PLATE
    assert sorted(p.name for p in folder.iterdir()) == ["load_data.csv.gz",
                                                        "load_data_with_illum.csv.gz"]
    current_folder = plate_root / "workspace" / "load_data_csv" / BATCH / PLATE
    header = (current_folder / "load_data.csv").read_text().splitlines()[0].split(",")
    assert not any(c.startswith(("FileName_", "PathName_")) for c in header)
    old, new = source_for(legacy, tmp_path), source_for(plate_root, tmp_path)
    assert [r.sample_id for r in old.records()] == [r.sample_id for r in new.records()]
    a, b = old.load(old.records()[3]), new.load(new.records()[3])
    np.testing.assert_array_equal(a.fluorescence, b.fluorescence)
    np.testing.assert_array_equal(a.brightfield, b.brightfield)


def test_measurement2_plate_folder_is_read_from_the_urls(tmp_path):
    root = make_jump_plate(tmp_path / "source_4", wells=("A01",), sites=1, size=SIZE,
                           measurement=2)
    assert (root / "images" / BATCH / "images" / plate_folder(measurement=2)).is_dir()
    source = source_for(root, tmp_path)
    sample = source.load(source.records()[0])
    np.testing.assert_allclose(sample.fluorescence[0], expected_plane("DNA", 1, SIZE), atol=1e-6)


@pytest.fixture
def two_batches(tmp_path):
    """PLATE in the main batch (wells A01-A02) and, re-imaged, in a timepoint batch (well B01,
    a -Measurement2 folder); BR00116992 only in the main batch."""
    root = tmp_path / "source_4"
    make_jump_plate(root, wells=("A01", "A02"), sites=1, size=16)
    make_jump_plate(root, plate="BR00116992", wells=("A01",), sites=1, size=16)
    make_jump_plate(root, wells=("B01",), sites=1, size=16, batch=TIMEPOINT,
                    timestamp="2020-11-19T10_00_00", measurement=2)
    return root


def test_ambiguous_barcode_needs_a_batch(two_batches, tmp_path):
    with pytest.raises(DataError, match=rf"^Plate {PLATE} is in 2 batches \({BATCH}, "
                                        rf"{TIMEPOINT}\); choose one with --batch BATCH"):
        source_for(two_batches, tmp_path, plates=(PLATE,)).records()
    # An unambiguous barcode needs none.
    assert [r.sample_id for r in source_for(two_batches, tmp_path,
                                            plates=("BR00116992",)).records()] == [
        "BR00116992_A01_s1"]


def test_batch_setting_chooses_the_plate(two_batches, tmp_path):
    main = source_for(two_batches, tmp_path, plates=(PLATE,), batch=BATCH)
    assert [r.sample_id for r in main.records()] == [f"{PLATE}_A01_s1", f"{PLATE}_A02_s1"]
    later = source_for(two_batches, tmp_path, plates=(PLATE,), batch=TIMEPOINT)
    assert [r.sample_id for r in later.records()] == [f"{PLATE}_B01_s1"]
    assert main.fingerprint() != later.fingerprint()
    np.testing.assert_allclose(later.load(later.records()[0]).fluorescence[0],
                               expected_plane("DNA", 1, 16), atol=1e-6)
    with pytest.raises(DataError, match="Batch 2099_nope not found .*found: "
                                        f"{BATCH}, {TIMEPOINT}"):
        source_for(two_batches, tmp_path, batch="2099_nope").records()
    with pytest.raises(DataError, match=f"Plate\\(s\\) BR00116992 not found in batch {TIMEPOINT}"):
        source_for(two_batches, tmp_path, plates=("BR00116992",), batch=TIMEPOINT).records()


def test_every_plate_keys_an_ambiguous_barcode_by_its_batch(two_batches, tmp_path):
    source = source_for(two_batches, tmp_path)
    records = source.records()
    assert [r.sample_id for r in records] == [
        f"{BATCH}__{PLATE}_A01_s1", f"{BATCH}__{PLATE}_A02_s1", f"{TIMEPOINT}__{PLATE}_B01_s1",
        "BR00116992_A01_s1"]
    assert [r.plate for r in records] == [f"{BATCH}__{PLATE}"] * 2 + [
        f"{TIMEPOINT}__{PLATE}", "BR00116992"]
    for record in records:  # each reads its own batch's files and illumination functions
        check_sample(source.load(record), source.info)


def test_public_code_preprocessing_variant(plate_root, tmp_path):
    """preprocess=public-code: no illumination correction, the same percentile clip, and the
    brightfield the model sees z-scored per plane (fluorescence stays on [0, 1])."""
    import torch

    from tests.data_fixtures import illum_function, ramp
    from vsbench.data.preprocess import percentile_normalise
    from vsbench.data.torch_dataset import PairedImageDataset

    ours = source_for(plate_root, tmp_path)
    public = source_for(plate_root, tmp_path, preprocess="public-code")
    assert public.preprocessing()["illum"] == "off" and public.preprocessing()["brightfield"] == (
        "zscore")
    assert "brightfield" not in ours.preprocessing()
    assert public.fingerprint() != ours.fingerprint()
    record = public.records()[0]
    raw = {c: np.rint(ramp(c, 1, SIZE) * illum_function(c, SIZE)) for c in public.info.planes
           + public.info.channels}
    sample = public.load(record)
    expected_fl = percentile_normalise(np.stack([raw[c] for c in public.info.channels]))
    np.testing.assert_allclose(sample.fluorescence, expected_fl, atol=1e-6)
    item = PairedImageDataset(public, [record.sample_id], SIZE)[0]
    clipped = percentile_normalise(np.stack([raw[c] for c in public.info.planes]))
    mean = clipped.mean(axis=(1, 2), keepdims=True)
    std = clipped.std(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(item["brightfield"].numpy(), (clipped - mean) / std, atol=1e-5)
    bf = item["brightfield"].double()
    assert torch.allclose(bf.mean((1, 2)), torch.zeros(3, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(bf.std((1, 2), correction=0), torch.ones(3, dtype=torch.float64),
                          atol=1e-5)
    # vsbench's default: corrected and on [0, 1], not z-scored.
    default = PairedImageDataset(ours, [record.sample_id], SIZE)[0]["brightfield"]
    np.testing.assert_allclose(default[1].numpy(), expected_plane("Brightfield", 1, SIZE),
                               atol=1e-6)
    with pytest.raises(ConfigError, match="preprocess=public-code uses no illumination"):
        JumpSettings(preprocess="public-code", illum="on").validate()
