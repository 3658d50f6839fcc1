"""Trivial predictors every real method must beat (a floor for the leaderboard).

- the training-mean image: the per-pixel mean of the training targets (the MSE floor);
- a per-channel linear map of the brightfield planes, fit by least squares on the training
  pixels (the PCC floor: what needs no spatial context at all).
"""

from __future__ import annotations

import torch

from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.metrics import MetricAccumulator


def _stack(data: PairedImageDataset) -> tuple[torch.Tensor, torch.Tensor]:
    items = [data[i] for i in range(len(data))]
    return (torch.stack([it["brightfield"] for it in items]),
            torch.stack([it["fluorescence"] for it in items]))


def mean_image(train: PairedImageDataset, test: PairedImageDataset) -> dict:
    """Scores of predicting the training-mean image for every test image."""
    _, y_train = _stack(train)
    _, y_test = _stack(test)
    pred = y_train.mean(dim=0, keepdim=True).expand_as(y_test)
    return _score(pred, y_test, test, "mean-image")


def linear_map(train: PairedImageDataset, test: PairedImageDataset) -> dict:
    """Scores of a per-pixel least-squares map (with intercept) from planes to each channel."""
    x_train, y_train = _stack(train)
    x_test, y_test = _stack(test)

    def design(x: torch.Tensor) -> torch.Tensor:
        flat = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1]).double()
        return torch.cat([flat, torch.ones(len(flat), 1, dtype=flat.dtype)], dim=1)

    targets = y_train.permute(0, 2, 3, 1).reshape(-1, y_train.shape[1]).double()
    coef = torch.linalg.lstsq(design(x_train), targets).solution
    pred = (design(x_test) @ coef).float().reshape(
        x_test.shape[0], x_test.shape[2], x_test.shape[3], -1).permute(0, 3, 1, 2)
    return _score(pred.clamp(0, 1), y_test, test, "linear-map")


def _score(pred: torch.Tensor, target: torch.Tensor, data: PairedImageDataset, name: str) -> dict:
    acc = MetricAccumulator(data.source.info.channels)
    acc.update(pred, target, [r.sample_id for r in data.records], method=name)
    return acc.compute()
