"""The ``unet`` method: a segmentation-models-pytorch U-Net as a direct regressor."""

from __future__ import annotations

import segmentation_models_pytorch as smp

from vsbench.data import DatasetInfo
from vsbench.method import DirectRegressor


class UNetMethod(DirectRegressor):
    """smp.Unet from brightfield planes to fluorescence channels (sigmoid output, L1/L2 loss:
    :class:`vsbench.method.DirectRegressor`)."""

    def __init__(self, params, info: DatasetInfo) -> None:
        super().__init__(params, info)
        self.model = smp.Unet(encoder_name=params.encoder, encoder_weights=None,
                              in_channels=len(info.planes), classes=len(info.channels),
                              decoder_channels=tuple(params.decoder_channels),
                              activation=None)
