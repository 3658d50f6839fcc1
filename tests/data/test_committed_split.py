"""The split manifest committed under datasets/ is the default synthetic dataset's: the README's
first command (`vsbench run` with the default data root) reads it on a fresh clone."""

from pathlib import Path

from vsbench.data.splits import check_split, write_split
from vsbench.data.sources.synthetic.source import SyntheticSource

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "datasets" / "synthetic" / "split.csv"


def test_the_committed_manifest_is_the_default_layouts_split(tmp_path):
    records = SyntheticSource().records()
    committed = check_split(records, MANIFEST)  # raises when it names unknown samples
    assert committed is not None
    assert sorted(i for ids in committed.parts.values() for i in ids) == sorted(
        r.sample_id for r in records)
    # and it is the split the source makes on its own (deterministic): a deleted manifest
    # comes back the same
    fresh = write_split(records, tmp_path / "split.csv")
    assert fresh.hash == committed.hash
    assert {p: list(ids) for p, ids in fresh.parts.items()} == {
        p: list(ids) for p, ids in committed.parts.items()}
