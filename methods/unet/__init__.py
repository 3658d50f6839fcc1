"""``unet``: a U-Net regressing the fluorescence channels from the brightfield planes.

The convolutional baseline of the DiffStain paper's Table 1, built with
segmentation-models-pytorch (``smp.Unet``): input = the dataset's brightfield planes, output =
its fluorescence channels through a sigmoid (the targets are on [0, 1]). The encoder starts from
random weights: nothing is downloaded at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vsbench import MethodSpec, hookimpl
from vsbench.config import ConfigError


@dataclass
class UNetParams:
    """Hyperparameters of ``unet``."""

    encoder: str = "resnet18"
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)
    loss: Literal["l1", "l2"] = "l1"

    def validate(self) -> None:
        if len(self.decoder_channels) != 5 or min(self.decoder_channels) < 1:
            raise ConfigError("--set decoder_channels: give five positive widths, "
                              "e.g. 256,128,64,32,16.")


def build(params: UNetParams, info):
    """Build the method (imports torch and smp)."""
    from vsbench_methods.unet.method import UNetMethod

    return UNetMethod(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="unet",
        description="U-Net (segmentation-models-pytorch) regressing all channels at once.",
        reference="Ronneberger et al., MICCAI 2015; DiffStain Table 1 baseline [11]",
        params=UNetParams,
        factory=build,
        presets={"smoke": {"decoder_channels": (64, 32, 32, 16, 16), "epochs": 30, "lr": 2e-3},
                 "paper": {"encoder": "resnet34", "epochs": 200}},
    )]
