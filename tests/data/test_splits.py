"""Shared splits: seedless, grouped by plate, stable hash, errors."""

import pytest

from vsbench.data.source import DataError, SampleRecord
from vsbench.data.splits import assign_parts, load_or_create_split, read_split
from vsbench.data.sources.synthetic.source import SyntheticSource


def _records(plates, wells=2, sites=2):
    return [SampleRecord(f"{p}_{w}_{s}", p, w, str(s))
            for p in plates for w in [f"A0{i}" for i in range(1, wells + 1)]
            for s in range(sites)]


def test_same_records_same_hash(tmp_path):
    records = SyntheticSource().records()
    a = load_or_create_split(records, tmp_path / "a" / "split.csv")
    b = load_or_create_split(list(reversed(records)), tmp_path / "b" / "split.csv")
    assert a.hash == b.hash
    assert (tmp_path / "a" / "split.csv").read_text() == (tmp_path / "b" / "split.csv").read_text()
    again = load_or_create_split(records, tmp_path / "a" / "split.csv")
    assert again.hash == a.hash


def test_parts_are_disjoint_by_plate():
    records = SyntheticSource().records()
    parts = assign_parts(records)
    plates = {part: {r.plate for r in records if parts[r.sample_id] == part}
              for part in ("train", "val", "test")}
    assert plates["test"] == {"SYN-P06"} and plates["val"] == {"SYN-P05"}
    assert len(plates["train"]) == 4
    assert not (plates["train"] & plates["test"]) and not (plates["val"] & plates["test"])


def test_few_plates_split_by_well():
    records = _records(["P1"], wells=4)
    parts = assign_parts(records)
    by_well = {}
    for r in records:
        by_well.setdefault(r.well, set()).add(parts[r.sample_id])
    assert all(len(v) == 1 for v in by_well.values())
    assert {p for v in by_well.values() for p in v} == {"train", "val", "test"}
    with pytest.raises(DataError, match="at least three"):
        assign_parts(_records(["P1"], wells=2))


def test_manifest_errors(tmp_path):
    path = tmp_path / "split.csv"
    path.write_text("sample_id,plate\nx,P1\n")
    with pytest.raises(DataError, match="lacks column\\(s\\) part"):
        read_split(path)
    path.write_text("sample_id,part\nx,holdout\n")
    with pytest.raises(DataError, match="unknown part 'holdout'"):
        read_split(path)
    path.write_text("sample_id,part\nghost,train\n")
    with pytest.raises(DataError, match="names 1 sample\\(s\\) the dataset does not have"):
        load_or_create_split(_records(["P1", "P2", "P3"]), path)
    path.write_text("sample_id,part\nP1_A01_0,train\n")
    split = read_split(path)
    with pytest.raises(DataError, match="test part of split .* is empty"):
        split.ids("test")
