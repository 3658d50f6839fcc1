"""The final checkpoint written in a background thread while the run evaluates."""

import errno
import json
import os

import pytest
import torch

from vsbench.engine import RunRequest, run_benchmark
from vsbench.engine import checkpointing
from vsbench.engine.checkpointing import CheckpointError, CheckpointWriter, load_checkpoint

TINY = {"image_size": 32, "epochs": 1, "max_train_images": 8, "batch_size": 4,
        "n_preview": 1, "tensorboard": False}


def test_background_write_holds_the_state_at_capture_time(tmp_path):
    path = tmp_path / "checkpoint.pt"
    weights = torch.ones(4)
    writer = CheckpointWriter()
    writer.save_later(path, {"step": 3, "nested": {"w": weights, "list": [weights * 2]}})
    weights.zero_()  # e.g. EMA weights swapped in for evaluation after the capture
    writer.join()
    saved = load_checkpoint(path)
    assert saved["step"] == 3
    assert torch.equal(saved["nested"]["w"], torch.ones(4))
    assert torch.equal(saved["nested"]["list"][0], torch.full((4,), 2.0))
    assert writer.seconds > 0
    writer.join()  # nothing pending: a no-op


def test_background_failure_is_raised_by_join_and_keeps_the_previous_file(tmp_path,
                                                                          monkeypatch):
    path = tmp_path / "checkpoint.pt"
    writer = CheckpointWriter()
    writer.save(path, {"step": 1})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    writer.save_later(path, {"step": 2})
    with pytest.raises(CheckpointError, match="No space left on device"):
        writer.join()
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1


def test_a_run_whose_final_checkpoint_fails_is_never_completed(tmp_path, monkeypatch):
    """The background write fails: the run is marked failed, not completed, and writes no
    metrics (that a completed run has its final checkpoint, the resume tests show)."""
    real = checkpointing.save_checkpoint

    def failing(path, state):
        if state["train_state"]["epoch"] == TINY["epochs"]:  # only the final checkpoint
            raise CheckpointError(f"could not write checkpoint {path}: disk full")
        real(path, state)

    monkeypatch.setattr(checkpointing, "save_checkpoint", failing)
    with pytest.raises(CheckpointError, match="disk full"):
        run_benchmark(RunRequest(dataset="synthetic",
                                 method="unet", overrides=TINY, data_root=tmp_path / "data",
                                 results_dir=tmp_path / "results"))
    [state] = (tmp_path / "results").glob("runs/synthetic/unet/*/state.json")
    assert json.loads(state.read_text())["status"] == "failed"
    assert not list(state.parent.glob("metrics.json"))



def test_the_final_checkpoint_leaves_the_optimizer_out_unless_asked(tmp_path):
    import torch

    from tests.conftest import TINY, run_method
    from vsbench.engine.checkpointing import METHOD, OPTIMIZER, TRAIN_STATE

    slim, _ = run_method(tmp_path / "slim", "unet", *TINY)
    full, _ = run_method(tmp_path / "full", "unet", *TINY, "--keep-optimizer")
    a = torch.load(slim / "checkpoint.pt", map_location="cpu", weights_only=False)
    b = torch.load(full / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert OPTIMIZER not in a and OPTIMIZER in b
    assert a[TRAIN_STATE]["step"] == b[TRAIN_STATE]["step"] > 0
    for key, value in a[METHOD].items():  # the same weights, whatever was kept besides
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b[METHOD][key]), key
    # Adam keeps two moments per weight: the slim file is about a third of the full one
    ratio = (slim / "checkpoint.pt").stat().st_size / (full / "checkpoint.pt").stat().st_size
    assert ratio < 0.4
