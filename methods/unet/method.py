"""The ``unet`` method: model, loss and prediction."""

from __future__ import annotations

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F

from vsbench.data import DatasetInfo
from vsbench.method import Method


class UNetMethod(Method):
    """smp.Unet from brightfield planes to fluorescence channels, sigmoid output."""

    def __init__(self, params, info: DatasetInfo) -> None:
        super().__init__(params, info)
        self.model = smp.Unet(encoder_name=params.encoder, encoder_weights=None,
                              in_channels=len(info.planes), classes=len(info.channels),
                              decoder_channels=tuple(params.decoder_channels),
                              activation=None)

    def training_loss(self, batch: dict) -> torch.Tensor:
        pred = torch.sigmoid(self.model(batch["brightfield"]))
        loss = F.l1_loss if self.params.loss == "l1" else F.mse_loss
        return loss(pred.float(), batch["fluorescence"])

    def predict(self, batch: dict) -> torch.Tensor:
        return torch.sigmoid(self.model(batch["brightfield"]))
