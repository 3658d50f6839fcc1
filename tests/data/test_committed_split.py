"""The split manifests committed under datasets/ are the synthetic datasets' own: the README's
first command (`vsbench run` with the default data root) reads the default one on a fresh
clone, and results/reference-graded was made on the synthetic-graded one."""

from pathlib import Path

import pytest

from vsbench.data.splits import check_split, write_split
from vsbench.data.sources.synthetic.source import GRADED_LAYOUT, SyntheticSource

REPO = Path(__file__).resolve().parents[2]
SOURCES = {"synthetic": SyntheticSource,
           "synthetic-graded": lambda: SyntheticSource(**GRADED_LAYOUT, panel="graded")}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_the_committed_manifest_is_the_layouts_split(name, tmp_path):
    records = SOURCES[name]().records()
    committed = check_split(records, REPO / "datasets" / name / "split.csv")  # raises when it names unknown samples
    assert committed is not None
    assert sorted(i for ids in committed.parts.values() for i in ids) == sorted(
        r.sample_id for r in records)
    # and it is the split the source makes on its own (deterministic): a deleted manifest
    # comes back the same
    fresh = write_split(records, tmp_path / "split.csv")
    assert fresh.hash == committed.hash
    assert {p: list(ids) for p, ids in fresh.parts.items()} == {
        p: list(ids) for p, ids in committed.parts.items()}
