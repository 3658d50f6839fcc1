"""The conditional diffusion toolkit: schedule, forward process, loss, EMA, denoiser, samplers.

The sampler tests use an "oracle" denoiser: the condition channels carry the clean target y_0,
and the oracle returns the noise that is actually in y_t, eps = (y_t - sqrt(a_t) y_0) /
sqrt(1 - a_t), for the step t the sampler asks about. Every correct sampler must then return
y_0; one that passes the wrong step, mixes up the concatenation, or noises an SDEdit start to
the wrong level does not.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from vsbench.diffusion.ema import ema_decay_at, make_ema
from vsbench.diffusion.forward import (from_model_range, noise_loss, q_sample, sample_timesteps,
                                       to_model_range, training_target)
from vsbench.diffusion.network import build_denoiser, predict_noise
from vsbench.diffusion.sampling import sample, sdedit_timesteps, start_timestep
from vsbench.diffusion.schedule import alphas_cumprod, make_scheduler

KINDS = ("ddpm", "ddim", "dpm")
PAPER = {"num_train_timesteps": 2000, "beta_start": 1e-6, "beta_end": 1e-2}


class Oracle(torch.nn.Module):
    """Returns the true noise of y_t (or the true v, for a v-prediction scheduler); the input is
    [y_t, y_0] on the channel axis."""

    def __init__(self, scheduler, channels: int, shift: int = 0) -> None:
        super().__init__()
        self.alphas = alphas_cumprod(scheduler).double()
        self.v = scheduler.config.prediction_type == "v_prediction"
        self.channels, self.shift = channels, shift
        self.seen: list[int] = []
        self.first_input: torch.Tensor | None = None

    def forward(self, x, t, class_labels=None):
        assert t.shape == (x.shape[0],) and bool((t == t[0]).all())
        step = int(t[0])
        self.seen.append(step)
        if self.first_input is None:
            self.first_input = x[:, :self.channels].clone()
        y_t, y0 = x[:, :self.channels].double(), x[:, self.channels:].double()
        a = self.alphas[min(step + self.shift, len(self.alphas) - 1)]
        eps = (y_t - a.sqrt() * y0) / (1 - a).sqrt()
        out = a.sqrt() * eps - (1 - a).sqrt() * y0 if self.v else eps
        return SimpleNamespace(sample=out.float())


def target(shape=(2, 5, 8, 8), seed=0) -> torch.Tensor:
    """A clean image in the model range, inside [-0.9, 0.9]."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 1.8 - 0.9


# -- schedule -------------------------------------------------------------------------------

def test_alphas_cumprod_match_the_linear_closed_form_for_every_sampler():
    t = np.arange(2000)
    betas = 1e-6 + (1e-2 - 1e-6) * t / 1999
    expected = np.exp(np.cumsum(np.log1p(-betas)))
    tables = [alphas_cumprod(make_scheduler(kind, **PAPER)).double().numpy() for kind in KINDS]
    for table in tables:
        np.testing.assert_allclose(table, expected, rtol=2e-5, atol=1e-9)
        assert np.all(np.diff(table) < 0) and table[0] < 1
        np.testing.assert_array_equal(table, tables[0])  # one schedule for all samplers
    assert expected[-1] < 1e-4  # the paper's schedule ends close to pure noise
    assert make_scheduler("ddim", 100, 1e-4, 2e-2).alphas_cumprod.shape == (100,)


def test_unknown_sampler_is_an_error():
    with pytest.raises(ValueError, match="Unknown sampler 'euler'"):
        make_scheduler("euler")


# -- forward process and loss ---------------------------------------------------------------

def test_forward_process_mean_and_variance():
    scheduler = make_scheduler("ddpm", **PAPER)
    alphas = alphas_cumprod(scheduler).double()
    y0 = torch.tensor([-0.8, 0.0, 0.5, 1.0]).reshape(1, 4, 1, 1)
    n = 20000
    gen = torch.Generator().manual_seed(1)
    for step in (0, 300, 1000, 1999):
        noise = torch.randn((n, 4, 1, 1), generator=gen)
        y_t = q_sample(scheduler, y0.expand(n, -1, -1, -1), noise, step).double()
        a = alphas[step]
        mean, var = y_t.mean(0).flatten(), y_t.var(0).flatten()
        se = ((1 - a) / n).sqrt()
        assert torch.all((mean - a.sqrt() * y0.flatten()).abs() < 5 * se + 1e-6), step
        assert torch.allclose(var, (1 - a).expand(4), rtol=0.05, atol=1e-9), step


def test_q_sample_matches_diffusers_add_noise_per_sample_steps():
    y0, noise = target((6, 5, 4, 4)), torch.randn(6, 5, 4, 4)
    t = torch.tensor([0, 5, 99, 999, 1500, 1999])
    for cls in (DDPMScheduler, DDIMScheduler):
        reference = cls(**PAPER, beta_schedule="linear").add_noise(y0, noise, t)
        torch.testing.assert_close(q_sample(make_scheduler("dpm", **PAPER), y0, noise, t),
                                   reference, rtol=1e-5, atol=1e-6)


def test_training_target_is_the_noise_or_v():
    y0, noise = target((6, 5, 4, 4)), torch.randn(6, 5, 4, 4)
    t = torch.tensor([0, 5, 99, 999, 1500, 1999])
    assert training_target(make_scheduler("ddim", **PAPER), y0, noise, t) is noise
    v = training_target(make_scheduler("ddpm", **PAPER, prediction_type="v_prediction"),
                        y0, noise, t)
    reference = DDPMScheduler(**PAPER, prediction_type="v_prediction").get_velocity(y0, noise, t)
    torch.testing.assert_close(v, reference, rtol=1e-5, atol=1e-6)


def test_training_timesteps_cover_the_schedule_uniformly():
    t = sample_timesteps(100000, 10, generator=torch.Generator().manual_seed(0))
    assert t.dtype == torch.int64 and int(t.min()) == 0 and int(t.max()) == 9
    counts = torch.bincount(t, minlength=10).double()
    assert torch.all((counts - 10000).abs() < 5 * (10000 * 0.9) ** 0.5)


def test_loss_selection_l1_and_l2():
    pred, true = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 1.0, 0.0])
    assert noise_loss(pred, true, "l1").item() == pytest.approx(1.0)   # (1 + 0 + 2) / 3
    assert noise_loss(pred, true, "l2").item() == pytest.approx(5 / 3)  # (1 + 0 + 4) / 3
    with pytest.raises(ValueError, match="Unknown loss 'huber'"):
        noise_loss(pred, true, "huber")


def test_model_range_round_trip():
    x = torch.tensor([0.0, 0.25, 1.0])
    assert torch.equal(to_model_range(x), torch.tensor([-1.0, -0.5, 1.0]))
    assert torch.equal(from_model_range(to_model_range(x)), x)


# -- EMA ------------------------------------------------------------------------------------

def test_ema_arithmetic_one_step_by_hand():
    model = torch.nn.Linear(2, 1)
    for warmup, decay in ((False, 0.9), (True, 0.9999)):
        with torch.no_grad():
            model.weight.fill_(1.0)
            model.bias.fill_(-1.0)
        ema = make_ema(model, decay, warmup)
        ema.update_parameters(model)  # the first update copies
        assert torch.equal(ema.module.weight, model.weight)
        with torch.no_grad():
            model.weight.fill_(3.0)
            model.bias.fill_(1.0)
        ema.update_parameters(model)
        d = 0.9 if not warmup else 2 / 11  # after one earlier update: (1 + 1) / (10 + 1)
        assert ema_decay_at(1, decay, warmup) == pytest.approx(d)
        torch.testing.assert_close(ema.module.weight, torch.full((1, 2), d * 1 + (1 - d) * 3))
        torch.testing.assert_close(ema.module.bias, torch.full((1,), d * -1 + (1 - d) * 1))
        assert not ema.module.weight.requires_grad and not ema.module.training
    assert ema_decay_at(10 ** 7, 0.9999) == 0.9999


def test_ema_after_a_short_run_is_not_the_initial_weights():
    """300 updates: with the warm-up the initial weights' share is negligible; a fixed 0.9999
    would keep the average ~97% initial weights."""
    model = torch.nn.Linear(1, 1, bias=False)
    shares = {}
    for warmup in (True, False):
        with torch.no_grad():
            model.weight.fill_(0.0)
        ema = make_ema(model, 0.9999, warmup)
        ema.update_parameters(model)
        with torch.no_grad():
            model.weight.fill_(1.0)
        for _ in range(299):
            ema.update_parameters(model)
        shares[warmup] = 1 - ema.module.weight.item()
    assert shares[True] < 1e-6
    assert shares[False] == pytest.approx(0.9999 ** 299, rel=1e-3)


# -- denoiser -------------------------------------------------------------------------------

@pytest.mark.parametrize("width,mults,attention,size", [
    (8, (1, 2), (), 32), (16, (1, 2, 2), (1,), 32), (8, (1, 2, 2, 2), (2, 3), 64),
])
def test_denoiser_output_shapes(width, mults, attention, size):
    net = build_denoiser(in_channels=5 + 3, out_channels=5, width=width, channel_mults=mults,
                         layers_per_block=1, dropout=0.0, attention_levels=attention,
                         head_dim=8)
    y_t, cond = torch.randn(2, 5, size, size), torch.randn(2, 3, size, size)
    with torch.no_grad():
        out = predict_noise(net, y_t, torch.tensor([3, 700]), cond)
        assert out.shape == (2, 5, size, size)
        assert predict_noise(net, y_t, 5, cond).shape == (2, 5, size, size)  # one step for all
    kinds = [type(b).__name__ for b in net.down_blocks]
    assert kinds == ["AttnDownBlock2D" if i in attention else "DownBlock2D"
                     for i in range(len(mults))]
    assert net.config.resnet_time_scale_shift == "scale_shift"


def test_class_embedding_changes_the_output():
    torch.manual_seed(0)
    net = build_denoiser(8, 5, width=8, channel_mults=(1, 2), layers_per_block=1, dropout=0.0,
                         head_dim=8, num_class_embeds=3).eval()
    y_t, cond = torch.randn(2, 5, 16, 16), torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        a = predict_noise(net, y_t, 100, cond, torch.tensor([0, 0]))
        b = predict_noise(net, y_t, 100, cond, torch.tensor([1, 2]))
        again = predict_noise(net, y_t, 100, cond, torch.tensor([0, 0]))
    assert torch.equal(a, again)
    assert (a - b).abs().mean() > 1e-3 * a.abs().mean()
    plain = build_denoiser(8, 5, width=8, channel_mults=(1, 2), layers_per_block=1, head_dim=8)
    with pytest.raises(ValueError, match="class"):
        predict_noise(plain, y_t, 100, cond, torch.tensor([0, 1]))


# -- samplers -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,steps", [("ddpm", 2000), ("ddpm", 50), ("ddim", 20), ("dpm", 20)])
def test_oracle_recovers_y0_from_pure_noise(kind, steps):
    scheduler = make_scheduler(kind, **PAPER)
    y0 = target()
    oracle = Oracle(scheduler, channels=5)
    out = sample(oracle, scheduler, y0, y0.shape, steps, torch.Generator().manual_seed(0))
    assert out.shape == y0.shape and out.dtype == torch.float32
    assert (out - y0).abs().max() < 2e-3, (kind, steps)
    assert oracle.seen[0] == 1999 and oracle.seen[-1] == 2000 // steps - 1
    assert len(oracle.seen) == steps and oracle.seen == sorted(oracle.seen, reverse=True)


@pytest.mark.parametrize("kind", KINDS)
def test_v_prediction_oracle_recovers_y0(kind):
    scheduler = make_scheduler(kind, **PAPER, prediction_type="v_prediction")
    y0 = target()
    out = sample(Oracle(scheduler, 5), scheduler, y0, y0.shape, 20,
                 torch.Generator().manual_seed(0))
    assert (out - y0).abs().max() < 2e-3, kind
    with pytest.raises(ValueError, match="Unknown prediction type 'x0'"):
        make_scheduler(kind, prediction_type="x0")


def test_oracle_control_a_wrong_step_does_not_recover_y0():
    """The oracle tests have power: a network that is off by 100 steps misses y_0."""
    scheduler = make_scheduler("ddim", **PAPER, clip_sample=False)
    y0 = target()
    out = sample(Oracle(scheduler, 5, shift=100), scheduler, y0, y0.shape, 20,
                 torch.Generator().manual_seed(0))
    assert (out - y0).abs().max() > 0.05


@pytest.mark.parametrize("kind,steps", [("ddpm", 2000), ("ddim", 20), ("dpm", 20)])
def test_sdedit_start_uses_the_right_step_and_noise_level(kind, steps):
    scheduler = make_scheduler(kind, **PAPER)
    fraction = 0.3
    limit = start_timestep(2000, fraction)
    assert limit == round(0.3 * 1999)
    y0 = target((4, 5, 32, 32))
    start = torch.full_like(y0, 0.5)  # a flat start: the oracle must still reach y_0
    oracle = Oracle(scheduler, channels=5)
    out = sample(oracle, scheduler, y0, y0.shape, steps, torch.Generator().manual_seed(2),
                 start=start, start_fraction=fraction)
    assert (out - y0).abs().max() < 2e-3
    first = oracle.seen[0]
    grid = make_scheduler(kind, **PAPER)
    grid.set_timesteps(steps)
    expected = [int(t) for t in grid.timesteps if t <= limit]
    assert oracle.seen == expected and first == max(expected)
    if steps == 2000:
        assert first == limit
    # the start was noised to exactly that step: mean sqrt(a) z, variance 1 - a
    a = alphas_cumprod(scheduler).double()[first]
    y_t = oracle.first_input.double()
    assert abs(y_t.mean() - a.sqrt() * 0.5) < 5 * ((1 - a) / y_t.numel()).sqrt()
    assert y_t.var().item() == pytest.approx((1 - a).item(), rel=0.03)


def test_sdedit_argument_errors():
    scheduler = make_scheduler("ddim", **PAPER)
    scheduler.set_timesteps(20)
    assert int(sdedit_timesteps(scheduler.timesteps, 2000, 1.0)[0]) == 1999
    with pytest.raises(ValueError, match="below the sampler's smallest step"):
        sdedit_timesteps(scheduler.timesteps, 2000, 0.01)
    with pytest.raises(ValueError, match="must be in"):
        start_timestep(2000, 0.0)
    y0 = target()
    with pytest.raises(ValueError, match="both start and start_fraction"):
        sample(Oracle(scheduler, 5), scheduler, y0, y0.shape, 5, start=y0)


def test_sampler_state_does_not_leak_between_calls():
    """DPM-Solver keeps a history of model outputs; each call must start clean, and the
    caller's scheduler must stay untouched."""
    torch.manual_seed(0)
    net = build_denoiser(8, 5, width=8, channel_mults=(1, 2), layers_per_block=1, head_dim=8)
    net.train()
    cond = torch.randn(2, 3, 16, 16)
    for kind in KINDS:
        scheduler = make_scheduler(kind, **PAPER)
        runs = [sample(net, scheduler, cond, (2, 5, 16, 16), 4,
                       torch.Generator().manual_seed(7)) for _ in range(2)]
        torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=1e-6)
        assert scheduler.num_inference_steps is None
    assert net.training  # evaluation mode only for the call


def test_progress_bar_does_not_change_the_sample(capsys):
    scheduler = make_scheduler("ddim", **PAPER)
    y0 = target()
    quiet = sample(Oracle(scheduler, 5), scheduler, y0, y0.shape, 5,
                   torch.Generator().manual_seed(0))
    shown = sample(Oracle(scheduler, 5), scheduler, y0, y0.shape, 5,
                   torch.Generator().manual_seed(0), progress=True)
    assert torch.equal(quiet, shown)
