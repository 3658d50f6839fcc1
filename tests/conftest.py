"""Shared fixtures: fake installed plugins and tiny run settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config, items):
    """``cuda`` tests skip on a machine without a CUDA GPU (CI has none)."""
    if not any(item.get_closest_marker("cuda") for item in items):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)

# Runs made by tests (in process and in subprocesses) score the pixel tier only: the biological
# tiers cost seconds per run and are tested on their own, in tests marked ``tiers`` (and in
# fixtures that call :func:`all_tiers`), which check that a default run scores them.
os.environ["VSBENCH_TIERS"] = "pixel"


@pytest.fixture(autouse=True)
def _tiers_where_marked(request, monkeypatch):
    if request.node.get_closest_marker("tiers") is not None:
        monkeypatch.delenv("VSBENCH_TIERS", raising=False)


def all_tiers() -> pytest.MonkeyPatch:
    """A monkeypatch context in which runs score every tier (for module-scoped fixtures)."""
    patch = pytest.MonkeyPatch()
    patch.delenv("VSBENCH_TIERS", raising=False)
    return patch


REPO = Path(__file__).resolve().parents[1]
EXAMPLE_PLUGIN = REPO / "examples" / "vsbench-example-plugin"

# Small, fast settings for end-to-end runs on the CPU (32 px, one epoch, a few images).
TINY = ["--set", "image_size=32", "--set", "epochs=1", "--set", "max_train_images=8",
        "--set", "n_preview=2"]


# Tiny diffusion networks (and a 4-step sampler) for end-to-end runs of the diffusion methods.
TINY_DIFFUSION = ["--set", "width=8", "--set", "channel_mults=1,2", "--set",
                  "layers_per_block=1", "--set", "head_dim=8", "--set", "sample_steps=4"]


def run_method(tmp_path: Path, method: str, *args: str) -> tuple[Path, str]:
    """``vsbench run --method METHOD ARGS`` in this process, into ``tmp_path/res`` on the data
    root ``tmp_path/data`` (warnings silenced); asserts it succeeded and returns the method's
    newest run folder and the output."""
    import warnings

    from typer.testing import CliRunner

    from vsbench.cli import app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = CliRunner().invoke(app, ["run", "--dataset", "synthetic",
                                       "--method", method, "--results",
                                       str(tmp_path / "res"), "--data-root",
                                       str(tmp_path / "data"), *args],
                                 env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    folders = sorted((tmp_path / "res" / "runs" / "synthetic" / method).iterdir())
    return folders[-1], out.output


def install_fake_distribution(site: Path, name: str, version: str,
                              entry_points: dict[str, str]) -> None:
    """Write the metadata of an installed distribution whose ``vsbench`` entry points are
    ``entry_points`` (name -> module), as pip would, into the folder ``site``."""
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[vsbench]\n{lines}\n")


@pytest.fixture
def plugin_site(tmp_path):
    """A site folder holding the README's example plugin as an installed distribution."""
    site = tmp_path / "site"
    site.mkdir()
    install_fake_distribution(site, "vsbench-example-plugin", "0.1.0",
                              {"tiny-cnn": "vsbench_example"})
    return site


def run_cli(args: list[str], cwd: Path, extra_path: list[Path] = (), timeout: int = 600
            ) -> subprocess.CompletedProcess:
    """Run ``python -m vsbench ARGS`` in a subprocess with extra folders on its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, extra_path), env.get("PYTHONPATH", "")])
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "vsbench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def invoke(args: list[str]) -> subprocess.CompletedProcess:
    """Run the CLI with ``args`` in this process (no interpreter start-up and imports: ~10 s
    less than :func:`run_cli`), returning what :func:`run_cli` returns. For commands that need
    no fresh process (no extra plugin path, no signals, no import checks)."""
    from typer.testing import CliRunner

    from vsbench.cli import app

    out = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    return subprocess.CompletedProcess(args, out.exit_code, out.stdout, out.stderr)
