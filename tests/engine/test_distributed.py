"""torchrun: two CPU processes (gloo) train and evaluate like one, and write one run folder."""

import json
import os
import shutil
import subprocess

import pytest

from tests.conftest import invoke

ARGS = ["--method", "unet", "--seed", "2", "--set", "image_size=32", "--set", "epochs=2",
        "--set", "max_train_images=16", "--set", "batch_size=4", "--set", "n_preview=1"]


def test_torchrun_two_processes_match_single_process(tmp_path):
    if shutil.which("torchrun") is None:
        pytest.skip("torchrun is not on PATH")
    data = tmp_path / "data"
    single = invoke(["run", "--dataset", "synthetic",
                     *ARGS, "--results", str(tmp_path / "single"), "--data-root",
                     str(data)])
    assert single.returncode == 0, single.stderr
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200")
    multi = subprocess.run(
        ["torchrun", "--standalone", "--nproc_per_node", "2", "-m", "vsbench", "run", "--dataset",
         "synthetic", *ARGS,
         "--results", str(tmp_path / "multi"), "--data-root", str(data)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert multi.returncode == 0, multi.stderr[-3000:]
    folders = list((tmp_path / "multi" / "runs" / "synthetic" / "unet").iterdir())
    assert len(folders) == 1, "rank 0 alone writes the run folder"
    [one] = (tmp_path / "single" / "runs" / "synthetic" / "unet").iterdir()
    a = json.loads((one / "metrics.json").read_text())
    b = json.loads((folders[0] / "metrics.json").read_text())
    assert b["n_test_images"] == a["n_test_images"] == 24  # every rank's images gathered
    assert json.loads((folders[0] / "config.json").read_text())["world_size"] == 2
    # Same data order and global batch; only BatchNorm's batch statistics are per process
    # (SyncBatchNorm needs CUDA). On this 2-epoch model that moves the errors (measured: MAE
    # 0.224 -> 0.255), but less than changing the seed does: another seed is the yardstick.
    # The 2-epoch model's PCC is ~0.01 (no structure learnt yet), so PCC and SSIM are held to
    # a small absolute tolerance instead.
    other = invoke(["run", "--dataset", "synthetic",
                    *ARGS[:2], "--seed", "3", *ARGS[4:], "--results",
                    str(tmp_path / "other"), "--data-root", str(data)])
    assert other.returncode == 0, other.stderr
    [third] = (tmp_path / "other" / "runs" / "synthetic" / "unet").iterdir()
    c = json.loads((third / "metrics.json").read_text())
    for metric in ("mse", "mae"):
        seed_gap = abs(c["average"][metric] - a["average"][metric])
        assert abs(b["average"][metric] - a["average"][metric]) <= seed_gap + 0.005, metric
    for metric in ("pcc", "ssim"):
        assert abs(b["average"][metric] - a["average"][metric]) <= 0.03, metric
    log_a = (one / "train_log.csv").read_text().splitlines()[1:]
    log_b = (folders[0] / "train_log.csv").read_text().splitlines()[1:]
    assert float(log_b[0].split(",")[1]) == pytest.approx(float(log_a[0].split(",")[1]),
                                                          rel=0.05)


# End-to-end: these train and evaluate through the CLI or the engine (`-m "not e2e"` skips them).
pytestmark = pytest.mark.e2e
