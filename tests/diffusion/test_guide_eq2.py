"""The paper's guide (eq. 2) as the default, against a hand computation, and the unguided first
estimate every guided prediction returns (paired evidence)."""

import math

import numpy as np
import torch

from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.diffusion import sampling
from vsbench.diffusion.schedule import fresh_copy
from vsbench.method import UNGUIDED_EXTRA
from vsbench_methods.palette_threshold import PaletteThresholdParams
from vsbench_methods.palette_threshold.method import PaletteThresholdMethod

TINY_PARAMS = {"width": 8, "channel_mults": (1, 2), "layers_per_block": 1, "head_dim": 8,
               "dropout": 0.0, "num_train_timesteps": 2000, "sampler": "ddim",
               "sample_steps": 4}
INFO = SyntheticSource().info


def hand_alpha_bar(t: int, steps: int = 2000, beta_start: float = 1e-6,
                   beta_end: float = 1e-2) -> float:
    """alpha_bar_t of the linear schedule, from its definition (no diffusers)."""
    return math.prod(1.0 - (beta_start + (beta_end - beta_start) * i / (steps - 1))
                     for i in range(t + 1))


def test_the_default_guide_is_the_binary_mask_noised_by_eq_2(monkeypatch):
    params = PaletteThresholdParams(**TINY_PARAMS, start_fraction=0.3)
    assert params.guide == "mask" and params.threshold == "local"
    method = PaletteThresholdMethod(params, INFO)
    rng = np.random.default_rng(0)
    masks = torch.from_numpy(rng.random((1, 5, 8, 8)) > 0.6)
    method.structure_masks = lambda images: masks  # a known mask source
    seen = []

    def first_input(denoiser, model_input, t, condition, class_labels):
        seen.append((model_input.clone(), int(t)))
        return torch.zeros_like(model_input)

    monkeypatch.setattr(sampling, "predict_noise", first_input)
    batch = {"brightfield": torch.rand(1, 3, 8, 8), "index": torch.tensor([0])}
    torch.manual_seed(5)
    with torch.inference_mode():
        method.predict(batch)
    # the second generate call (the guided one) starts at the sampler's first step <= t_s
    sched = fresh_copy(method.sampler)
    sched.set_timesteps(4)
    limit = round(0.3 * 1999)  # start_fraction (T - 1)
    t_s = max(int(t) for t in sched.timesteps if t <= limit)
    assert (limit, t_s) == (600, 499)  # the trailing spacing of 4 steps: 1999, 1499, 999, 499
    guided = [x for x, t in seen if t == t_s]
    steps_before = len(sched.timesteps)  # the unguided sample's steps come first
    start_input, start_t = seen[steps_before]
    assert start_t == t_s and len(guided) == 2  # once unguided, once as the guided start
    # hand computation: x_t = sqrt(abar) z + sqrt(1 - abar) eps with z = 2 m - 1, eps the
    # sampler's first draw after the unguided sample (reproduced from the same global seed)
    torch.manual_seed(5)
    torch.randn(1, 5, 8, 8)  # the unguided sample's initial noise
    # the DDIM sampler (eta 0) draws nothing else, so the next draw is the guided start's noise
    eps = torch.randn(1, 5, 8, 8)
    a = hand_alpha_bar(t_s)
    z = masks.float() * 2 - 1
    expected = math.sqrt(a) * z + math.sqrt(1 - a) * eps
    torch.testing.assert_close(start_input, expected, rtol=1e-5, atol=1e-5)


def test_every_guided_prediction_returns_its_unguided_first_estimate(monkeypatch):
    torch.manual_seed(0)
    method = PaletteThresholdMethod(PaletteThresholdParams(**TINY_PARAMS), INFO)
    outputs = []
    real = method.generate

    def spy(batch, start=None, start_fraction=None, generator=None, on_step=None):
        outputs.append(real(batch, start=start, start_fraction=start_fraction,
                            generator=generator, on_step=on_step))
        return outputs[-1]

    monkeypatch.setattr(method, "generate", spy)
    batch = {"brightfield": torch.rand(2, 3, 16, 16), "index": torch.tensor([0, 1])}
    with torch.inference_mode():
        out = method.predict(batch)
    assert len(outputs) == 2
    assert torch.equal(out.extras[UNGUIDED_EXTRA], outputs[0])  # the same first estimate
    assert torch.equal(out.image, outputs[1])
    assert not torch.equal(out.image, outputs[0])
