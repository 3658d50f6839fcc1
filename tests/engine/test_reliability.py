"""Reliability: kill-and-resume, determinism, concurrent runs, atomic checkpoints."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import invoke, run_cli
from vsbench.engine.checkpointing import CheckpointError, load_checkpoint, save_checkpoint
from vsbench.atomic import write_bytes as atomic_write_bytes

# Long enough to be killed mid-training, small enough for CI.
RESUMABLE = ["--method", "unet", "--seed", "5", "--set", "image_size=32", "--set", "epochs=4",
             "--set", "max_train_images=16", "--set", "batch_size=4", "--set",
             "checkpoint_every=3", "--set", "n_preview=1"]


def _metrics(results):
    [path] = results.glob("runs/synthetic/unet/*/metrics.json")
    return json.loads(path.read_text())


def _env(extra=None):
    env = dict(os.environ, COLUMNS="200")
    env.update(extra or {})
    return env


def test_kill_and_resume_equals_uninterrupted_run(tmp_path):
    data = tmp_path / "data"
    straight = tmp_path / "straight"
    done = run_cli(["run", "--dataset", "synthetic",
                    *RESUMABLE, "--results", str(straight), "--data-root", str(data)],
                   tmp_path)
    assert done.returncode == 0, done.stderr

    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "vsbench", "run", "--dataset", "synthetic",
                             *RESUMABLE, "--results",
                             str(killed), "--data-root", str(data)], cwd=tmp_path, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    ckpt = None
    while time.time() < deadline and proc.poll() is None:
        found = list(killed.glob("runs/synthetic/unet/*/checkpoint.pt"))
        if found:
            ckpt = found[0]
            break
        time.sleep(0.05)
    assert ckpt is not None, "the run never wrote a checkpoint"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = load_checkpoint(ckpt)["train_state"]
    assert 0 < state["step"] < 16, "killed too late to test resuming"
    assert not list(killed.glob("runs/synthetic/unet/*/metrics.json"))

    # A plain rerun offers the unfinished run; --resume continues it in the same folder.
    resumed = run_cli(["run", "--dataset", "synthetic",
                       *RESUMABLE, "--resume", "--results", str(killed), "--data-root",
                       str(data)], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    assert len(list(killed.glob("runs/synthetic/unet/*"))) == 1
    a, b = _metrics(straight), _metrics(killed)
    for channel in a["channels"]:
        for metric, value in a["channels"][channel].items():
            assert b["channels"][channel][metric] == pytest.approx(value, abs=1e-6)
    log_a = (next(straight.glob("runs/synthetic/unet/*")) / "train_log.csv").read_text()
    log_b = (next(killed.glob("runs/synthetic/unet/*")) / "train_log.csv").read_text()
    losses = [[round(float(r.split(",")[1]), 6) for r in log.splitlines()[1:]]
              for log in (log_a, log_b)]
    assert losses[0] == losses[1]


def test_resume_without_unfinished_run_is_an_error(tmp_path):
    out = invoke(["run", "--dataset", "synthetic",
                  *RESUMABLE, "--resume", "--results", str(tmp_path / "r"),
                  "--data-root", str(tmp_path / "d")])
    assert out.returncode == 2
    assert "--resume: no unfinished unet run on synthetic with this configuration" in out.stderr


def test_same_seed_same_metrics_and_concurrent_runs_stay_intact(tmp_path):
    args = ["run", "--dataset", "synthetic",
            "--method", "unet", "--seed", "1", "--set", "image_size=32", "--set",
            "epochs=1", "--set", "max_train_images=8", "--set", "n_preview=1",
            "--results", str(tmp_path / "res"), "--data-root", str(tmp_path / "data")]
    procs = [subprocess.Popen([sys.executable, "-m", "vsbench", *args], cwd=tmp_path,
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()
    folders = sorted((tmp_path / "res" / "runs" / "synthetic" / "unet").iterdir())
    assert len(folders) == 2
    records = [json.loads((f / "metrics.json").read_text()) for f in folders]
    for f in folders:
        assert json.loads((f / "state.json").read_text())["status"] == "completed"
    assert records[0]["channels"] == records[1]["channels"]  # same seed, same numbers


def test_disk_full_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"step": 1, "weights": torch.ones(3)})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(CheckpointError, match="No space left on device; the previous "
                                              "checkpoint is intact"):
        save_checkpoint(path, {"step": 2, "weights": torch.zeros(3)})
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary left


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "checkpoint.pt"
    atomic_write_bytes(path, b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read .* delete it to restart"):
        load_checkpoint(path)


def test_resume_from_an_unreadable_checkpoint_is_a_user_error(tmp_path):
    """A corrupt checkpoint is named, the run folder says failed, and the exit code is 2."""
    from typer.testing import CliRunner

    from tests.conftest import TINY
    from vsbench.cli import app

    results, data = tmp_path / "results", tmp_path / "data"
    args = ["run", "--dataset", "synthetic",
            "--method", "unet", *TINY, "--results", str(results), "--data-root", str(data)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    [folder] = results.glob("runs/synthetic/unet/*")
    (folder / "state.json").write_text(json.dumps({"status": "running", "pid": 1}))
    (folder / "checkpoint.pt").write_bytes(b"not a checkpoint")
    out = CliRunner().invoke(app, [*args, "--resume"])
    assert out.exit_code == 2, out.output
    text = " ".join(out.output.split())
    assert str(folder / "checkpoint.pt") in text.replace("\n", "") or "checkpoint.pt" in text
    assert "without --resume" in text and "Traceback" not in text
    state = json.loads((folder / "state.json").read_text())
    assert state["status"] == "failed" and "checkpoint" in state["error"]


def test_resume_refuses_a_live_run_and_cleans_up_after_a_dead_one(tmp_path):
    """--resume never attaches to a run still training (its pid is alive here); a run whose
    process died mid-write has its half-written temporary files removed on resume."""
    import platform

    from typer.testing import CliRunner

    from tests.conftest import TINY
    from vsbench import atomic
    from vsbench.cli import app

    results, data = tmp_path / "results", tmp_path / "data"
    args = ["run", "--dataset", "synthetic",
            "--method", "unet", *TINY, "--results", str(results), "--data-root", str(data)]
    assert CliRunner().invoke(app, args).exit_code == 0
    [folder] = results.glob("runs/synthetic/unet/*")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (folder / "state.json").write_text(json.dumps(
            {"status": "running", "pid": alive.pid, "host": platform.node()}))
        out = CliRunner().invoke(app, [*args, "--resume"])
        assert out.exit_code == 2, out.output
        assert f"is still training (process {alive.pid}" in " ".join(out.output.split())
        assert json.loads((folder / "state.json").read_text())["status"] == "running"
    finally:
        alive.kill()
        alive.wait()
    stale = atomic.temporary_path(folder / "checkpoint.pt")
    stale.write_bytes(b"half a checkpoint")
    out = CliRunner().invoke(app, [*args, "--resume"])
    assert out.exit_code == 0, out.output
    assert "removed 1 half-written file" in out.output and not stale.exists()
    assert json.loads((folder / "state.json").read_text())["status"] == "completed"


# End-to-end: these train and evaluate through the CLI or the engine (`-m "not e2e"` skips them).
pytestmark = pytest.mark.e2e
