"""``unext2``: the network against VisCy's UNeXt2, the mixed loss, and a run through the CLI."""

import json

import pytest
import torch
from torchmetrics.functional.image import (multiscale_structural_similarity_index_measure,
                                            structural_similarity_index_measure)

from tests.conftest import TINY, run_method
from vsbench.config import ConfigError
from vsbench_methods.unext2 import UNeXt2Params
from vsbench_methods.unext2.loss import mixed_loss, ms_ssim, num_scales, scale_betas
from vsbench_methods.unext2.network import UNeXt2

# Parameter counts of VisCy's own UNeXt2 for the same configurations, obtained once (2026-12-02)
# by running VisCy's code standalone in a scratch folder outside the repository: the files
# viscy_models/unet/unext2.py, components/{blocks,heads,stems}.py and schedule.py of
# mehta-lab/VisCy (packages/viscy-models, commit 4b62365c) with MONAI 1.6.1 and this
# environment's timm 1.0.31, as
#   UNeXt2(in_channels=1, out_channels=5, in_stack_depth=3, out_stack_depth=1,
#          stem_kernel_size=(3, 4, 4), backbone=B, decoder_conv_blocks=N,
#          head_expansion_ratio=R)
# (the three brightfield planes as VisCy's input stack, one output plane), summing
# p.numel() over m.parameters() and over each of m.stem, m.encoder_stages, m.decoder, m.head;
# its output for a (2, 1, 3, 64, 64) input was (2, 5, 1, 64, 64) in every case.
VISCY = {
    # (backbone, decoder_conv_blocks, head_expansion_ratio): (total, stem, encoder, decoder, head)
    ("convnextv2_atto", 2, 4): (4991381, 1960, 3384800, 1559720, 44901),   # VisCy's defaults
    ("convnextv2_atto", 1, 2): (3849421, 1960, 3384800, 451000, 11661),    # the smoke preset
    ("convnextv2_tiny", 2, 4): (32200533, 4704, 27860256, 4290672, 44901),  # the paper preset
}


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("config", list(VISCY))
def test_parameter_count_and_output_shape_match_viscy(config):
    backbone, blocks, ratio = config
    torch.manual_seed(0)
    net = UNeXt2(3, 5, backbone=backbone, decoder_conv_blocks=blocks,
                 head_expansion_ratio=ratio)
    total, stem, encoder, decoder, head = VISCY[config]
    assert (count(net), count(net.stem), count(net.encoder_stages), count(net.decoder),
            count(net.head)) == (total, stem, encoder, decoder, head)
    with torch.no_grad():
        out = net(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 5, 64, 64) and torch.isfinite(out).all()


def test_ms_ssim_scales_follow_the_image_size():
    assert [num_scales(s) for s in (256, 128, 64, 32, 16)] == [5, 4, 3, 2, 1]
    assert scale_betas(5) == pytest.approx((0.0448, 0.2856, 0.3001, 0.2363, 0.1333), abs=1e-4)
    assert sum(scale_betas(3)) == pytest.approx(1.0)
    assert scale_betas(3)[1] / scale_betas(3)[0] == pytest.approx(0.2856 / 0.0448)
    with pytest.raises(ValueError, match="at least 11 px"):
        num_scales(8)


def test_ms_ssim_is_built_from_torchmetrics_ssim_terms():
    """Each scale's SSIM and contrast term are torchmetrics' (uniform window) over the valid
    region, and MS-SSIM is their product with the exponents. (torchmetrics' own MS-SSIM averages
    the last scale's SSIM over reflect-padded borders too, and refuses 5 scales at 64 px.)"""
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(3, 5, 64, 64, generator=gen)
    preds = (target + 0.2 * torch.randn(3, 5, 64, 64, generator=gen)).clamp(0, 1)
    terms, p, t = [], preds, target
    for _ in range(3):  # 64, 32, 16 px
        _, ssim_map = structural_similarity_index_measure(
            p, t, gaussian_kernel=False, kernel_size=11, data_range=1.0, reduction="none",
            return_full_image=True)
        _, contrast = structural_similarity_index_measure(
            p, t, gaussian_kernel=False, kernel_size=11, data_range=1.0, reduction="none",
            return_contrast_sensitivity=True)
        terms.append((ssim_map[..., 5:-5, 5:-5].flatten(1).mean(1), contrast))
        p, t = torch.nn.functional.avg_pool2d(p, 2), torch.nn.functional.avg_pool2d(t, 2)
    b = scale_betas(3)
    expected = (terms[0][1] ** b[0] * terms[1][1] ** b[1] * terms[2][0] ** b[2]).mean()
    assert float(ms_ssim(preds, target)) == pytest.approx(float(expected), rel=1e-5)
    assert float(ms_ssim(target, target)) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="must be larger than 90"):
        multiscale_structural_similarity_index_measure(preds, target, betas=scale_betas(4))


def test_mixed_loss_is_l1_plus_dssim_and_finite_for_anticorrelated_images():
    gen = torch.Generator().manual_seed(1)
    target = torch.rand(2, 5, 32, 32, generator=gen)
    preds = (1.0 - target).requires_grad_(True)  # negative contrast terms: clamped at 1e-4
    loss = mixed_loss(preds, target)
    expected = 0.5 * (preds - target).abs().mean() + 0.5 * (1 - ms_ssim(preds, target))
    assert float(loss.detach()) == pytest.approx(float(expected.detach()))
    loss.backward()
    assert torch.isfinite(preds.grad).all()
    assert float(mixed_loss(target, target)) == pytest.approx(0.0, abs=1e-6)


def test_bad_backbone_is_a_one_line_error():
    with pytest.raises(ConfigError, match="did you mean 'convnextv2_atto'"):
        UNeXt2Params(backbone="convnextv2_ato").validate()


@pytest.mark.e2e
def test_cli_run_trains_and_scores(tmp_path):
    folder, _ = run_method(tmp_path, "unext2", *TINY)
    metrics = json.loads((folder / "metrics.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    assert config["method_params"]["backbone"] == "convnextv2_atto"
    assert metrics["n_test_images"] > 0
    assert 0 <= metrics["average"]["ssim"] <= 1 and metrics["average"]["mae"] < 0.5
