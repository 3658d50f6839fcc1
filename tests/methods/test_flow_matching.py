"""``flow-matching``: the straight path and its velocity, the few-step sampler, the method."""

import json
from types import SimpleNamespace

import pytest
import torch

from tests.conftest import TINY, TINY_DIFFUSION, run_method
from vsbench.config import ConfigError
from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.diffusion.flow import (interpolate, network_evaluations, sample_flow, sigma_grid,
                                    velocity_target)
from vsbench.plugins import build_registry
from vsbench_methods.flow_matching import FlowMatchingParams
from vsbench_methods.flow_matching.method import FlowMatchingMethod

INFO = SyntheticSource().info
TINY_PARAMS = {"width": 8, "channel_mults": (1, 2), "layers_per_block": 1, "head_dim": 8,
               "dropout": 0.0}


class ConstantVelocity(torch.nn.Module):
    """A 'network' that outputs a fixed velocity and records the times it is asked about."""

    def __init__(self, velocity: torch.Tensor) -> None:
        super().__init__()
        self.velocity = velocity
        self.times: list[float] = []

    def forward(self, x, t, class_labels=None):
        self.times.append(float(t[0]))
        return SimpleNamespace(sample=self.velocity.expand(x.shape[0], *self.velocity.shape[1:]))


def test_straight_path_and_its_velocity_by_hand():
    x_data = torch.tensor([[0.5, -1.0]])
    noise = torch.tensor([[-1.0, 1.0]])
    # 0.25 * noise + 0.75 * data
    assert torch.allclose(interpolate(x_data, noise, 0.25), torch.tensor([[0.125, -0.5]]))
    assert torch.equal(interpolate(x_data, noise, 0.0), x_data)
    assert torch.equal(interpolate(x_data, noise, 1.0), noise)
    v = velocity_target(x_data, noise)
    assert torch.equal(v, torch.tensor([[-1.5, 2.0]]))
    # it is the path's derivative in sigma
    h = 0.125
    slope = (interpolate(x_data, noise, 0.5 + h) - interpolate(x_data, noise, 0.5)) / h
    assert torch.allclose(slope, v)
    # one time per sample
    both = interpolate(x_data.repeat(2, 1), noise.repeat(2, 1), torch.tensor([0.0, 1.0]))
    assert torch.equal(both, torch.cat([x_data, noise]))


@pytest.mark.parametrize("sampler,steps", [("euler", 1), ("euler", 4), ("heun", 2)])
def test_the_true_velocity_of_a_straight_path_is_integrated_exactly(sampler, steps):
    """From the known noise x0 (sigma = 1) the path to the known data x1 has the constant
    velocity x0 - x1: one Euler step of it, dx = (0 - 1) v, lands on x1 (and so do more)."""
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, 5, 8, 8, generator=gen)
    x1 = torch.rand(2, 5, 8, 8, generator=gen) * 2 - 1
    network = ConstantVelocity(x0 - x1)
    out = sample_flow(network, None, x0.shape, steps, sampler, noise=x0)
    torch.testing.assert_close(out, x1, rtol=0, atol=1e-6)
    assert len(network.times) == network_evaluations(sampler, steps)
    if sampler == "euler":
        # the uniform grid, as diffusers' timesteps (sigma * 1000)
        assert network.times == pytest.approx([1000 * s for s in sigma_grid(steps)])
    assert sigma_grid(4) == [1.0, 0.75, 0.5, 0.25]


def test_training_loss_is_the_velocity_regression():
    torch.manual_seed(0)
    method = FlowMatchingMethod(FlowMatchingParams(**TINY_PARAMS), INFO)
    gen = torch.Generator().manual_seed(3)
    batch = {"brightfield": torch.rand(2, 3, 16, 16, generator=gen),
             "fluorescence": torch.rand(2, 5, 16, 16, generator=gen)}
    torch.manual_seed(1)
    loss = method.training_loss(batch)
    # the same random numbers, in the same order: the noise, then the times
    torch.manual_seed(1)
    x_data = batch["fluorescence"] * 2 - 1
    noise = torch.randn_like(x_data)
    sigma = torch.rand(2)
    x_sigma = sigma.view(-1, 1, 1, 1) * noise + (1 - sigma.view(-1, 1, 1, 1)) * x_data
    out = method.model(torch.cat([x_sigma, batch["brightfield"] * 2 - 1], 1), sigma * 1000).sample
    expected = ((out - (noise - x_data)) ** 2).mean()
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in method.model.parameters() if p.grad is not None)


def test_predictions_are_samples_on_the_unit_range():
    torch.manual_seed(0)
    method = FlowMatchingMethod(FlowMatchingParams(**TINY_PARAMS), INFO)
    batch = {"brightfield": torch.rand(2, 3, 16, 16)}
    a = method.generate(batch, generator=torch.Generator().manual_seed(1))
    b = method.generate(batch, generator=torch.Generator().manual_seed(1))
    c = method.generate(batch, generator=torch.Generator().manual_seed(2))
    assert a.shape == (2, 5, 16, 16) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)  # fresh noise, fresh sample
    spec = build_registry().methods["flow-matching"].spec
    assert spec.stochastic  # the posterior tier scores it as an ensemble
    assert spec.presets["smoke"]["width"] == 16 and "sample_steps" not in spec.presets["smoke"]
    assert FlowMatchingParams().sample_steps == 4 and FlowMatchingParams().loss == "l2"


@pytest.mark.parametrize("override,message", [
    ({"sample_steps": 0}, "sample_steps=0: must be at least 1"),
    ({"sampler": "ddim"}, "sampler=ddim: must be one of euler, heun"),
    ({"head_dim": 5}, "--set head_dim=5"),
])
def test_bad_hyperparameters_are_one_line_errors(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        FlowMatchingParams(**{**TINY_PARAMS, **override}).validate()


@pytest.mark.e2e
def test_cli_run_trains_and_scores(tmp_path):
    folder, _ = run_method(tmp_path, "flow-matching", *TINY, *TINY_DIFFUSION)
    metrics = json.loads((folder / "metrics.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    assert config["method_params"]["sample_steps"] == 4
    assert config["method_params"]["sampler"] == "euler"
    assert metrics["n_test_images"] > 0 and 0 <= metrics["average"]["mae"] <= 1
