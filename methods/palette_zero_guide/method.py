"""The ``palette-zero-guide`` control: mask-guided denoising whose masks are all empty."""

from __future__ import annotations

from typing import Any

import torch

from vsbench.diffusion.guided import MaskGuidedMethod


class ZeroGuideMethod(MaskGuidedMethod):
    """Palette + mask-guided denoising from empty masks (z = 0 with ``guide=mask``)."""

    def structure_masks(self, images: torch.Tensor) -> torch.Tensor:
        return torch.zeros(images.shape, dtype=torch.bool, device=images.device)

    def mask_source_record(self) -> dict[str, Any]:
        return {"kind": "zero"}
