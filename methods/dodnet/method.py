"""The ``dodnet`` method: model, loss and prediction."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vsbench.data import DatasetInfo
from vsbench.method import Method
from vsbench_methods.dodnet.network import DoDNet


class DoDNetMethod(Method):
    """DoDNet from brightfield planes to fluorescence channels (one task per channel)."""

    def __init__(self, params, info: DatasetInfo) -> None:
        super().__init__(params, info)
        self.model = DoDNet(in_channels=len(info.planes), num_tasks=len(info.channels),
                            encoder=params.encoder, decoder_channels=params.decoder_channels,
                            head_channels=params.head_channels, head_layers=params.head_layers)

    def training_loss(self, batch: dict) -> torch.Tensor:
        pred = torch.sigmoid(self.model(batch["brightfield"]))
        loss = F.l1_loss if self.params.loss == "l1" else F.mse_loss
        return loss(pred.float(), batch["fluorescence"])

    def predict(self, batch: dict) -> torch.Tensor:
        return torch.sigmoid(self.model(batch["brightfield"]))
