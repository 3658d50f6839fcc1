"""The engine package: building and reloading methods, the plan, the loop's callbacks, and
the process-wide torch flags a run leaves as it found them."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
import torch
from rich.console import Console

from vsbench import MethodSpec, hookimpl
from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.engine import (RunRequest, build_data, create_method, evaluate, load_trained, plan_run,
                            restored_torch_flags, run_benchmark)
from vsbench.engine.callbacks import Callback
from vsbench.engine.train import Trainer
from vsbench.errors import EngineError, PluginError
from vsbench.method import DirectRegressor
from vsbench.plugins import Origin, build_registry

TINY = {"image_size": 32, "epochs": 1, "max_train_images": 8, "n_preview": 3,
        "tensorboard": False}
INFO = SyntheticSource().info
SEEN: dict = {}


@dataclasses.dataclass
class ProbeParams:
    loss: str = "l1"
    fail: bool = False


class Probe(DirectRegressor):
    """A one-layer regressor that records what the engine hands it."""

    def __init__(self, params, info):
        super().__init__(params, info)
        self.model = torch.nn.Conv2d(len(info.planes), len(info.channels), 3, padding=1)

    def prepare(self, train_data, device, cache_dir=None):
        SEEN["cache_dir"] = cache_dir

    def training_loss(self, batch):
        SEEN["deterministic"] = torch.are_deterministic_algorithms_enabled()
        SEEN.setdefault("augmentation", []).extend(batch["augmentation"].tolist())
        if self.params.fail:
            raise RuntimeError("probe failure")
        return super().training_loss(batch)


class ProbePlugin:
    @hookimpl
    def vsbench_methods(self):
        return [MethodSpec(name="probe", description="records", reference="test",
                           params=ProbeParams, factory=Probe),
                MethodSpec(name="not-a-method", description="bad factory", reference="test",
                           params=ProbeParams, factory=lambda params, info: object())]


@pytest.fixture(scope="module")
def registry():
    return build_registry(extra_plugins=[(ProbePlugin(), Origin("probe", "tests", "tests", "0"))])


@pytest.fixture(scope="module")
def unet_run(tmp_path_factory):
    """A finished tiny unet run."""
    root = tmp_path_factory.mktemp("engine")
    result = run_benchmark(RunRequest(dataset="synthetic",
                                      method="unet", overrides=TINY, device="cpu",
                                      results_dir=root / "res", data_root=root / "data"),
                           Console(quiet=True))
    return root, result


def test_create_method_builds_the_preset_with_overrides():
    method = create_method("unet", INFO, "smoke", {"loss": "l2", "epochs": 3})
    assert type(method).__name__ == "UNetMethod" and isinstance(method, DirectRegressor)
    assert method.params.loss == "l2" and method.params.decoder_channels == (64, 32, 32, 16, 16)
    assert method.info == INFO


def test_create_method_errors(registry):
    with pytest.raises(PluginError, match="Unknown method 'unte'"):
        create_method("unte", INFO)
    with pytest.raises(PluginError, match="returned object, not a vsbench.method.Method"):
        create_method("not-a-method", INFO, registry=registry)


def test_reloaded_run_predicts_exactly_what_the_run_predicted(unet_run):
    root, result = unet_run
    trained = load_trained(result.folder, "cpu")  # the data root the run recorded
    assert not trained.method.model.training
    _, test_data = build_data(trained.plan)
    run = trained.plan.resolved.run
    scores, preview, *_ = evaluate(trained.method, test_data, run, torch.device("cpu"), "unet",
                                  None)
    summary = scores.compute()
    assert summary["channels"] == result.metrics.channels
    assert summary["average"] == result.metrics.average
    with np.load(result.folder / "predictions.npz") as arrays:
        saved = arrays["prediction"]
        assert list(arrays["sample_ids"]) == preview["ids"]
    again = torch.cat(preview["prediction"]).numpy().astype(np.float16)
    assert np.array_equal(again, saved)


def test_load_trained_refuses_a_run_it_cannot_rebuild(unet_run, tmp_path):
    root, result = unet_run
    config = json.loads((result.folder / "config.json").read_text())
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "checkpoint.pt").write_bytes((result.folder / "checkpoint.pt").read_bytes())
    config["method_params"]["loss"] = "l2"  # as if the plugin's default had changed since
    (changed / "config.json").write_text(json.dumps(config))
    with pytest.raises(EngineError, match="method_params differ in loss"):
        load_trained(changed, "cpu", prepare=False)
    (changed / "checkpoint.pt").unlink()
    with pytest.raises(EngineError, match="has no checkpoint.pt"):
        load_trained(changed, "cpu")


def test_the_plan_is_frozen_and_the_method_record_goes_to_a_copy(unet_run):
    root, result = unet_run
    plan = plan_run(RunRequest(dataset="synthetic", method="palette-threshold", overrides=TINY,
                               data_root=root / "data", device="cpu"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.config = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.config.method_record = {"x": 1}
    assert plan.config.config_hash and plan.config.method_record is None
    assert plan.config.started is None


def test_a_run_restores_torch_flags_and_hands_the_method_its_cache_and_codes(registry, tmp_path,
                                                                              monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
              torch.backends.cudnn.deterministic)
    SEEN.clear()
    request = RunRequest(dataset="synthetic",
                         method="probe", overrides=TINY, device="cpu", deterministic=True,
                         results_dir=tmp_path / "res", data_root=tmp_path / "data")
    run_benchmark(request, Console(quiet=True), registry=registry)
    assert SEEN["deterministic"]  # on during the run ...
    after = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
             torch.backends.cudnn.deterministic)
    assert after == before  # ... and off again after it
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    assert SEEN["cache_dir"] == tmp_path / "data" / "synthetic"
    assert set(SEEN["augmentation"]) - {0}  # the dataset's dihedral codes reach the method
    # a failing run restores them too
    SEEN.clear()
    failing = dataclasses.replace(request, overrides={**TINY, "fail": True})
    with pytest.raises(RuntimeError, match="probe failure"):
        run_benchmark(failing, Console(quiet=True), registry=registry)
    assert SEEN["deterministic"] and not torch.are_deterministic_algorithms_enabled()


def test_restored_torch_flags_context():
    before = torch.backends.cudnn.benchmark
    with restored_torch_flags():
        torch.backends.cudnn.benchmark = not before
        torch.use_deterministic_algorithms(True, warn_only=True)
    assert torch.backends.cudnn.benchmark == before
    assert not torch.are_deterministic_algorithms_enabled()


def test_callbacks_run_at_the_fixed_points(registry, tmp_path):
    plan = plan_run(RunRequest(dataset="synthetic",
                               method="probe", overrides={**TINY, "epochs": 2, "batch_size": 4},
                               device="cpu", data_root=tmp_path / "data"), registry)
    train_data, _ = build_data(plan)
    calls = []

    class Record(Callback):
        def before_train(self, trainer):
            calls.append(("before_train", trainer.state.step))

        def after_step(self, trainer):
            calls.append(("after_step", trainer.state.step))

        def after_epoch(self, trainer):
            calls.append(("after_epoch", trainer.state.epoch))

        def after_train(self, trainer):
            calls.append(("after_train", trainer.state.step))

    method = create_method("probe", plan.source.info, registry=registry)
    state = Trainer(method, train_data, plan.resolved.run, plan.device, 0,
                    callbacks=[Record()]).fit()
    assert calls == [("before_train", 0), ("after_step", 1), ("after_step", 2),
                     ("after_epoch", 1), ("after_step", 3), ("after_step", 4),
                     ("after_epoch", 2), ("after_train", 4)]
    assert [entry["epoch"] for entry in state.log] == [1, 2] and state.step == 4
    assert not method.model.training


def test_validation_loss_per_epoch_leaves_training_as_it_was(tmp_path):
    """``val_loss`` is the method's own loss on the validation split (checked against a
    direct evaluation of the final weights), and measuring it draws nothing from training's
    random stream: a diffusion method trains to the same weights with and without it."""
    from vsbench.engine.build import build_val_data
    from vsbench.engine.callbacks import ValidationLoss

    small = {**TINY, "epochs": 2, "batch_size": 4, "width": 8, "channel_mults": (1, 2),
             "layers_per_block": 1, "head_dim": 8}
    plan = plan_run(RunRequest(dataset="synthetic", method="palette", overrides=small, device="cpu",
                               data_root=tmp_path / "data"))
    train_data, _ = build_data(plan)
    val = build_val_data(plan)
    assert val is not None and 0 < len(val) <= 64
    assert {r.sample_id for r in val.records}.isdisjoint(r.sample_id for r in train_data.records)
    weights, logs = [], []
    for callbacks in ([], [ValidationLoss(val)]):
        torch.manual_seed(0)
        method = create_method("palette", plan.source.info, "smoke", small)
        state = Trainer(method, train_data, plan.resolved.run, plan.device, 0,
                        callbacks=callbacks).fit()
        weights.append({k: v.clone() for k, v in method.model.state_dict().items()})
        logs.append(state.log)
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert "val_loss" not in logs[0][-1]
    values = [entry["val_loss"] for entry in logs[1]]
    assert len(values) == 2 and all(np.isfinite(values)) and values[0] != values[1]
    # the last epoch's value is the loss of the final weights on the same draws
    probe = ValidationLoss(val)
    view = type("View", (), {"run": plan.resolved.run, "device": plan.device,
                             "method": method, "state": type("S", (), {"log": [{}]})()})()
    probe.after_epoch(view)
    assert view.state.log[-1]["val_loss"] == pytest.approx(values[-1], rel=1e-6)
