"""``dodnet``: one shared encoder-decoder and a dynamic head generated per fluorescence channel.

DoDNet (Zhang et al., CVPR 2021) as the DiffStain paper adapts it to virtual staining (its
Table 1 baseline [28]): a U-Net-like encoder-decoder (segmentation-models-pytorch parts, random
initial weights: nothing is downloaded) computes shared features; each fluorescence channel is
one task. A one-hot code of the task, concatenated with the globally pooled bottleneck feature,
goes through a controller that outputs the kernels of a small head of 1x1 convolutions; that
head maps the decoder's features to the task's channel. All (sample, task) heads run at once as
one grouped convolution per layer, and a sigmoid puts the output on [0, 1].

The training loss is over all channels; ``loss="l1"`` by default: it is the U-Net baseline's
loss too (so the two Table 1 rows differ by architecture only), and on [0, 1] intensities it
blurs fine structures less than L2 and is less pulled by the few bright pixels left after the
percentile cut-off.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from vsbench import MethodSpec, hookimpl
from vsbench.config import ConfigError


@dataclass
class DoDNetParams:
    """Hyperparameters of ``dodnet``.

    Attributes:
        encoder: a segmentation-models-pytorch encoder name (random initial weights).
        decoder_channels: widths of the five U-Net decoder stages, deepest first.
        head_channels: width of the dynamic head (and of the shared 1x1 projection of the
            decoder's features that feeds it); 8 in the original.
        head_layers: number of 1x1 convolutions in the dynamic head; 3 in the original.
        loss: ``l1`` or ``l2`` over all channels.
    """

    encoder: str = "resnet18"
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)
    head_channels: int = 8
    head_layers: int = 3
    loss: Literal["l1", "l2"] = "l1"

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values the network cannot be built with."""
        if len(self.decoder_channels) != 5 or min(self.decoder_channels) < 1:
            raise ConfigError("--set decoder_channels: give five positive widths, "
                              "e.g. 256,128,64,32,16.")
        if self.head_channels < 1:
            raise ConfigError(f"--set head_channels={self.head_channels}: must be at least 1.")
        if self.head_layers < 1:
            raise ConfigError(f"--set head_layers={self.head_layers}: must be at least 1.")
        if self.loss not in ("l1", "l2"):
            raise ConfigError(f"--set loss={self.loss}: must be one of l1, l2.")
        # Imported here: validation runs only when a run starts, never when listing plugins.
        from segmentation_models_pytorch.encoders import get_encoder_names

        names = get_encoder_names()
        if self.encoder not in names:
            close = difflib.get_close_matches(self.encoder, names, n=1)
            raise ConfigError(f"--set encoder={self.encoder}: not a segmentation-models-pytorch "
                              "encoder" + (f"; did you mean '{close[0]}'?" if close else
                                           ", e.g. resnet18 or resnet34."))


def build(params: DoDNetParams, info):
    """Build the method (imports torch and smp)."""
    from vsbench_methods.dodnet.method import DoDNetMethod

    return DoDNetMethod(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="dodnet",
        description="DoDNet: shared encoder-decoder, per-channel dynamic head from a task code.",
        reference="Zhang et al., CVPR 2021 (DoDNet); DiffStain Table 1 baseline [28]",
        params=DoDNetParams,
        factory=build,
        presets={"smoke": {"decoder_channels": (64, 32, 32, 16, 16), "epochs": 30, "lr": 2e-3},
                 "paper": {"encoder": "resnet34", "epochs": 200}},
    )]
