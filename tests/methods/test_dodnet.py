"""The ``dodnet`` method: shapes, the controller and its task codes, the grouped dynamic head
against a per-sample per-task reference, hyperparameter checks, and an end-to-end CLI run."""

import json

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from tests.conftest import TINY
from vsbench.cli import app
from vsbench.config import ConfigError, resolve
from vsbench.data import DatasetInfo
from vsbench.plugins import build_registry
from vsbench_methods.dodnet import DoDNetParams
from vsbench_methods.dodnet.dynamic_head import (apply_dynamic_head, head_widths,
                                                 num_head_params, split_params)
from vsbench_methods.dodnet.network import DoDNet

SMALL = {"decoder_channels": (16, 16, 8, 8, 8)}


def reference_head(features: torch.Tensor, flat: torch.Tensor, widths) -> torch.Tensor:
    """One sample's features ``[C, H, W]`` through one task's head, one plain conv per layer."""
    x = features[None]
    layers = split_params(flat[None], widths)
    for n, (weight, bias) in enumerate(layers):
        x = F.conv2d(x, weight, bias)
        x = F.relu(x) if n < len(layers) - 1 else x
    return x[0, 0]


def small_net(planes: int = 3, tasks: int = 5, seed: int = 0) -> DoDNet:
    torch.manual_seed(seed)
    return DoDNet(planes, tasks, **SMALL).eval()


@pytest.mark.parametrize("planes,tasks", [(3, 5), (1, 1), (2, 3), (3, 7)])
def test_shapes_follow_the_dataset(planes, tasks):
    from vsbench.engine import create_method

    info = DatasetInfo(name="d", channels=tuple(f"c{i}" for i in range(tasks)),
                       planes=tuple(f"p{i}" for i in range(planes)))
    method = create_method("dodnet", info, "smoke", SMALL)
    x = torch.rand(2, planes, 32, 32)
    with torch.no_grad():
        pred = method.predict({"brightfield": x})
    assert pred.shape == (2, tasks, 32, 32)
    assert 0 <= pred.min() and pred.max() <= 1
    assert method.model.controller.in_features == 512 + tasks
    assert method.model.controller.out_features == 8 * 8 + 8 * 8 + 8 + 8 + 8 + 1


def test_head_layout():
    widths = head_widths(8, 8, 3)
    assert widths == [(8, 8), (8, 8), (8, 1)] and num_head_params(widths) == 153
    assert head_widths(16, 4, 1) == [(16, 1)]
    flat = torch.arange(2 * 153, dtype=torch.float32).reshape(2, 153)
    (w1, b1), (w2, b2), (w3, b3) = split_params(flat, widths)
    assert w1.shape == (16, 8, 1, 1) and w3.shape == (2, 8, 1, 1) and b3.shape == (2,)
    # Weights first, then biases, as in the original; row n fills group n.
    assert w1[0, 0, 0, 0] == 0 and b1[0] == 136 and b3[1] == 153 + 152
    with pytest.raises(ValueError, match="needs 153"):
        split_params(flat[:, :100], widths)


def test_kernels_differ_between_tasks_and_follow_the_task_code():
    net = small_net()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        _, pooled = net.encode(x)
        params = net.head_params(pooled)
        assert params.shape == (2, 5, 153)
        for a in range(5):
            for b in range(a + 1, 5):
                assert (params[:, a] - params[:, b]).abs().max() > 1e-3, (a, b)
        # The kernels depend on the image too (the pooled bottleneck feature).
        assert (params[0] - params[1]).abs().max() > 1e-4
        # Another code for task 0 changes its kernels, and only through the code's columns.
        codes = torch.eye(5)
        codes[0] = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0])
        moved = net.head_params(pooled, codes)
        torch.testing.assert_close(moved[:, 0], params[:, 4])
        torch.testing.assert_close(moved[:, 1:], params[:, 1:])
        scaled = net.head_params(pooled, 2 * torch.eye(5))
        assert (scaled - params).abs().max() > 1e-3
        # And the outputs differ between tasks.
        out = net(x)
    assert (out[:, 0] - out[:, 1]).abs().max() > 1e-3


def test_gradient_reaches_the_controller_and_the_task_codes():
    net = small_net().train()
    x, y = torch.rand(2, 3, 32, 32), torch.rand(2, 5, 32, 32)
    F.l1_loss(torch.sigmoid(net(x)), y).backward()
    grad = net.controller.weight.grad
    assert grad is not None and torch.isfinite(grad).all()
    code_columns = grad[:, -5:]
    # Every task's code column gets a gradient: each channel trains its own kernels.
    assert (code_columns.abs().sum(dim=0) > 0).all()
    assert grad[:, :-5].abs().sum() > 0 and net.controller.bias.grad.abs().sum() > 0
    assert net.encoder.conv1.weight.grad.abs().sum() > 0


def test_grouped_head_equals_a_per_sample_per_task_loop():
    torch.manual_seed(1)
    widths = head_widths(8, 8, 3)
    b, t = 3, 4
    features = torch.randn(b, 8, 16, 12)
    flat = torch.randn(b, t, num_head_params(widths)) * 0.5
    grouped = apply_dynamic_head(features, flat, widths)
    assert grouped.shape == (b, t, 16, 12)
    for i in range(b):
        for k in range(t):
            expected = reference_head(features[i], flat[i, k], widths)
            torch.testing.assert_close(grouped[i, k], expected, rtol=0, atol=1e-5)


def test_network_uses_the_grouped_head_on_its_own_features():
    net = small_net(tasks=3)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        features, pooled = net.encode(x)
        params = net.head_params(pooled)
        out = net(x)
    for i in range(2):
        for k in range(3):
            expected = reference_head(features[i], params[i, k], net.widths)
            torch.testing.assert_close(out[i, k], expected, rtol=0, atol=1e-5)


def test_head_stays_alive_under_adam_at_the_smoke_learning_rate():
    """Regression: with the raw pooled feature as controller input, AdamW at lr 2e-3 moved the
    generated kernels by ~1 per step and the head's ReLUs all died within a few steps, so every
    channel came out constant. Dark targets with bright patches, as after the percentile cut."""
    from vsbench_methods.dodnet.method import DoDNetMethod

    torch.manual_seed(0)
    info = DatasetInfo(name="d", channels=tuple("abcde"), planes=("p", "q", "r"))
    method = DoDNetMethod(DoDNetParams(**SMALL), info)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    patches = F.avg_pool2d(torch.rand(4, 5, 32, 32, generator=g), 5, 1, 2) > 0.5
    batch = {"brightfield": x, "fluorescence": patches.float() * x[:, :1]}
    opt = torch.optim.AdamW(method.trainable_parameters(), lr=2e-3)
    for _ in range(15):
        loss = method.training_loss(batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(method.trainable_parameters(), 1.0)
        opt.step()
    with torch.no_grad():
        pred = method.predict(batch)
    # Every channel still varies over the image, and beats predicting black everywhere.
    assert pred.std(dim=(2, 3)).min() > 5e-3
    assert loss < 0.97 * batch["fluorescence"].mean()


def test_l2_loss_is_the_mean_squared_error():
    from vsbench_methods.dodnet.method import DoDNetMethod

    info = DatasetInfo(name="d", channels=("a", "b"), planes=("p",))
    torch.manual_seed(0)
    method = DoDNetMethod(DoDNetParams(loss="l2", **SMALL), info)
    method.train(False)
    batch = {"brightfield": torch.rand(2, 1, 32, 32), "fluorescence": torch.rand(2, 2, 32, 32)}
    with torch.no_grad():
        expected = ((method.predict(batch) - batch["fluorescence"]) ** 2).mean()
        torch.testing.assert_close(method.training_loss(batch), expected)


def spec():
    return build_registry().methods["dodnet"].spec


def test_presets_and_overrides():
    smoke = resolve(spec().params, spec().presets, "smoke",
                    {"head_channels": "4", "loss": "l2", "decoder_channels": "32,16,16,8,8"})
    assert smoke.method.head_channels == 4 and smoke.method.loss == "l2"
    assert smoke.method.decoder_channels == (32, 16, 16, 8, 8)
    unet = build_registry().methods["unet"].spec
    unet_smoke = resolve(unet.params, unet.presets, "smoke", {})
    # Same training budget as the unet baseline in the smoke preset.
    assert (smoke.run.epochs, smoke.run.lr, smoke.run.image_size) == (
        unet_smoke.run.epochs, unet_smoke.run.lr, unet_smoke.run.image_size)
    paper = resolve(spec().params, spec().presets, "paper", {})
    assert paper.method.encoder == "resnet34" and paper.run.image_size == 512
    assert paper.method.head_channels == 8 and paper.method.head_layers == 3


@pytest.mark.parametrize("key,value,message", [
    ("head_channels", "0", "--set head_channels=0: must be at least 1"),
    ("head_layers", "0", "--set head_layers=0: must be at least 1"),
    ("decoder_channels", "8,8", "give five positive widths"),
    ("loss", "huber", "must be one of l1, l2"),
    ("encoder", "resnet81", "did you mean 'resnet18'"),
])
def test_bad_hyperparameters_are_config_errors(key, value, message):
    with pytest.raises(ConfigError, match=message):
        resolve(spec().params, spec().presets, "smoke", {key: value})


def test_methods_lists_dodnet_as_builtin():
    out = CliRunner().invoke(app, ["methods"], env={"COLUMNS": "200"})
    assert out.exit_code == 0
    [line] = [row for row in out.output.splitlines() if "dodnet" in row]
    assert "built-in" in line and "Zhang et al., CVPR 2021" in line
    entry = build_registry().methods["dodnet"]
    assert entry.origin.builtin and entry.origin.module == "vsbench_methods.dodnet"


def test_cli_run_writes_a_complete_run_folder(tmp_path):
    out = CliRunner().invoke(app, ["run", "--dataset", "synthetic",
                                   "--method", "dodnet", "--results",
                                   str(tmp_path / "res"), "--data-root", str(tmp_path / "data"),
                                   "--set", "head_channels=4", *TINY], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "Average" in out.output and "Mito" in out.output
    [folder] = (tmp_path / "res" / "runs" / "synthetic" / "dodnet").iterdir()
    for name in ("config.json", "state.json", "metrics.json", "per_image_metrics.csv",
                 "train_log.csv", "checkpoint.pt", "predictions.png"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "state.json").read_text())["status"] == "completed"
    config = json.loads((folder / "config.json").read_text())
    assert config["method_params"]["head_channels"] == 4 and config["run"]["image_size"] == 32
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["method"] == "dodnet" and metrics["n_test_images"] == 24
    assert list(metrics["channels"]) == ["DNA", "ER", "RNA", "AGP", "Mito"]
    for values in [*metrics["channels"].values(), metrics["average"]]:
        assert 0 <= values["mse"] <= 1 and -1 <= values["pcc"] <= 1
    state = torch.load(folder / "checkpoint.pt", weights_only=False)["method"]["model"]
    assert state["controller.weight"].shape == (4 * 4 + 4 * 4 + 4 + 4 + 4 + 1, 512 + 5)
    out = CliRunner().invoke(app, ["compare", "--results", str(tmp_path / "res")],
                             env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "dodnet" in out.output
