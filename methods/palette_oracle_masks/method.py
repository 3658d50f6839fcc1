"""The ``palette-oracle-masks`` control: guidance masks from the ground-truth test images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.diffusion.guided import MaskGuidedMethod
from vsbench.errors import MethodFailed
from vsbench.nsc.masks import NSC
from vsbench_methods.diffstain.method import setup_nsc
from vsbench_methods.palette_threshold.method import threshold_masks


class OracleMasksMethod(MaskGuidedMethod):
    """Palette + mask-guided denoising with masks of the ground truth (an upper bound)."""

    def __init__(self, params, info) -> None:
        super().__init__(params, info)
        self.nsc = NSC(params.nsc) if params.mask_source == "nsc" else None
        self.anchor_ids: list[str] = []

    def to(self, device: torch.device) -> "OracleMasksMethod":
        super().to(device)
        if self.nsc is not None:
            self.nsc.to(device)
        return self

    def setup_mask_source(self, train_data: PairedImageDataset, device: torch.device,
                          cache_dir: Path | None = None) -> None:
        """With NSC: diffstain's preparation (anchors, a backbone trained here)."""
        if self.nsc is not None:
            self.anchor_ids, _ = setup_nsc(self.nsc, train_data, device, cache_dir)

    def structure_masks(self, images: torch.Tensor) -> torch.Tensor:
        if self.nsc is not None:
            return self.nsc.masks(images.float())
        return threshold_masks(images, self.params)

    def guide_masks(self, batch: dict[str, Any], estimate: torch.Tensor) -> torch.Tensor:
        """Masks of the ground truth (the batch's ``fluorescence``), not of the estimate."""
        truth = batch.get("fluorescence")
        if truth is None:
            raise MethodFailed("palette-oracle-masks needs the ground-truth fluorescence in the "
                               "batch (it is a control for evaluation, not a predictor).")
        return self.structure_masks(truth.to(estimate.device))

    def mask_source_record(self) -> dict[str, Any]:
        p = self.params
        if self.nsc is not None:
            source = {"kind": "nsc", "nsc": self.nsc.record(), "anchors": self.anchor_ids}
        else:
            source = {"kind": "threshold", "threshold": p.threshold}
            if p.threshold == "local":
                source.update(block=p.threshold_block, floor=p.threshold_floor)
        return {**source, "of": "ground truth"}
