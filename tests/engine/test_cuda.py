"""The CUDA paths, on a machine that has a GPU (skipped elsewhere, e.g. in CI): a run on the
device in bf16 mixed precision trains, scores finite metrics and records where it ran."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from tests.conftest import TINY
from vsbench.cli import app

pytestmark = [pytest.mark.cuda, pytest.mark.e2e]


@pytest.mark.parametrize("method", ["unet", "palette"])
def test_a_bf16_run_on_cuda_completes(tmp_path, method):
    out = CliRunner().invoke(app, ["run", "--dataset", "synthetic",
                                   "--method", method, "--device", "cuda", *TINY,
                                   "--set", "precision=bf16", "--results", str(tmp_path / "r"),
                                   "--data-root", str(tmp_path / "d")])
    assert out.exit_code == 0, out.output
    [folder] = (tmp_path / "r" / "runs" / "synthetic" / method).iterdir()
    config = json.loads((folder / "config.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    assert config["device"].startswith("cuda") and config["run"]["precision"] == "bf16"
    assert all(math.isfinite(v) for v in metrics["average"].values())
