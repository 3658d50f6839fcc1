"""The README's "Writing a method plugin" section, as written: its pyproject.toml and two
Python files built into a wheel (setuptools, no network), installed into a folder of its own
and run with `vsbench run`; its method with nothing to train runs end to end with no
optimiser and no epoch. The example plugin in examples/ is the same three files."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from rich.console import Console

from tests.conftest import EXAMPLE_PLUGIN, REPO, TINY, run_cli
from vsbench import MethodSpec, hookimpl
from vsbench.engine import RunRequest, run_benchmark
from vsbench.method import Method
from vsbench.plugins import Origin, build_registry

FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)


def plugin_blocks() -> dict[str, str]:
    """The section's code blocks, by the file each is (the no-parameter method: ``extra``)."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Writing a method plugin", 1)[1].split("\n## ", 1)[0]
    blocks = FENCE.findall(section)
    assert [lang for lang, _ in blocks] == ["toml", "python", "python", "python"], blocks
    names = ("pyproject.toml", "vsbench_example/__init__.py", "vsbench_example/model.py",
             "extra")
    return {name: code for name, (_, code) in zip(names, blocks)}


def test_the_readme_snippet_is_the_example_plugin():
    for name, code in plugin_blocks().items():
        if name in ("pyproject.toml", "extra"):
            continue
        assert code.strip() in (EXAMPLE_PLUGIN / name).read_text(), name
    readme = tomllib.loads(plugin_blocks()["pyproject.toml"])
    example = tomllib.loads((EXAMPLE_PLUGIN / "pyproject.toml").read_text())
    for key in ("build-system", "tool"):
        assert readme[key] == example[key]
    assert readme["project"]["entry-points"] == example["project"]["entry-points"]


def test_the_readme_snippet_builds_installs_and_runs(tmp_path):
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools")
    package = tmp_path / "package"
    for name, code in plugin_blocks().items():
        if name != "extra":
            (package / name).parent.mkdir(parents=True, exist_ok=True)
            (package / name).write_text(code)
    config = tomllib.loads((package / "pyproject.toml").read_text())
    assert config["build-system"]["build-backend"] == "setuptools.build_meta"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"),
                            str(package)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (tmp_path / "dist").glob("vsbench_example_plugin-0.1.0-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:  # a pure-Python wheel installs by unpacking
        names = archive.namelist()
        archive.extractall(site)
    assert {"vsbench_example/__init__.py", "vsbench_example/model.py"} <= set(names)
    [entry_points] = site.glob("*.dist-info/entry_points.txt")
    assert "[vsbench]" in entry_points.read_text() and "tiny-cnn = vsbench_example" in (
        entry_points.read_text())
    listing = run_cli(["methods"], tmp_path, [site])
    assert listing.returncode == 0, listing.stderr
    assert "tiny-cnn" in listing.stdout and "vsbench-example-plugin" in listing.stdout
    result = run_cli(["run", "--dataset", "synthetic",
                      "--method", "tiny-cnn", "--results", str(tmp_path / "res"),
                      "--data-root", str(tmp_path / "data"), *TINY], tmp_path, [site])
    assert result.returncode == 0, result.stderr + result.stdout
    assert list((tmp_path / "res" / "runs" / "synthetic" / "tiny-cnn").glob("*/metrics.json"))


@dataclass
class NoParams:
    pass


def test_a_method_with_nothing_to_train_runs_without_epochs(tmp_path):
    namespace = {"torch": torch, "Method": Method}
    exec(plugin_blocks()["extra"], namespace)  # the README's class, as written
    channel_mean = namespace["ChannelMean"]

    class Plugin:
        @hookimpl
        def vsbench_methods(self):
            return [MethodSpec(name="channel-mean", description="README", reference="README",
                               params=NoParams, factory=channel_mean)]

    registry = build_registry(extra_plugins=[(Plugin(), Origin("readme", "t", "t", "0"))])
    result = run_benchmark(RunRequest(dataset="synthetic", method="channel-mean",
                                      overrides={"image_size": 32, "max_train_images": 8},
                                      device="cpu", results_dir=tmp_path / "res",
                                      data_root=tmp_path / "data"),
                           Console(quiet=True), registry)
    folder = result.folder
    log = (folder / "train_log.csv").read_text().strip().splitlines()
    assert len(log) <= 1  # a header at most: no epoch was run
    assert result.metrics.n_test_images == 24
    # a floor indeed: the brightfield's intensity says next to nothing of the stains
    assert abs(result.metrics.average["pcc"]) < 0.3 and result.metrics.average["mse"] > 0
    assert (folder / "checkpoint.pt").is_file()


def test_the_readme_dataset_source_is_a_working_source(tmp_path):
    import numpy as np

    from vsbench.data.splits import load_or_create_split
    from vsbench.data.torch_dataset import PairedImageDataset

    text = (REPO / "README.md").read_text()
    section = text.split("## Writing a dataset source plugin", 1)[1].split("\n## ", 1)[0]
    [(lang, code)] = FENCE.findall(section)
    assert lang == "python"
    namespace: dict = {}
    exec(compile(code, "README.md (dataset source)", "exec"), namespace)
    [spec] = namespace["vsbench_datasets"]()
    source = spec.factory(Path("unused"))
    records = source.records()
    assert len(records) == 16 and len({r.sample_id for r in records}) == 16
    sample = source.load(records[0])
    assert sample.fluorescence.shape == (2, 64, 64) and sample.brightfield.shape == (1, 64, 64)
    assert np.array_equal(source.load(records[0]).fluorescence, sample.fluorescence)
    split = load_or_create_split(records, tmp_path / "split.csv")  # from the records alone
    data = PairedImageDataset(source, split.ids("train"), 32)
    item = data[0]
    assert tuple(item["fluorescence"].shape) == (2, 32, 32)
    assert tuple(item["brightfield"].shape) == (1, 32, 32)
    assert source.fingerprint() == "noise-plates-64"
