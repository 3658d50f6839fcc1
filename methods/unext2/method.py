"""The ``unext2`` method: the UNeXt2 network as a direct regressor with VisCy's mixed loss."""

from __future__ import annotations

import torch

from vsbench.data import DatasetInfo
from vsbench.method import Batch, DirectRegressor
from vsbench_methods.unext2.loss import mixed_loss
from vsbench_methods.unext2.network import UNeXt2


class UNeXt2Method(DirectRegressor):
    """UNeXt2 from the brightfield planes to the fluorescence channels.

    The prediction is the sigmoid of the network's output (:class:`DirectRegressor`), as for
    ``unet`` and ``dodnet``: the benchmark's targets are on [0, 1] (VisCy regresses z-scored
    intensities with no output activation). The loss is VisCy's L1 + MS-DSSIM, computed in
    float32 outside autocast (the SSIM's variances are differences of squares, which bf16
    cannot resolve).
    """

    def __init__(self, params, info: DatasetInfo) -> None:
        super().__init__(params, info)
        self.model = UNeXt2(len(info.planes), len(info.channels), backbone=params.backbone,
                            decoder_conv_blocks=params.decoder_conv_blocks,
                            head_expansion_ratio=params.head_expansion_ratio,
                            head_pool=params.head_pool, drop_path_rate=params.drop_path_rate)

    def training_loss(self, batch: Batch) -> torch.Tensor:
        preds = self.output(batch)
        with torch.autocast(device_type=preds.device.type, enabled=False):
            return mixed_loss(preds.float(), batch["fluorescence"].float(),
                              self.params.l1_alpha, self.params.l2_alpha,
                              self.params.ms_dssim_alpha)
