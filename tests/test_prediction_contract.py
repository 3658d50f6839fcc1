"""The prediction contract (issue 31): a prediction off [0, 1], of an integer type, of the wrong
size or batch is refused where it enters - a plugin's predict in a run's evaluation, in the
posterior tier's sampling and in `vsbench predict`, and a file `vsbench score` reads - with one
line naming the method or file, what it gave and what is expected; never clamped and ranked."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from rich.console import Console

from vsbench import MethodSpec, hookimpl
from vsbench.contract import RANGE_TOLERANCE, check_output
from vsbench.engine import RunRequest, build_data, evaluate, plan_run, run_benchmark
from vsbench.engine.posterior import draw_samples
from vsbench.score.submitted import read_submission
from vsbench.errors import DataError, MetricError
from vsbench.method import DirectRegressor, Prediction
from vsbench.plugins import Origin, build_registry

CHANNELS = ("DNA", "ER", "RNA", "AGP", "Mito")
TINY = {"image_size": 32, "epochs": 1, "max_train_images": 8, "n_preview": 2,
        "tensorboard": False, "eval_batch_size": 4}
FAULT = {"mode": "ok"}  # what the probe method's predict does now (set by each test)


def faulty(image: torch.Tensor, mode: str) -> torch.Tensor:
    """A prediction on [0, 1] broken in one of the ways plugins break it."""
    return {"ok": lambda x: x,
            "scaled": lambda x: x * 5 + 1,  # [1, 6]
            "uint8": lambda x: (x * 255).to(torch.uint8),
            "negative": lambda x: x - 0.5,
            "size": lambda x: x[..., ::2, ::2],
            "batch": lambda x: x[:-1],
            "nan": lambda x: torch.where(x > 0.5, torch.nan, x),
            "tiny_excess": lambda x: x * (1 + RANGE_TOLERANCE / 2)}[mode](image)


@dataclasses.dataclass
class ProbeParams:
    loss: str = "l1"


class Probe(DirectRegressor):
    """A one-layer regressor whose predict breaks the contract as FAULT says."""

    def __init__(self, params, info):
        super().__init__(params, info)
        self.model = torch.nn.Conv2d(len(info.planes), len(info.channels), 3, padding=1)

    def predict(self, batch):
        return faulty(super().predict(batch), FAULT["mode"])


class ProbePlugin:
    @hookimpl
    def vsbench_methods(self):
        return [MethodSpec(name="contract-probe", description="breaks the contract",
                           reference="test", params=ProbeParams, factory=Probe)]


@pytest.fixture(scope="module")
def registry():
    return build_registry(extra_plugins=[(ProbePlugin(), Origin("probe", "tests", "tests", "0"))])


@pytest.fixture(scope="module")
def prepared(registry, tmp_path_factory):
    """The probe's plan, method and test data on one data root (nothing trained)."""
    root = tmp_path_factory.mktemp("contract")
    plan = plan_run(RunRequest(dataset="synthetic",
                               method="contract-probe", overrides=TINY, device="cpu",
                               results_dir=root / "res", data_root=root / "data"), registry)
    _, test_data = build_data(plan)
    method = Probe(ProbeParams(), plan.source.info)
    torch.manual_seed(0)
    method.model.reset_parameters()
    method.train(False)
    return root, plan, method, test_data


@pytest.fixture(autouse=True)
def _reset_fault():
    yield
    FAULT["mode"] = "ok"


BF = torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(0))
GOOD = torch.rand(4, 5, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("mode,message", [
    ("scaled", "m predicted values in [1, 6]; expected [0, 1] (within 0.001)"),
    ("uint8", "m predicted dtype torch.uint8; expected floating point values on [0, 1]"),
    ("negative", "m predicted values in [-0.5, 0.5]; expected [0, 1]"),
    ("size", "m predicted shape (4, 5, 16, 16) (input brightfield (4, 1, 32, 32)); expected "
             "(4, 5, 32, 32): [B, C, H, W], one image per field, the 5 channel(s) DNA, ER, RNA, "
             "AGP, Mito, the input's size."),
    ("batch", "m predicted 3 image(s) for a batch of 4 fields (input brightfield "
              "(4, 1, 32, 32)); expected (4, 5, 32, 32)"),
])
def test_each_breach_is_one_line_naming_the_method_the_value_and_the_expected(mode, message):
    scaled = torch.tensor([0.0, 1.0]).repeat(4, 5, 32, 16)  # exact [0, 1], so exact bounds
    image = scaled if mode in ("scaled", "negative") else GOOD
    with pytest.raises(MetricError) as err:
        check_output(faulty(image, mode), BF, CHANNELS, "m")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert "must both be [B, C, H, W]" not in str(err.value)


def test_the_tolerance_passes_rounding_and_nan_is_left_to_the_metrics_unless_asked():
    check_output(faulty(GOOD, "tiny_excess"), BF, CHANNELS, "m")
    check_output(Prediction(GOOD, {}), BF, CHANNELS, "m")
    check_output(faulty(GOOD, "nan"), BF, CHANNELS, "m")  # the metrics name the test image
    with pytest.raises(MetricError, match=r"m predicted \d+ NaN or Inf value\(s\)"):
        check_output(faulty(GOOD, "nan"), BF, CHANNELS, "m", finite=True)
    with pytest.raises(MetricError, match="m predicted a list; expected a torch.Tensor"):
        check_output([GOOD], BF, CHANNELS, "m")


@pytest.mark.parametrize("mode,words", [
    ("scaled", "contract-probe predicted values in [2."),
    ("uint8", "contract-probe predicted dtype torch.uint8"),
    ("negative", "contract-probe predicted values in [-0."),
    ("size", "contract-probe predicted shape (4, 5, 16, 16) (input brightfield (4, 3, 32, 32))"),
    ("batch", "contract-probe predicted 3 image(s) for a batch of 4 fields"),
])
def test_evaluation_refuses_a_breaching_plugin(prepared, mode, words):
    _, plan, method, test_data = prepared
    FAULT["mode"] = mode
    with pytest.raises(MetricError) as err:
        evaluate(method, test_data, plan.resolved.run, plan.device, "contract-probe", None)
    assert words in str(err.value)


def test_evaluation_checks_every_tile_before_it_is_blended(prepared):
    _, plan, method, test_data = prepared
    FAULT["mode"] = "size"
    # 32 px fields, 16 px tiles
    run = dataclasses.replace(plan.resolved.run, image_size=16, tile_overlap=4)
    with pytest.raises(MetricError, match=r"predicted shape \(4, 5, 8, 8\) \(input brightfield "
                                          r"\(4, 3, 16, 16\)\); expected \(4, 5, 16, 16\)"):
        evaluate(method, test_data, run, plan.device, "contract-probe", None)


def test_good_predictions_score_as_before(prepared):
    _, plan, method, test_data = prepared
    result = evaluate(method, test_data, plan.resolved.run, plan.device, "contract-probe", None)
    assert result.metrics.compute()["n_images"] == len(test_data)


@pytest.mark.parametrize("mode", ["scaled", "nan"])
def test_posterior_sampling_refuses_a_breaching_sample(prepared, mode):
    _, plan, method, test_data = prepared
    FAULT["mode"] = mode
    with pytest.raises(MetricError, match="contract-probe predicted"):
        next(draw_samples(method, test_data, plan.resolved.run, plan.device, 2,
                          name="contract-probe"))


def test_a_run_of_a_breaching_plugin_fails_and_writes_no_metrics(prepared, registry):
    root, *_ = prepared
    FAULT["mode"] = "scaled"
    request = RunRequest(dataset="synthetic", method="contract-probe", overrides=TINY, device="cpu",
                         results_dir=root / "res-run", data_root=root / "data")
    with pytest.raises(MetricError, match=r"contract-probe predicted values in \[2\."):
        run_benchmark(request, Console(quiet=True), registry=registry)
    [folder] = (root / "res-run" / "runs" / "synthetic" / "contract-probe").iterdir()
    assert json.loads((folder / "state.json").read_text())["status"] == "failed"
    assert not (folder / "metrics.json").exists()


def test_predict_refuses_a_breaching_plugin(prepared, registry, monkeypatch):
    from vsbench.engine import plan as plan_module
    from vsbench.predict import apply

    root, *_ = prepared
    monkeypatch.setattr(plan_module, "default_registry", lambda: registry)
    result = run_benchmark(RunRequest(dataset="synthetic",
                                      method="contract-probe", overrides=TINY, device="cpu",
                                      results_dir=root / "res-ok", data_root=root / "data"),
                           Console(quiet=True), registry=registry)
    FAULT["mode"] = "negative"
    folder = apply.find_run(result.folder, root / "res-ok")
    with pytest.raises(MetricError, match=r"contract-probe predicted values in \[-0\."):
        apply.predict_run(folder, root / "pred", dataset="synthetic",
                          data_root=root / "data")
    FAULT["mode"] = "nan"
    with pytest.raises(MetricError, match="contract-probe predicted .* NaN or Inf"):
        apply.predict_run(folder, root / "pred2", dataset="synthetic",
                          data_root=root / "data")


@pytest.mark.parametrize("scale,shift,words", [
    (255.0, 0.0, "(0..255: divide by 255)"),
    (1.0, -0.5, "has values in [-0."),
])
def test_score_refuses_predictions_off_the_unit_scale(tmp_path, scale, shift, words):
    rng = np.random.default_rng(0)
    ids = ["a", "b"]
    for sid in ids:
        np.save(tmp_path / f"{sid}.npy",
                (rng.random((2, 16, 16)) * scale + shift).astype(np.float32))
    with pytest.raises(DataError) as err:
        read_submission(tmp_path, ids, ["DNA", "ER"])
    text = str(err.value)
    assert words in text and "a.npy" in text and "expected [0, 1]" in text


def test_score_accepts_rounding_within_the_tolerance(tmp_path):
    image = np.full((2, 16, 16), 1 + RANGE_TOLERANCE / 2, np.float32)
    np.save(tmp_path / "a.npy", image)
    assert read_submission(tmp_path, ["a"], ["DNA", "ER"]).prediction.max() == image.max()


def test_predict_on_another_dataset_names_the_one_the_run_was_trained_on(tmp_path, monkeypatch):
    from vsbench.predict import apply
    from vsbench.records import ConfigRecord
    from vsbench.store import ResultsStore

    folder = ResultsStore(tmp_path).create("folder", "unet", 0)
    folder.write_config(ConfigRecord(method="unet", dataset="folder", preset="smoke", seed=0,
                                     run={}, method_params={}, dataset_fingerprint="fp",
                                     split_hash="s"))

    def missing_root(*args, **kwargs):  # what rebuilding a folder-trained run says today
        raise DataError("the folder dataset has no root: pass --set root=FOLDER")

    monkeypatch.setattr(apply, "load_trained", missing_root)
    with pytest.raises(Exception) as err:
        apply.predict_run(folder, tmp_path / "out", dataset="synthetic")
    text = str(err.value)
    assert text.startswith(f"--dataset synthetic: run {folder.path} was trained on folder")
    assert "the folder dataset has no root" in text and "--data-root where folder" in text
    with pytest.raises(DataError, match="has no root"):  # its own dataset: the error as it is
        apply.predict_run(folder, tmp_path / "out", dataset="folder")
