"""UNeXt2 (Cytoland / VisCy) for 2-D images, built on timm's ConvNeXt V2.

It follows VisCy's ``viscy_models.unet.unext2.UNeXt2`` (``packages/viscy-models``) part by part:

- **stem**: a 4x4 convolution with stride 4 (VisCy's ``UNeXt2Stem``, a Conv3d whose kernel depth
  equals the input stack depth; with the brightfield planes as that stack it is exactly a
  Conv2d from the planes, same weights and parameter count);
- **encoder**: ``timm.create_model(backbone, features_only=True)`` with its first stem
  convolution (``stem_0``) replaced by the stem above; the stem's LayerNorm (``stem_1``) and
  the four ConvNeXt V2 stages are timm's (features at strides 4, 8, 16, 32);
- **decoder**: three up-stages, each a parameter-free pixel shuffle (x2) of the deeper
  feature, concatenated with the skip, then a timm ``ConvNeXtStage`` (stride 1, GRN, conv MLP,
  no layer scale) whose last block's ``fc2`` gets ICNR initialisation; the last stage outputs
  ``3 * out_channels * 4 * head_expansion_ratio`` channels (VisCy's
  ``(out_stack_depth + 2) * out_channels * 2**2 * head_expansion_ratio`` with one output plane);
- **head**: VisCy's ``PixelToVoxelHead`` with one output plane: pixel shuffle (x2), a 3x3
  convolution with instance norm (no affine) and PReLU, a 1x1 convolution to
  ``out_channels * 4`` (ICNR), pixel shuffle (x2). VisCy's 3x3x3 Conv3d over the 3 planes it
  reshapes the channels into (no depth padding) is, on one output plane, exactly a 3x3 Conv2d
  over the flattened channels, so this 2-D version has VisCy's weights one for one.

The network's output is unbounded; :class:`~vsbench_methods.unext2.method.UNeXt2Method` puts it
on [0, 1].
"""

from __future__ import annotations

from typing import Callable

import timm
import torch
from timm.layers import LayerNorm, LayerNorm2d
from timm.models.convnext import ConvNeXtStage, _init_weights
from torch import nn

# The stem's stride: the head upsamples by 2 x 2, the decoder's three stages by 2 each, so the
# input is recovered only when the stem divides it by 4 (VisCy's stem_kernel_size[-1]).
STEM_STRIDE = 4


def icnr_init(conv: nn.Conv2d, upsample_factor: int,
              init: Callable[[torch.Tensor], torch.Tensor] = nn.init.kaiming_normal_) -> None:
    """ICNR initialisation (Aitken et al., 2017) of a convolution followed by a pixel shuffle.

    The ``upsample_factor**2`` output channels that the shuffle puts side by side in one output
    channel start with the same kernel, so the shuffled output starts as a nearest-neighbour
    upsampling (no checkerboard). Pixel shuffle reads channel ``c * r**2 + q`` as sub-pixel
    ``q`` of output channel ``c``, hence ``repeat_interleave`` over the output channels.
    """
    out_channels, in_channels, *kernel = conv.weight.shape
    groups = upsample_factor ** 2
    base = init(torch.zeros([out_channels // groups, in_channels, *kernel]))
    with torch.no_grad():
        conv.weight.copy_(base.repeat_interleave(groups, dim=0))


def convnext_stage(in_channels: int, out_channels: int, depth: int,
                   upsample_factor: int | None = None) -> ConvNeXtStage:
    """A stride-1 ConvNeXt V2 stage of the decoder (VisCy's ``_get_convnext_stage``)."""
    stage = ConvNeXtStage(in_chs=in_channels, out_chs=out_channels, stride=1, depth=depth,
                          ls_init_value=None, conv_mlp=True, use_grn=True,
                          norm_layer=LayerNorm2d, norm_layer_cl=LayerNorm)
    stage.apply(_init_weights)
    if upsample_factor:
        icnr_init(stage.blocks[-1].mlp.fc2, upsample_factor)
    return stage


class UpStage(nn.Module):
    """One decoder stage: pixel-shuffle the deeper feature x2, concatenate the skip, refine
    with a ConvNeXt V2 stage (VisCy's ``UNeXt2UpStage``, ``mode="pixelshuffle"``, no
    pre-convolution)."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int,
                 conv_blocks: int, scale_factor: int = 2) -> None:
        super().__init__()
        self.upsample = nn.PixelShuffle(scale_factor)
        self.conv = convnext_stage(in_channels // scale_factor ** 2 + skip_channels,
                                   out_channels, conv_blocks, upsample_factor=scale_factor)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([self.upsample(x), skip], dim=1))


class PixelShuffleHead(nn.Module):
    """VisCy's ``PixelToVoxelHead`` for one output plane (see the module docstring)."""

    def __init__(self, in_channels: int, out_channels: int, expansion_ratio: int,
                 pool: bool = False) -> None:
        super().__init__()
        self.upsample = nn.PixelShuffle(2)
        # VisCy's pad-and-average of MONAI's SubpixelUpsample (``apply_pad_pool``): a 2x2 box
        # blur after the shuffle, off by default.
        self.pad_pool = (nn.Sequential(nn.ConstantPad2d((1, 0, 1, 0), 0.0),
                                       nn.AvgPool2d(2, stride=1)) if pool else nn.Identity())
        mid = out_channels * expansion_ratio * 2 ** 2
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels // 2 ** 2, mid, kernel_size=3, padding=1),
            nn.InstanceNorm2d(mid), nn.PReLU(),
            nn.Conv2d(mid, out_channels * 2 ** 2, kernel_size=1))
        icnr_init(self.conv[-1], 2)
        self.out = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv(self.pad_pool(self.upsample(x))))


class UNeXt2(nn.Module):
    """UNeXt2 from ``in_channels`` (brightfield planes) to ``out_channels`` (fluorescence).

    Args:
        in_channels: input channels (the brightfield planes).
        out_channels: output channels (the fluorescence channels).
        backbone: a timm ConvNeXt (V2) model name; built with random weights.
        decoder_conv_blocks: ConvNeXt blocks per decoder stage (VisCy: 2).
        head_expansion_ratio: width factor of the head and of the last decoder stage (VisCy: 4).
        head_pool: the 2x2 box blur after the head's first pixel shuffle (VisCy: off).
        drop_path_rate: stochastic depth of the encoder (VisCy: 0).
    """

    def __init__(self, in_channels: int, out_channels: int, backbone: str = "convnextv2_tiny",
                 decoder_conv_blocks: int = 2, head_expansion_ratio: int = 4,
                 head_pool: bool = False, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        encoder = timm.create_model(backbone, pretrained=False, features_only=True,
                                    drop_path_rate=drop_path_rate)
        widths = list(encoder.feature_info.channels())
        # The stem below replaces timm's first convolution (its LayerNorm, stem_1, stays).
        encoder.stem_0 = nn.Identity()
        self.stem = nn.Conv2d(in_channels, widths[0], kernel_size=STEM_STRIDE,
                              stride=STEM_STRIDE)
        self.encoder_stages = encoder
        decoder = widths[::-1]
        decoder[-1] = 3 * out_channels * 2 ** 2 * head_expansion_ratio
        self.decoder = nn.ModuleList(
            UpStage(decoder[i], decoder[i] // 2, decoder[i + 1], decoder_conv_blocks)
            for i in range(len(decoder) - 1))
        self.head = PixelShuffleHead(decoder[-1], out_channels, head_expansion_ratio,
                                     pool=head_pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, in_channels, H, W]`` -> ``[B, out_channels, H, W]`` (H, W multiples of 32)."""
        features = self.encoder_stages(self.stem(x))[::-1]
        y = features[0]
        for stage, skip in zip(self.decoder, features[1:]):
            y = stage(y, skip)
        return self.head(y)
