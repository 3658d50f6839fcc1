"""Shared training: a method that trains as Palette reuses a completed Palette run's training
and evaluates exactly what training it again would give; the key says when that holds."""

from __future__ import annotations

import json


from tests.conftest import TINY, TINY_DIFFUSION, run_method
from vsbench.engine import RunRequest, plan_run
from vsbench.engine.shared_training import (find_trained, load_shared_checkpoint, sharing_groups,
                                            trains_as, training_key)
from vsbench.layout import PER_IMAGE_FILE
from vsbench.plugins import build_registry

PALETTE_FAMILY = {"palette-threshold", "diffstain", "palette-zero-guide", "palette-oracle-masks"}


def _key(tmp_path, method, **overrides):
    plan = plan_run(RunRequest(dataset="synthetic",
                               method=method, data_root=tmp_path / "data", device="cpu",
                               overrides={"image_size": 32, **overrides}))
    return training_key(plan.config.to_json())


def test_the_palette_family_trains_as_palette_and_nothing_else_does():
    registry = build_registry()
    shared = {name for name in registry.methods if trains_as(name, registry) != name}
    assert shared == PALETTE_FAMILY
    assert all(trains_as(name, registry) == "palette" for name in shared)


def test_the_key_follows_what_training_depends_on_only(tmp_path):
    palette = _key(tmp_path, "palette")
    assert _key(tmp_path, "palette-threshold") == palette
    assert _key(tmp_path, "palette-threshold", threshold="otsu", start_fraction=0.3) == palette
    assert _key(tmp_path, "diffstain", n_preview=2) == palette  # evaluation settings
    assert _key(tmp_path, "palette", lr=1e-3) != palette
    assert _key(tmp_path, "palette", width=32) != palette
    assert _key(tmp_path, "palette", prediction="epsilon") != palette
    assert _key(tmp_path, "unet") != palette
    seed1 = plan_run(RunRequest(dataset="synthetic",
                                method="palette", seed=1, data_root=tmp_path / "data",
                                device="cpu", overrides={"image_size": 32}))
    assert training_key(seed1.config.to_json()) != palette


def test_a_sweep_runs_the_trainings_first():
    cells = [("palette-threshold", 0), ("unet", 0), ("palette", 0), ("diffstain", 0),
             ("palette", 1), ("palette-threshold", 1)]
    first, later = sharing_groups(cells)
    assert [cells[i] for i in first] == [("palette-threshold", 0), ("unet", 0), ("palette", 1)]
    assert [cells[i] for i in later] == [("palette", 0), ("diffstain", 0),
                                         ("palette-threshold", 1)]


def _run(tmp_path, method, *extra):
    return run_method(tmp_path, method, *TINY, *TINY_DIFFUSION, *extra)


def test_a_reused_training_evaluates_exactly_what_retraining_gives(tmp_path):
    palette, _ = _run(tmp_path, "palette")
    reused, output = _run(tmp_path, "palette-threshold")
    retrained, _ = _run(tmp_path, "palette-threshold", "--retrain")
    assert f"training: reusing palette/{palette.name}" in output
    records = {name: json.loads((folder / "config.json").read_text())
               for name, folder in (("palette", palette), ("reused", reused),
                                    ("retrained", retrained))}
    assert records["reused"]["training"]["reused"] == {
        "method": "palette", "run": palette.name, "folder": str(palette)}
    assert records["retrained"]["training"]["reused"] is None
    assert records["palette"]["training"]["key"] == records["reused"]["training"]["key"] \
        == records["retrained"]["training"]["key"]
    assert records["reused"]["training"]["trains_as"] == "palette"
    # the same per-image scores, guided sampling included: the same weights and random state
    assert (reused / PER_IMAGE_FILE).read_text() == (retrained / PER_IMAGE_FILE).read_text()
    metrics = {name: json.loads((folder / "metrics.json").read_text())
               for name, folder in (("reused", reused), ("retrained", retrained))}
    assert metrics["reused"]["average"] == metrics["retrained"]["average"]
    assert (reused / "train_log.csv").read_text().splitlines()[1:] == \
        (palette / "train_log.csv").read_text().splitlines()[1:]
    # a run that reused a training can give its own to the next one
    again, output = _run(tmp_path, "palette-zero-guide")
    assert "training: reusing palette-threshold/" in output


def test_the_donor_is_a_completed_run_of_another_method_with_its_checkpoint(tmp_path):
    from tests.leaderboard.test_board import make_run

    folders = {}
    for method in ("palette", "palette-threshold"):
        folder = make_run(tmp_path, method, 0, 0.5)
        config = json.loads(folder.file("config.json").read_text())
        config["training"] = {"key": "k1", "trains_as": "palette", "reused": None}
        folder.file("config.json").write_text(json.dumps(config))
        folders[method] = folder.path
    assert find_trained(tmp_path, "synthetic", "k1", "diffstain") is None  # no checkpoint yet
    (folders["palette"] / "checkpoint.pt").write_bytes(b"x")
    assert find_trained(tmp_path, "synthetic", "k1", "diffstain") == folders["palette"]
    assert find_trained(tmp_path, "synthetic", "k2", "diffstain") is None  # another training
    # running a configuration again measures its training's reproducibility: not reused
    assert find_trained(tmp_path, "synthetic", "k1", "palette") is None
    (folders["palette-threshold"] / "checkpoint.pt").write_bytes(b"x")
    assert find_trained(tmp_path, "synthetic", "k1", "palette") == folders["palette-threshold"]
    # a damaged donor checkpoint is not used: the run trains
    assert load_shared_checkpoint(folders["palette"]) is None
