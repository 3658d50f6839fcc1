"""``unext2``: Cytoland's UNeXt2 (VisCy), a ConvNeXt V2 U-Net regressing the fluorescence.

The 2-D model of Cytoland (Liu et al., Nature Machine Intelligence 2025; VSCyto2D), built from
VisCy's ``UNeXt2`` definition on timm's ConvNeXt V2 (random initial weights: nothing is
downloaded, and the ``viscy`` package is not needed): a 4x4 stride-4 stem, timm's four
ConvNeXt V2 stages, a decoder of pixel shuffles and ConvNeXt V2 stages, a pixel-shuffle head
(:mod:`vsbench_methods.unext2.network`), trained with VisCy's mixed loss, 0.5 L1 + 0.5 MS-DSSIM
(:mod:`vsbench_methods.unext2.loss`). Input = the brightfield planes (VisCy's input stack),
output = the fluorescence channels through a sigmoid (the targets are on [0, 1]).

Presets: ``paper`` is VisCy's UNeXt2 default and VSCyto2D's fine-tuning (``convnextv2_tiny``,
two ConvNeXt blocks per decoder stage, head expansion 4; lr 2e-4, 200 epochs). ``smoke`` is
``convnextv2_atto`` (timm's smallest ConvNeXt V2) with one decoder block and head expansion 2
at ``unet``'s smoke budget (30 epochs, lr 2e-3): with 5 output channels VisCy's head expansion
4 makes the last decoder stage 240 channels wide at a quarter of the resolution, which costs
1.4x ``unet``'s training step on the 2-core CPU (0.53 s against 0.39 s per batch of 8 at
64 px); one block and expansion 2 cost 0.31 s.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from vsbench import MethodSpec, hookimpl
from vsbench.config import ConfigError


@dataclass
class UNeXt2Params:
    """Hyperparameters of ``unext2`` (the defaults are VisCy's ``UNeXt2`` and ``MixedLoss``
    as VSCyto2D fine-tunes with them).

    Attributes:
        backbone: a timm ConvNeXt V2 (or ConvNeXt) model name, e.g. ``convnextv2_tiny``
            (VSCyto2D's widths and depths) or ``convnextv2_atto``; random initial weights.
        decoder_conv_blocks: ConvNeXt V2 blocks in each decoder stage.
        head_expansion_ratio: width factor of the pixel-shuffle head (and of the last decoder
            stage, ``12 * channels * head_expansion_ratio`` wide).
        head_pool: a 2x2 box blur after the head's first pixel shuffle.
        drop_path_rate: stochastic depth of the encoder's blocks.
        l1_alpha, l2_alpha, ms_dssim_alpha: weights of L1, L2 and 1 - MS-SSIM in the loss.
    """

    backbone: str = "convnextv2_tiny"
    decoder_conv_blocks: int = 2
    head_expansion_ratio: int = 4
    head_pool: bool = False
    drop_path_rate: float = 0.0
    l1_alpha: float = 0.5
    l2_alpha: float = 0.0
    ms_dssim_alpha: float = 0.5

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values the network or the loss cannot use."""
        if self.decoder_conv_blocks < 1:
            raise ConfigError(f"--set decoder_conv_blocks={self.decoder_conv_blocks}: must be "
                              "at least 1.")
        if self.head_expansion_ratio < 1:
            raise ConfigError(f"--set head_expansion_ratio={self.head_expansion_ratio}: must be "
                              "at least 1.")
        if not 0 <= self.drop_path_rate < 1:
            raise ConfigError(f"--set drop_path_rate={self.drop_path_rate}: must be in [0, 1).")
        weights = (self.l1_alpha, self.l2_alpha, self.ms_dssim_alpha)
        if min(weights) < 0 or not any(weights):
            raise ConfigError("--set l1_alpha / l2_alpha / ms_dssim_alpha: the loss weights "
                              "must be non-negative and not all zero.")
        # Imported here: validation runs only when a run starts, never when listing plugins.
        import timm

        names = timm.list_models("convnext*")
        if self.backbone not in names:
            close = difflib.get_close_matches(self.backbone, names, n=1)
            raise ConfigError(f"--set backbone={self.backbone}: not a timm ConvNeXt model"
                              + (f"; did you mean '{close[0]}'?" if close else
                                 ", e.g. convnextv2_atto or convnextv2_tiny."))


def build(params: UNeXt2Params, info):
    """Build the method (imports torch and timm)."""
    from vsbench_methods.unext2.method import UNeXt2Method

    return UNeXt2Method(params, info)


@hookimpl
def vsbench_methods() -> list[MethodSpec]:
    return [MethodSpec(
        name="unext2",
        description="Cytoland's UNeXt2 (VisCy): ConvNeXt V2 encoder, pixel-shuffle decoder, "
                    "L1 + MS-SSIM loss.",
        reference="Liu et al., Nature Machine Intelligence 2025 (Cytoland, VSCyto2D); VisCy",
        params=UNeXt2Params,
        factory=build,
        presets={"smoke": {"backbone": "convnextv2_atto", "decoder_conv_blocks": 1,
                           "head_expansion_ratio": 2, "epochs": 30, "lr": 2e-3},
                 "paper": {"epochs": 200, "lr": 2e-4}},
    )]
