"""UNeXt2's training loss: VisCy's ``MixedLoss``, L1 and MS-DSSIM (0.5 each for VSCyto2D).

``MixedLoss`` (Zhao et al., 2017) is ``l1_alpha * L1 + l2_alpha * L2 + ms_dssim_alpha *
(1 - MS-SSIM)``, its MS-SSIM VisCy's ``ms_ssim_25d`` on one plane: a uniform 11 x 11 window
over the valid region (no padding), 2 x 2 average pooling between scales, the contrast terms and
the last scale's SSIM clamped at 1e-4 (``clamp=True``), each scale's mean over the image raised
to its exponent, the product averaged over the batch.

Why not ``torchmetrics``' MS-SSIM as it is: it refuses VisCy's 5 scales below 161 px (4
below 91; the smoke preset is 64 px, the tests 32 px), so the number of scales has to be chosen
here anyway, and with a uniform window it still differs from VisCy in two details: it averages
the coarsest scale's SSIM over reflect-padded borders too (VisCy: the valid region only), and
its training variant floors negative terms at 0 (``normalize="relu"``) where VisCy clamps at
1e-4. So the loss is VisCy's formula, built from the same per-scale terms as torchmetrics' SSIM
(a test checks each scale's SSIM and contrast term against it). Small images get fewer
scales: as many of VisCy's five as keep the coarsest scale at least one window wide (5 at
256 px, VisCy's training patches; 3 at 64 px; 2 at 32 px), with the exponents of those scales
rescaled to sum to 1, as the five do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# VisCy's (and the original MS-SSIM's, Wang et al. 2003) exponents of the five scales.
BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW = 11
CLAMP_MIN = 1e-4  # VisCy's base_min
K1, K2 = 0.01, 0.03


def num_scales(size: int, window: int = WINDOW, most: int = len(BETAS)) -> int:
    """How many scales an image ``size`` pixels wide has room for: the coarsest, after
    ``n - 1`` halvings, must still be ``window`` wide."""
    n = 0
    while n < most and size // 2 ** n >= window:
        n += 1
    if n == 0:
        raise ValueError(f"MS-SSIM needs images at least {window} px wide, got {size}.")
    return n


def scale_betas(n: int) -> tuple[float, ...]:
    """The first ``n`` of :data:`BETAS`, rescaled to sum to 1."""
    part = BETAS[:n]
    total = sum(part)
    return tuple(b / total for b in part)


def ssim_and_contrast(preds: torch.Tensor, target: torch.Tensor, window: int = WINDOW,
                      data_range: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image SSIM and contrast-structure term (means over channels and the valid region
    of a uniform ``window`` x ``window`` window), each ``[B]``."""
    channels = preds.shape[1]
    kernel = torch.full((channels, 1, window, window), 1.0 / window ** 2, dtype=preds.dtype,
                        device=preds.device)

    def mean(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, kernel, groups=channels)

    mu_x, mu_y = mean(preds), mean(target)
    var_x = mean(preds * preds) - mu_x ** 2
    var_y = mean(target * target) - mu_y ** 2
    cov = mean(preds * target) - mu_x * mu_y
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    contrast = (2 * cov + c2) / (var_x + var_y + c2)
    ssim = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1) * contrast
    return ssim.flatten(1).mean(1), contrast.flatten(1).mean(1)


def ms_ssim(preds: torch.Tensor, target: torch.Tensor, clamp: bool = True,
            data_range: float = 1.0) -> torch.Tensor:
    """MS-SSIM of ``[B, C, H, W]`` images, averaged over the batch (see the module docstring).

    ``data_range`` is 1: the benchmark's images are on [0, 1] (VisCy, whose targets are
    z-scored, passes ``target.max()``).
    """
    betas = scale_betas(num_scales(min(preds.shape[-2:])))
    terms = []
    for i in range(len(betas)):
        ssim, contrast = ssim_and_contrast(preds, target, data_range=data_range)
        terms.append(contrast.clamp(min=CLAMP_MIN) if clamp else contrast)
        if i < len(betas) - 1:
            preds, target = F.avg_pool2d(preds, 2), F.avg_pool2d(target, 2)
    terms[-1] = ssim.clamp(min=CLAMP_MIN) if clamp else ssim
    stacked = torch.stack(terms)
    exponents = torch.tensor(betas, dtype=stacked.dtype, device=stacked.device).view(-1, 1)
    return torch.prod(stacked ** exponents, dim=0).mean()


def mixed_loss(preds: torch.Tensor, target: torch.Tensor, l1_alpha: float = 0.5,
               l2_alpha: float = 0.0, ms_dssim_alpha: float = 0.5) -> torch.Tensor:
    """VisCy's ``MixedLoss``: the weighted sum of L1, L2 and 1 - MS-SSIM, in float32."""
    preds, target = preds.float(), target.float()
    loss = preds.new_zeros(())
    if l1_alpha:
        loss = loss + l1_alpha * F.l1_loss(preds, target)
    if l2_alpha:
        loss = loss + l2_alpha * F.mse_loss(preds, target)
    if ms_dssim_alpha:
        loss = loss + ms_dssim_alpha * (1.0 - ms_ssim(preds, target))
    return loss
