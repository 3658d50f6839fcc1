"""The preprocessed cache (same tensors as decoding, keyed, reused, resumable) and the
`vsbench data prepare | split` and `vsbench datasets` commands on a JUMP plate set."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.data_fixtures import make_jump_plate, write_platemap
from vsbench.cli import app
from vsbench.data.cache import SCALE, CachedSource, build, cache_key, list_caches
from vsbench.data.sources.jump.source import JumpSettings, JumpSource
from vsbench.data.splits import read_split
from vsbench.data.torch_dataset import PairedImageDataset

runner = CliRunner()
ENV = {"COLUMNS": "200"}
PLATES = ("BR00116991", "BR00116992", "BR00116993")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env=ENV)


@pytest.fixture(scope="module")
def plates_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("plates") / "source_4"
    for plate in PLATES:
        make_jump_plate(root, plate=plate, wells=("A01", "A02"), sites=1, size=40,
                        with_platemap=False)
    write_platemap(root, PLATES, ("A01", "A02"))
    return root


class CountingSource(JumpSource):
    """Counts decodes, and can fail at the n-th one (an interrupted build)."""

    def __init__(self, *args, fail_at: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loads, self.fail_at = 0, fail_at

    def load(self, record):
        self.loads += 1
        if self.fail_at and self.loads == self.fail_at:
            raise KeyboardInterrupt("killed")
        return super().load(record)


def test_cache_yields_what_decoding_yields(plates_root, tmp_path):
    source = JumpSource(JumpSettings(root=str(plates_root)), tmp_path)
    cached = build(source, 32, tmp_path / "cache")
    assert isinstance(cached, CachedSource) and cached.fingerprint() == source.fingerprint()
    assert cached.records() == source.records() and cached.info == source.info
    ids = [r.sample_id for r in source.records()]
    direct = PairedImageDataset(source, ids, 32)
    from_cache = PairedImageDataset(cached, ids, 32)
    for i in range(len(ids)):
        a, b = direct[i], from_cache[i]
        assert b["brightfield"].shape == (3, 32, 32) and b["fluorescence"].shape == (5, 32, 32)
        np.testing.assert_allclose(a["brightfield"], b["brightfield"], atol=0.51 / SCALE)
        np.testing.assert_allclose(a["fluorescence"], b["fluorescence"], atol=0.51 / SCALE)
        assert a["labels"] == b["labels"]


def test_cache_is_keyed_and_reused(plates_root, tmp_path):
    source = CountingSource(JumpSettings(root=str(plates_root)), tmp_path)
    first = build(source, 32, tmp_path / "cache")
    assert source.loads == 6
    again = build(source, 32, tmp_path / "cache")
    assert source.loads == 6 and again.folder == first.folder  # nothing decoded twice
    other = JumpSource(JumpSettings(root=str(plates_root), clip_high=99.0), tmp_path)
    keys = {cache_key(source, 32), cache_key(source, 64), cache_key(other, 32)}
    assert len(keys) == 3
    assert [c["image_size"] for c in list_caches(tmp_path / "cache")] == [32]
    with pytest.raises(Exception, match="is 32 px, not 64 px"):
        first.for_run(64, tmp_path)


def test_interrupted_build_resumes(plates_root, tmp_path):
    killed = CountingSource(JumpSettings(root=str(plates_root)), tmp_path, fail_at=6)
    with pytest.raises(KeyboardInterrupt):
        build(killed, 32, tmp_path / "cache", workers=1)
    assert list_caches(tmp_path / "cache") == []  # no half cache is ever read
    resumed = CountingSource(JumpSettings(root=str(plates_root)), tmp_path)
    cached = build(resumed, 32, tmp_path / "cache", workers=1)
    assert resumed.loads == 1  # only the sample the kill interrupted
    whole = build(JumpSource(JumpSettings(root=str(plates_root)), tmp_path), 32,
                  tmp_path / "fresh", workers=1)
    for record in cached.records():
        np.testing.assert_array_equal(cached.load(record).fluorescence,
                                      whole.load(record).fluorescence)


def test_prepare_split_and_datasets_commands(plates_root, tmp_path):
    data = tmp_path / "data"
    out = invoke("data", "prepare", "--dataset", "jump-cpg0000", "--set", f"root={plates_root}",
                 "--image-size", "32", "--data-root", data)
    assert out.exit_code == 0, out.output
    assert "6 samples, 3 plate(s); planes LowZBF, Brightfield, HighZBF -> channels DNA, ER, " \
           "RNA, AGP, Mito; labels perturbation, target" in out.output

    shown = invoke("data", "split", "--dataset", "jump-cpg0000", "--data-root", data)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert any("test" in line and "BR00116993" in line for line in lines)
    assert any("val" in line and "BR00116992" in line for line in lines)
    old_hash = read_split(data / "jump-cpg0000" / "split.csv").hash
    assert old_hash in shown.output

    bad = invoke("data", "split", "--dataset", "jump-cpg0000", "--test", "BR00116991",
                 "--data-root", data)
    assert bad.exit_code == 2 and "add --regenerate" in bad.output
    new = invoke("data", "split", "--dataset", "jump-cpg0000", "--regenerate", "--test",
                 "BR00116991", "--val", "BR00116993", "--data-root", data)
    assert new.exit_code == 0, new.output
    assert f"(was {old_hash})" in new.output
    assert any("test" in line and "BR00116991" in line for line in new.output.splitlines())

    listing = invoke("datasets", "--data-root", data)
    row = next(line for line in listing.output.splitlines() if line.startswith("│ jump-cpg0000"))
    new_hash = read_split(data / "jump-cpg0000" / "split.csv").hash
    assert new_hash != old_hash
    assert "32 px" in row and new_hash in row and "6 " in row

    unknown = invoke("data", "prepare", "--dataset", "jump-cpg0000", "--set", "plate=BR1",
                     "--data-root", data)
    assert unknown.exit_code == 2 and "Unknown setting 'plate'" in unknown.output
    assert "Did you mean 'plates'" in unknown.output


def test_cache_pickles_without_copying_its_arrays(plates_root, tmp_path):
    import pickle

    cached = build(JumpSource(JumpSettings(root=str(plates_root)), tmp_path), 32, tmp_path / "c")
    blob = pickle.dumps(cached)
    assert len(blob) < 20_000  # records and meta only, not the 6 x 8 x 32 x 32 pixels
    clone = pickle.loads(blob)
    record = cached.records()[3]
    np.testing.assert_array_equal(clone.load(record).brightfield, cached.load(record).brightfield)
