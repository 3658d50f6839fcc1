"""The ``palette-threshold`` method: mask-guided conditional diffusion with thresholded masks."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from skimage import filters

from vsbench.diffusion.guided import MaskGuidedMethod


def threshold_mask(image: np.ndarray, kind: str = "local", block: int = 63,
                   floor: float = 0.8) -> np.ndarray:
    """Binary mask of one channel ``[H, W]`` on [0, 1] (see ``PaletteThresholdParams``)."""
    if float(image.max() - image.min()) < 1e-6:  # constant: no structure to find
        return np.zeros(image.shape, dtype=bool)
    otsu = filters.threshold_otsu(image)
    if kind == "otsu":
        return image > otsu
    if kind == "li":
        return image > filters.threshold_li(image)
    if kind == "local":
        return (image > filters.threshold_local(image, block)) & (image > floor * otsu)
    raise ValueError(f"Unknown threshold '{kind}'.")


def threshold_masks(images: torch.Tensor, params: Any) -> torch.Tensor:
    """:func:`threshold_mask` of every channel of a batch ``[B, C, H, W]``, with the
    ``threshold``, ``threshold_block`` and ``threshold_floor`` of ``params``."""
    arrays = images.detach().float().cpu().numpy()
    masks = np.stack([[threshold_mask(channel, params.threshold, params.threshold_block,
                                      params.threshold_floor) for channel in image]
                      for image in arrays])
    return torch.from_numpy(masks).to(images.device)


class PaletteThresholdMethod(MaskGuidedMethod):
    """Palette + thresholded masks + mask-guided denoising."""

    def structure_masks(self, images: torch.Tensor) -> torch.Tensor:
        return threshold_masks(images, self.params)

    def mask_source_record(self) -> dict[str, Any]:
        p = self.params
        record = {"kind": "threshold", "threshold": p.threshold}
        if p.threshold == "local":
            record.update(block=p.threshold_block, floor=p.threshold_floor)
        return record
