"""The settings of neural spectral clustering (torch-free, so plugins can declare them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vsbench.config import ConfigError
from vsbench.nsc.backbones import DEFAULT, backbone

SOLVERS = ("eigsh", "lobpcg", "dense")


@dataclass
class NSCConfig:
    """Settings of neural spectral clustering (the paper's in brackets).

    Attributes:
        backbone: timm backbone (DINO ViT-S/8, the public code's; see ``vsbench weights``).
        weights: a local weights file for it (else ``$VSBENCH_NSC_WEIGHTS`` or the HF cache).
        allow_download: let timm download the weights when they are not cached.
        fallback: without the weights, use the packaged EfficientNet-Lite0 (else untrained).
        features: ``tokens`` or ``keys`` (the last block's attention keys) for a ViT.
        fov: field-of-view side in image pixels (224).
        input_size: side each field is resampled to for the backbone (224).
        r: eigenvectors of the embedding (5). k: clusters (5).
        top: brightest clusters per channel in the mask; 0 = those above the Otsu split of
            the clusters' mean intensities.
        solver: ``eigsh``, ``lobpcg`` or ``dense``.
        n_init: k-means restarts; seed: their seed (and the local DINO ViT's).
        ssl_dim, ssl_depth, ssl_epochs, ssl_crop: for the backbone ``vit_tiny_patch8.dino_local``
            (:mod:`vsbench.nsc.selfsup`): the ViT's width and blocks, the DINO epochs over the
            training split's channel images, and the global crop side in pixels.
    """

    backbone: str = DEFAULT
    weights: str | None = None
    allow_download: bool = False
    fallback: bool = True
    features: Literal["tokens", "keys"] = "tokens"
    fov: int = 224
    input_size: int = 224
    r: int = 5
    k: int = 5
    top: int = 0
    solver: Literal["eigsh", "lobpcg", "dense"] = "eigsh"
    n_init: int = 3
    seed: int = 0
    ssl_dim: int = 96
    ssl_depth: int = 4
    ssl_epochs: int = 30
    ssl_crop: int = 64

    def validate(self, prefix: str = "nsc.") -> None:
        """Raise :class:`ConfigError` for unusable values (``prefix``: the --set key prefix)."""
        backbone(self.backbone)
        if self.fov < 8:
            raise ConfigError(f"--set {prefix}fov={self.fov}: must be at least 8 pixels.")
        if self.r < 1 or self.k < 2:
            raise ConfigError(f"--set {prefix}r={self.r} {prefix}k={self.k}: need r >= 1 and "
                              "k >= 2.")
        if not 0 <= self.top < self.k:
            raise ConfigError(f"--set {prefix}top={self.top}: must be between 0 (automatic) and "
                              f"k - 1 = {self.k - 1}.")
        if self.solver not in SOLVERS:
            raise ConfigError(f"--set {prefix}solver={self.solver}: use one of "
                              f"{', '.join(SOLVERS)}.")
        if self.ssl_dim < 3 or self.ssl_dim % 3 or self.ssl_depth < 1 or self.ssl_epochs < 1:
            raise ConfigError(f"--set {prefix}ssl_dim={self.ssl_dim} {prefix}ssl_depth="
                              f"{self.ssl_depth} {prefix}ssl_epochs={self.ssl_epochs}: need a "
                              "width divisible by 3 (heads) and at least one block and epoch.")
        if self.ssl_crop < 16 or self.ssl_crop % 16:
            raise ConfigError(f"--set {prefix}ssl_crop={self.ssl_crop}: must be a multiple of "
                              "16 (local crops are half of it, in patches of 8).")
        if self.n_init < 1:
            raise ConfigError(f"--set {prefix}n_init={self.n_init}: must be at least 1.")
        stride = backbone(self.backbone).stride
        if self.input_size % stride or (self.input_size // stride) ** 2 < self.r + 2:
            raise ConfigError(f"--set {prefix}input_size={self.input_size}: must be a multiple "
                              f"of {stride} ({self.backbone}'s patch size) giving at least "
                              f"{self.r + 2} patches.")
