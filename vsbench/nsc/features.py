"""Patch features of single-channel fields of view, from a timm backbone.

A field of view (a tile of one fluorescence channel, on [0, 1]) is resampled to the backbone's
input size, replicated to its input planes (three for every backbone here) and normalised with
the mean and standard deviation of the backbone's pretrained configuration (timm's
``pretrained_cfg``), as the backbone saw its training images. The features form a grid of
``input_size / stride`` cells per side:

- ViT, ``tokens``: the patch tokens of the last block after the final norm (class and register
  tokens dropped);
- ViT, ``keys``: the attention keys of the last block (all heads concatenated), what the public
  DiffStain code and deep spectral methods use;
- CNN (the EfficientNet-Lite0 fallback): the stride-8 stage (40 channels; on the synthetic
  structure maps it recovered structure better than that stage concatenated with the upsampled
  stride-16 one, mean IoU 0.40 against 0.34); ``keys`` does not apply and is recorded as such.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from vsbench.config import ConfigError
from vsbench.nsc.backbones import Backbone

FeatureKind = Literal["tokens", "keys"]

# EfficientNet blocks whose outputs are the features (block 2: stride 8; the first listed is
# the finest, the others are upsampled to it and concatenated).
CNN_STAGES = (2,)


class PatchFeatures:
    """Callable: tiles ``[N, 1, h, w]`` on [0, 1] -> features ``[N, g, g, D]`` (float32).

    Args:
        model: the backbone (evaluation mode), from :func:`vsbench.nsc.weights.load_backbone`.
        spec: its :class:`~vsbench.nsc.backbones.Backbone`.
        kind: ``tokens`` or ``keys`` (ViT only; see the module docstring).
        input_size: the side, in pixels, each tile is resampled to; a multiple of the stride.
        batch_size: tiles per forward pass (memory).
    """

    def __init__(self, model: torch.nn.Module, spec: Backbone, kind: FeatureKind = "tokens",
                 input_size: int = 224, batch_size: int = 32) -> None:
        if input_size % spec.stride:
            raise ConfigError(f"--set nsc.input_size={input_size}: must be a multiple of the "
                              f"backbone's patch size/stride ({spec.stride} for {spec.name}).")
        if kind not in ("tokens", "keys"):
            raise ConfigError(f"--set nsc.features={kind}: use tokens or keys.")
        self.model, self.spec, self.input_size = model, spec, input_size
        self.kind = kind if spec.family == "vit" else "cnn-stages"
        self.batch_size = batch_size
        self.bf16 = False  # see __call__
        self.channels_last = self.kind == "cnn-stages"  # see prepare
        cfg = getattr(model, "pretrained_cfg", {}) or {}
        mean, std = cfg.get("mean", (0.5, 0.5, 0.5)), cfg.get("std", (0.5, 0.5, 0.5))
        self.in_chans = len(mean)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)

    @property
    def grid(self) -> int:
        """Feature-grid cells per side."""
        return self.input_size // self.spec.stride

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def describe(self) -> str:
        """What the features are, for the run record."""
        if self.kind == "cnn-stages":
            return f"cnn feature maps after blocks {CNN_STAGES} (stride {self.spec.stride})"
        return {"tokens": "patch tokens of the last block (after the final norm)",
                "keys": "attention keys of the last block"}[self.kind]

    def prepare(self, tiles: torch.Tensor) -> torch.Tensor:
        """Resample to the input size, replicate to the input planes, normalise."""
        x = tiles.float()
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                              align_corners=False, antialias=x.shape[-1] > self.input_size)
        x = x.expand(-1, self.in_chans, -1, -1)
        x = (x - self.mean.to(x.device)) / self.std.to(x.device)
        if self.channels_last:
            # channels_last: the CNN's depthwise convolutions ran 1.3x faster so on the CPU
            # (oneDNN), same features to 3e-5 (benchmarks/nsc_batched.py).
            self.model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    @torch.inference_mode()
    def __call__(self, tiles: torch.Tensor) -> torch.Tensor:
        if tiles.dim() != 4 or tiles.shape[1] != 1:
            raise ValueError(f"tiles must be [N, 1, h, w], got {tuple(tiles.shape)}.")
        # bf16 autocast only where asked for (``bf16=True``, CUDA): not the default, because
        # the agreement of bf16 features' clusters with fp32 ones is measured only on a GPU.
        with torch.autocast("cuda", dtype=torch.bfloat16,
                            enabled=self.bf16 and self.device.type == "cuda"):
            out = [self._forward(self.prepare(chunk.to(self.device)))
                   for chunk in tiles.split(self.batch_size)]
        return torch.cat(out).float()

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.grid
        if self.kind == "cnn-stages":
            return self._cnn(x)
        if self.kind == "tokens":
            tokens = self.model.forward_features(x)
        else:
            captured: list[torch.Tensor] = []
            attn = self.model.blocks[-1].attn
            handle = attn.qkv.register_forward_hook(lambda m, i, o: captured.append(o))
            try:
                self.model.forward_features(x)
            finally:
                handle.remove()
            qkv = captured[0]
            dim = qkv.shape[-1] // 3
            tokens = qkv[..., dim:2 * dim]  # timm's layout: [q | k | v], heads inside each
        prefix = getattr(self.model, "num_prefix_tokens", 1)
        patches = tokens[:, prefix:]
        if patches.shape[1] != g * g:
            raise ValueError(f"{self.spec.name}: {patches.shape[1]} patch tokens, expected "
                             f"{g}x{g}; build the backbone with img_size={self.input_size}.")
        return patches.reshape(x.shape[0], g, g, -1)

    def _cnn(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.bn1(m.conv_stem(x))
        maps = []
        for i, block in enumerate(m.blocks):
            x = block(x)
            if i in CNN_STAGES:
                maps.append(x)
            if i >= max(CNN_STAGES):
                break
        size = maps[0].shape[-2:]  # the first stage is the finest
        maps = [maps[0]] + [F.interpolate(t, size=size, mode="bilinear", align_corners=False)
                            for t in maps[1:]]
        return torch.cat(maps, dim=1).permute(0, 2, 3, 1)
