"""The ``dodnet`` method: the DoDNet network as a direct regressor."""

from __future__ import annotations

from vsbench.data import DatasetInfo
from vsbench.method import DirectRegressor
from vsbench_methods.dodnet.network import DoDNet


class DoDNetMethod(DirectRegressor):
    """DoDNet from brightfield planes to fluorescence channels, one task per channel (sigmoid
    output, L1/L2 loss: :class:`vsbench.method.DirectRegressor`)."""

    def __init__(self, params, info: DatasetInfo) -> None:
        super().__init__(params, info)
        self.model = DoDNet(in_channels=len(info.planes), num_tasks=len(info.channels),
                            encoder=params.encoder, decoder_channels=params.decoder_channels,
                            head_channels=params.head_channels, head_layers=params.head_layers)
