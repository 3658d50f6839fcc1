"""Sample preparation: one function (``vsbench.data.normalise.prepare_sample``) makes what the
in-memory dataset serves and what the preprocessed cache stores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsbench.data.cache import SCALE, build
from vsbench.data.normalise import prepare_sample, resize
from vsbench.data.preprocess import percentile_normalise
from vsbench.data.source import DatasetInfo, DatasetSource, Sample, SampleRecord
from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.data.torch_dataset import PairedImageDataset

SMALL = SyntheticSource(n_plates=3, wells_per_plate=1, sites_per_well=2, field_size=64)


class Saturated(DatasetSource):
    """Normalised brightfield, all ones: bilinear upsampling 7 -> 48 px rounds one ulp over 1."""

    brightfield_normalised = True
    _info = DatasetInfo("saturated", ("A",), ("BF",))

    @property
    def info(self) -> DatasetInfo:
        return self._info

    def records(self) -> list[SampleRecord]:
        return [SampleRecord(f"s{i}", f"P{i}", "A01", "1") for i in range(3)]

    def load(self, record: SampleRecord) -> Sample:
        return Sample(record, np.ones((1, 7, 7), np.float32), np.ones((1, 7, 7), np.float32))

    def fingerprint(self) -> str:
        return "saturated-1"


def test_dataset_serves_prepare_sample():
    ids = [r.sample_id for r in SMALL.records()]
    data = PairedImageDataset(SMALL, ids, 32)
    for i, record in enumerate(SMALL.records()):
        bf, fl = prepare_sample(SMALL, SMALL.load(record), 32)
        assert torch.equal(data[i]["brightfield"], bf) and torch.equal(data[i]["fluorescence"], fl)
        assert bf.shape == (3, 32, 32) and fl.shape == (5, 32, 32)


def test_cache_stores_prepare_sample_quantised(tmp_path):
    cached = build(SMALL, 32, tmp_path / "cache", workers=1)
    for record in SMALL.records():
        bf, fl = prepare_sample(SMALL, SMALL.load(record), 32)
        stored = cached.load(record)
        for mine, theirs in ((bf, stored.brightfield), (fl, stored.fluorescence)):
            expected = np.rint(mine.numpy() * SCALE).astype(np.uint16) / np.float32(SCALE)
            np.testing.assert_array_equal(theirs, expected.astype(np.float32))


@pytest.mark.parametrize("size", [32, 64, 96, 160])
def test_brightfield_clamp_is_a_no_op_on_synthetic_data(size):
    """The clamp both paths now apply changes no synthetic pixel (numbers stay identical)."""
    for record in SMALL.records():
        sample = SMALL.load(record)
        unclamped = resize(torch.from_numpy(percentile_normalise(sample.brightfield)), size)
        bf, _ = prepare_sample(SMALL, sample, size)
        assert torch.equal(bf, unclamped)


def test_brightfield_is_clamped_where_resampling_rounds_over_one():
    source = Saturated()
    # (on x86 CPUs torch's resize of these ones gives 1 + 1.2e-7: what the clamp is for)
    ids = [r.sample_id for r in source.records()]
    for item in PairedImageDataset(source, ids, 48):
        for key in ("brightfield", "fluorescence"):
            assert 0 <= float(item[key].min()) and float(item[key].max()) <= 1
