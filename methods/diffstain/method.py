"""The ``diffstain`` method: mask-guided conditional diffusion with NSC masks."""

from __future__ import annotations

from typing import Any

import torch

from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.diffusion.guided import MaskGuidedMethod
from vsbench.nsc.masks import NSC

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


class DiffStainMethod(MaskGuidedMethod):
    """Palette + NSC masks + mask-guided denoising."""

    def __init__(self, params, info) -> None:
        super().__init__(params, info)
        self.nsc = NSC(params.nsc)
        self.anchor_ids: list[str] = []

    def to(self, device: torch.device) -> "DiffStainMethod":
        super().to(device)
        self.nsc.to(device)
        return self

    def setup_mask_source(self, train_data: PairedImageDataset, device: torch.device) -> None:
        """Anchors from the training targets (un-augmented); loads the backbone."""
        plain = PairedImageDataset(train_data.source, [r.sample_id for r in train_data.records],
                                   train_data.image_size)
        anchors, self.anchor_ids = choose_anchors(plain, self.params.nsc.fov)
        self.nsc.to(device)
        self.nsc.set_anchors(anchors)

    def structure_masks(self, images: torch.Tensor) -> torch.Tensor:
        return self.nsc.masks(images.float())

    def mask_source_record(self) -> dict[str, Any]:
        return {"kind": "nsc", "nsc": self.nsc.record(), "anchors": self.anchor_ids}
