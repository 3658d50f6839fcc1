"""The ``diffstain`` method: mask-guided conditional diffusion with NSC masks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.diffusion.guided import MaskGuidedMethod
from vsbench.nsc.backbones import LOCAL_DINO
from vsbench.nsc.masks import NSC
from vsbench.nsc.selfsup import cached_dino_vit
from vsbench.nsc.weights import WeightsRecord

# Training images scanned for the anchors (the first ones of the training split).
ANCHOR_CANDIDATES = 16


def choose_anchors(data: PairedImageDataset, fov: int, candidates: int = ANCHOR_CANDIDATES
                   ) -> tuple[torch.Tensor, list[str]]:
    """Per channel, the anchor field: the first field (top-left, ``min(fov, size)`` pixels) of
    the training image, among the first ``candidates``, whose channel varies most (highest
    standard deviation: the field that shows the most structure). Returns ``[C, s, s]`` and
    the chosen sample ids."""
    n = min(candidates, len(data))
    fields = torch.stack([data[i]["fluorescence"][..., :fov, :fov] for i in range(n)])
    best = fields.flatten(2).std(dim=2).argmax(dim=0)  # [C]
    anchors = torch.stack([fields[int(b), c] for c, b in enumerate(best)])
    return anchors, [data.records[int(b)].sample_id for b in best]


def setup_nsc(nsc: NSC, train_data: PairedImageDataset, device: torch.device,
              cache_dir: Path | None) -> tuple[list[str], dict[str, Any] | None]:
    """Prepare NSC on the training split: the anchors (training targets, un-augmented) and,
    for the backbone trained here (``vit_tiny_patch8.dino_local`` without ``nsc.weights``), the
    small DINO ViT, trained or reloaded from ``cache_dir``. Returns the anchor ids and the
    ViT's training record (None for other backbones)."""
    plain = PairedImageDataset(train_data.source, [r.sample_id for r in train_data.records],
                               train_data.image_size)
    anchors, anchor_ids = choose_anchors(plain, nsc.config.fov)
    nsc.to(device)
    trained = None
    if nsc.config.backbone == LOCAL_DINO and not nsc.config.weights:
        targets = torch.stack([plain[i]["fluorescence"] for i in range(len(plain))])
        path, trained, model = cached_dino_vit(targets, [r.sample_id for r in plain.records],
                                               plain.source.fingerprint(), plain.image_size,
                                               nsc.config, cache_dir)
        nsc.set_backbone(model, WeightsRecord(LOCAL_DINO, LOCAL_DINO, "trained-here",
                                              None if path is None else str(path),
                                              "DINO on the training split"))
    nsc.set_anchors(anchors)
    return anchor_ids, trained


class DiffStainMethod(MaskGuidedMethod):
    """Palette + NSC masks + mask-guided denoising."""

    def __init__(self, params, info) -> None:
        super().__init__(params, info)
        self.nsc = NSC(params.nsc)
        self.anchor_ids: list[str] = []
        self.backbone_training: dict[str, Any] | None = None

    def to(self, device: torch.device) -> "DiffStainMethod":
        super().to(device)
        self.nsc.to(device)
        return self

    def setup_mask_source(self, train_data: PairedImageDataset, device: torch.device,
                          cache_dir: Path | None = None) -> None:
        """Anchors from the training targets (un-augmented); loads (or trains) the backbone."""
        self.anchor_ids, self.backbone_training = setup_nsc(self.nsc, train_data, device,
                                                            cache_dir)

    def structure_masks(self, images: torch.Tensor) -> torch.Tensor:
        return self.nsc.masks(images.float())

    def mask_source_record(self) -> dict[str, Any]:
        record = {"kind": "nsc", "nsc": self.nsc.record(), "anchors": self.anchor_ids}
        if self.backbone_training is not None:
            record["backbone_training"] = self.backbone_training
        return record
