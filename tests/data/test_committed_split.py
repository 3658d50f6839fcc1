"""The split manifests committed under datasets/ are the synthetic datasets' own: the README's
first command (`vsbench run` with the default data root) reads the default one (synthetic-graded,
on which results/reference was made) on a fresh clone, and results/reference-synthetic was made
on the synthetic one."""

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


def test_the_default_dataset_is_the_graded_panel_everywhere():
    """One default (vsbench.data.sources.DEFAULT_DATASET) for run, sweep, validate-tiers and
    the engine's request, registered, with its split committed for the README's first
    command."""
    from typer.testing import CliRunner

    from vsbench.cli import app
    from vsbench.data.sources import DEFAULT_DATASET
    from vsbench.engine import RunRequest
    from vsbench.plugins import default_registry

    assert DEFAULT_DATASET == "synthetic-graded"
    assert RunRequest(method="unet").dataset == DEFAULT_DATASET
    assert default_registry().dataset(DEFAULT_DATASET).spec.name == DEFAULT_DATASET
    assert (REPO / "datasets" / DEFAULT_DATASET / "split.csv").is_file()
    for command in ("run", "sweep", "validate-tiers"):
        out = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert out.exit_code == 0 and f"[default: {DEFAULT_DATASET}]" in out.output, command
