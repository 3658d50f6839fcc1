"""The one metric protocol: per image and channel MSE, MAE, PCC, SSIM on the [0, 1] scale.

Values are computed per test image and channel with torchmetrics, kept per image (for
confidence intervals and paired tests), then averaged over images per channel, and over
channels for the "Average" column, as in the DiffStain paper's Table 1.

Conventions (documented because papers rarely state them):

- SSIM: Gaussian window 11, sigma 1.5, data range 1, K1 = 0.01, K2 = 0.03. The SSIM map comes
  from torchmetrics; its mean is taken over the valid region only, without the 5-pixel border
  where the window overhangs the image (Wang et al. 2004, and scikit-image's
  ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=1)``, which vsbench matches to 1e-6). torchmetrics' own mean includes the
  reflect-padded border and differs from that by 1e-3 to 2e-2 on 64-96 px images, which is why
  vsbench crops it.
- PCC: Pearson correlation over the pixels of one image and channel. When the prediction is
  constant and the ground truth is not, PCC is 0 (nothing of the target's variation is
  predicted). When the ground truth itself is constant, PCC is undefined: it is recorded as NaN
  for that image and left out of the means (the count of such images is reported). A channel
  whose every test image is constant has a NaN PCC, shown as such; the Average is the mean
  over the channels that are defined (NaN only when none is), the rule the per-image Average
  of the confidence intervals follows too.
- A prediction containing NaN or Inf is an error naming the sample, never a NaN in a table.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torchmetrics.functional.image import structural_similarity_index_measure
from torchmetrics.functional.regression import (mean_absolute_error, mean_squared_error,
                                                pearson_corrcoef)

from vsbench.errors import MetricError
from vsbench.protocol import DATA_RANGE, HIGHER_IS_BETTER, METRICS, SSIM_KERNEL, SSIM_SIGMA

__all__ = ["DATA_RANGE", "HIGHER_IS_BETTER", "METRICS", "MetricAccumulator", "MetricError",
           "SSIM_KERNEL", "SSIM_SIGMA", "per_image_metrics"]


def _mean_defined(values: Sequence[float]) -> float:
    """The mean of the values that are not NaN (NaN when none is)."""
    defined = [v for v in values if not math.isnan(v)]
    return sum(defined) / len(defined) if defined else math.nan


def per_image_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each metric for each image and channel.

    Args:
        pred, target: ``[B, C, H, W]`` on the [0, 1] scale, same shape.

    Returns:
        ``{metric: tensor [B, C]}`` (float64 on the inputs' device).
    """
    if pred.shape != target.shape or pred.ndim != 4:
        raise MetricError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} "
                          "must both be [B, C, H, W].")
    b, c, h, w = pred.shape
    if min(h, w) < SSIM_KERNEL:
        raise MetricError(f"images of {h}x{w} px are smaller than the SSIM window "
                          f"({SSIM_KERNEL} px); use a larger image_size.")
    p = pred.detach().double()
    t = target.detach().double()
    # torchmetrics' regression metrics score columns of [N, outputs]: one column per image-channel.
    p_cols = p.reshape(b * c, h * w).T
    t_cols = t.reshape(b * c, h * w).T
    mse = mean_squared_error(p_cols, t_cols, num_outputs=b * c)
    mae = mean_absolute_error(p_cols, t_cols, num_outputs=b * c)
    pred_const = p_cols.std(dim=0) == 0
    target_const = t_cols.std(dim=0) == 0
    # Nudge constant columns so torchmetrics does not warn; their PCC is then set by the rules.
    safe = pred_const | target_const
    if safe.any():
        ramp = torch.linspace(0, 1, h * w, dtype=p.dtype, device=p.device)[:, None]
        p_cols = torch.where(safe[None], ramp, p_cols)
        t_cols = torch.where(safe[None], ramp, t_cols)
    pcc = pearson_corrcoef(p_cols, t_cols).reshape(-1)
    pcc = torch.where(pred_const, torch.zeros_like(pcc), pcc)
    pcc = torch.where(target_const, torch.full_like(pcc, math.nan), pcc)
    _, ssim_map = structural_similarity_index_measure(
        p.reshape(b * c, 1, h, w), t.reshape(b * c, 1, h, w), gaussian_kernel=True,
        sigma=SSIM_SIGMA, kernel_size=SSIM_KERNEL, data_range=DATA_RANGE, reduction="none",
        return_full_image=True)
    border = (SSIM_KERNEL - 1) // 2
    ssim = ssim_map[..., border:h - border, border:w - border].mean(dim=(-3, -2, -1))
    return {"mse": mse.reshape(b, c), "mae": mae.reshape(b, c), "pcc": pcc.reshape(b, c),
            "ssim": ssim.reshape(b, c)}


class MetricAccumulator:
    """Collects per-image metrics batch by batch (torchmetrics' update/compute pattern)."""

    def __init__(self, channels: Sequence[str]) -> None:
        self.channels = tuple(channels)
        self.sample_ids: list[str] = []
        self._values: dict[str, list[torch.Tensor]] = {m: [] for m in METRICS}

    def update(self, pred: torch.Tensor, target: torch.Tensor, sample_ids: Sequence[str],
               method: str = "the method") -> None:
        """Score one batch; a non-finite prediction raises naming the method and sample."""
        finite = torch.isfinite(pred).flatten(1).all(dim=1)
        if not finite.all():
            bad = sample_ids[int((~finite).nonzero()[0])]
            raise MetricError(f"{method} predicted NaN or Inf for test image {bad}; the run "
                              "is stopped so that no NaN reaches a leaderboard.")
        if pred.shape[1] != len(self.channels):
            raise MetricError(f"{method} predicted {pred.shape[1]} channels, the dataset has "
                              f"{len(self.channels)} ({', '.join(self.channels)}).")
        values = per_image_metrics(pred.clamp(0, 1), target)
        for name, value in values.items():
            self._values[name].append(value.cpu())
        self.sample_ids.extend(sample_ids)

    @classmethod
    def merged(cls, parts: Sequence["MetricAccumulator"]) -> "MetricAccumulator":
        """One accumulator holding the images of several (e.g. one per process)."""
        out = cls(parts[0].channels)
        for part in parts:
            out.sample_ids.extend(part.sample_ids)
            for name in METRICS:
                out._values[name].extend(part._values[name])
        return out

    def per_image(self) -> list[dict]:
        """One row per (image, channel): sample_id, channel, mse, mae, pcc, ssim."""
        stacked = {m: torch.cat(v) for m, v in self._values.items()}
        rows = []
        for i, sid in enumerate(self.sample_ids):
            for j, channel in enumerate(self.channels):
                rows.append({"sample_id": sid, "channel": channel,
                             **{m: float(stacked[m][i, j]) for m in METRICS}})
        return rows

    def compute(self) -> dict:
        """Mean over images per channel, the Average over channels, and the image count."""
        if not self.sample_ids:
            raise MetricError("no test images were scored.")
        stacked = {m: torch.cat(v) for m, v in self._values.items()}
        channels = {ch: {m: float(stacked[m][:, j].nanmean()) for m in METRICS}
                    for j, ch in enumerate(self.channels)}
        average = {m: _mean_defined([channels[ch][m] for ch in self.channels]) for m in METRICS}
        undefined = int(stacked["pcc"].isnan().sum())
        return {"channels": channels, "average": average, "n_images": len(self.sample_ids),
                "pcc_undefined": undefined}
