"""The example plugin's network and method (the README's example, as written there)."""

import torch
import torch.nn.functional as F
from vsbench.method import Batch, Method

class TinyCNN(Method):
    def __init__(self, params, info):
        super().__init__(params, info)
        planes, channels, hidden = len(info.planes), len(info.channels), params.hidden
        self.model = torch.nn.Sequential(
            torch.nn.Conv2d(planes, hidden, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(hidden, hidden, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(hidden, channels, 1), torch.nn.Sigmoid())

    def training_loss(self, batch: Batch) -> torch.Tensor:
        return F.l1_loss(self.model(batch["brightfield"]), batch["fluorescence"])

    def predict(self, batch: Batch) -> torch.Tensor:   # [B, channels, H, W] on [0, 1]
        return self.model(batch["brightfield"])
