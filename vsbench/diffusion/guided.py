"""``MaskGuidedMethod``: conditional diffusion with mask-guided denoising (DiffStain 2.3).

Prediction of a batch:

1. the first estimate y is an unguided conditional sample (Palette);
2. for each of ``refine_rounds`` rounds: binary structure masks m of the current estimate, one per
   channel (:meth:`MaskGuidedMethod.structure_masks`, the subclass's mask source); the guide z
   formed from m (``guide``: m itself, m scaled to the estimate's levels, or the estimate times
   m); z noised by the forward process to the start step t_s = ``start_fraction`` (T - 1) (the
   paper's eq. 2, :func:`vsbench.diffusion.forward.q_sample`), and the reverse process,
   conditioned on the brightfield, runs from there (the toolkit's SDEdit start); its output is
   the next estimate.

Subclasses differ only in the mask source: ``diffstain`` (neural spectral clustering) and
``palette-threshold`` (scikit-image thresholds). Training is Palette's, unless the ablation
switch ``mask_condition`` also feeds masks to the denoiser as condition channels.

The guide, by default, is the paper's: z is the binary structure mask itself, on the
diffusion scale (0 -> -1, 1 -> +1), noised by eq. 2 to the start step; ``product`` (the estimate
times the mask) and ``levels`` are options. The defaults of ``start_fraction`` and
``refine_rounds`` were chosen on the validation split with the final smoke networks of both
prediction types (``benchmarks/mask_guidance_val.py``; the tables are in
``benchmarks/README.md``). Every prediction also returns its unguided first estimate (extra
:data:`vsbench.method.UNGUIDED_EXTRA`), which the engine scores beside the guided one: paired
evidence from the same noise.
"""

from __future__ import annotations

import abc
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vsbench import atomic
from vsbench.data.augment import dihedral
from vsbench.data.source import DatasetInfo
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.diffusion.guided_params import MaskGuidedParams
from vsbench.diffusion.method import ConditionalDiffusionMethod
from vsbench.diffusion.forward import from_model_range
from vsbench.diffusion.sampling import predicted_x0, start_timestep
from vsbench.figures import mask_grid
from vsbench.layout import MASKS_NPZ, MASKS_PNG
from vsbench.method import UNGUIDED_EXTRA, Prediction

# The extra of :meth:`MaskGuidedMethod.predict`: every guidance round's masks, [B, rounds, C,
# H, W] bool (the engine hands those of the preview images to write_artifacts).
MASKS_EXTRA = "masks"


def form_guide(masks: torch.Tensor, estimate: torch.Tensor, guide: str) -> torch.Tensor:
    """The guide z on [0, 1] from binary masks and the current estimate ``[B, C, H, W]``.

    ``mask``: z = m. ``product``: z = y m. ``levels``: z = b + (f - b) m with f and b the
    estimate's mean inside and outside the mask (per image and channel); an empty mask gives
    z = b everywhere, a full one z = f.
    """
    m = masks.to(estimate.dtype)
    if guide == "mask":
        return m
    if guide == "product":
        return estimate * m
    if guide == "levels":
        inside, outside = m.sum((-2, -1), keepdim=True), (1 - m).sum((-2, -1), keepdim=True)
        fg = (estimate * m).sum((-2, -1), keepdim=True) / inside.clamp_min(1)
        bg = (estimate * (1 - m)).sum((-2, -1), keepdim=True) / outside.clamp_min(1)
        fg = torch.where(inside > 0, fg, bg)
        bg = torch.where(outside > 0, bg, fg)
        return bg + (fg - bg) * m
    raise ValueError(f"Unknown guide '{guide}'.")


class MaskGuidedMethod(ConditionalDiffusionMethod):
    """Palette plus mask-guided refinement; subclasses supply :meth:`structure_masks`."""

    params: MaskGuidedParams

    def __init__(self, params: MaskGuidedParams, info: DatasetInfo) -> None:
        super().__init__(params, info)
        self._train_masks: torch.Tensor | None = None  # un-augmented, for mask_condition
        self.mask_cache_file: Path | None = None

    # -- the mask source ---------------------------------------------------------------------

    @abc.abstractmethod
    def structure_masks(self, images: torch.Tensor) -> torch.Tensor:
        """Binary masks ``[B, C, H, W]`` (bool) of fluorescence images on [0, 1]."""

    @abc.abstractmethod
    def mask_source_record(self) -> dict[str, Any]:
        """What makes the masks (settings, backbone, weights), for the run record."""

    def setup_mask_source(self, train_data: PairedImageDataset, device: torch.device,
                          cache_dir: Path | None = None) -> None:
        """One-off preparation of the mask source on the training split (e.g. NSC anchors, a
        backbone trained on it); ``cache_dir`` as in :meth:`prepare`."""

    def guide_masks(self, batch: dict[str, Any], estimate: torch.Tensor) -> torch.Tensor:
        """The masks of one guidance round: the mask source applied to the current estimate
        (the paper). Control methods override it (e.g. masks of the ground truth)."""
        return self.structure_masks(estimate)

    # -- condition channels (mask_condition ablation) -----------------------------------------

    def condition_channels(self) -> int:
        extra = len(self.info.channels) if self.params.mask_condition else 0
        return len(self.info.planes) + extra

    def condition(self, batch: dict[str, Any]) -> torch.Tensor:
        bf = super().condition(batch)
        if not self.params.mask_condition:
            return bf
        masks = batch.get("masks")
        if masks is None:  # "no mask": the first estimate, and dropped-out training samples
            code = torch.zeros(bf.shape[0], len(self.info.channels), *bf.shape[-2:],
                               device=bf.device, dtype=bf.dtype)
        else:
            code = masks.to(bf.dtype) * 2 - 1  # {0, 1} -> {-1, 1}; 0 is "unknown"
        return torch.cat([bf, code], dim=1)

    def training_loss(self, batch: dict[str, Any]) -> torch.Tensor:
        if self.params.mask_condition:
            batch = {**batch, "masks": None}
            masks = self._augmented_training_masks(batch)
            keep = (torch.rand(masks.shape[0], device=masks.device)
                    >= self.params.mask_dropout).float()[:, None, None, None]
            # Kept samples get their masks, dropped ones the "no mask" code (0).
            batch["masks"] = masks.float() * keep + 0.5 * (1 - keep)
        return super().training_loss(batch)

    def _augmented_training_masks(self, batch: dict[str, Any]) -> torch.Tensor:
        """The cached masks of the batch's training images, with the flip/rotation the dataset
        applied to each (the batch's ``augmentation`` codes: input and target are augmented
        together, so their masks are transformed the same way)."""
        device = batch["fluorescence"].device
        return torch.stack([dihedral(self._train_masks[idx].to(device), code)
                            for idx, code in zip(batch["index"].tolist(),
                                                 batch["augmentation"].tolist())])

    # -- engine interface --------------------------------------------------------------------

    def prepare(self, train_data: PairedImageDataset, device: torch.device,
                cache_dir: Path | None = None) -> None:
        """Set up the mask source; with ``mask_condition``, the training masks (cached under
        ``cache_dir/masks``, keyed by the mask source, the data and the size)."""
        self.setup_mask_source(train_data, device, cache_dir)
        if not self.params.mask_condition:
            return
        plain = train_data.unaugmented()
        targets = torch.stack([plain[i]["fluorescence"] for i in range(len(plain))])
        self._train_masks = self._cached_training_masks(plain, targets, cache_dir)

    def _cached_training_masks(self, data: PairedImageDataset, targets: torch.Tensor,
                               cache_dir: Path | None) -> torch.Tensor:
        ids = [r.sample_id for r in data.records]
        key = hashlib.sha256(json.dumps({
            "source": self.mask_source_record(), "dataset": data.source.fingerprint(),
            "size": data.image_size, "ids": ids}, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        path = None if cache_dir is None else (
            Path(cache_dir) / "masks" / f"{type(self).__name__}-{key}.pt")
        self.mask_cache_file = path
        if path is not None and path.is_file():
            return torch.load(path, weights_only=True)["masks"]
        masks = torch.cat([self.structure_masks(chunk) for chunk in targets.split(8)]).cpu()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic.replacing(path) as tmp:  # a concurrent run never reads half a file
                torch.save({"masks": masks, "ids": ids, "source": self.mask_source_record()},
                           tmp)
        return masks

    def predict(self, batch: dict[str, Any]) -> Prediction:
        """The unguided estimate, then ``refine_rounds`` rounds of mask guidance. Extras:
        ``masks``, every round's masks, ``[B, rounds, C, H, W]`` bool (none without rounds),
        and :data:`UNGUIDED_EXTRA`, the unguided first estimate (scored by the engine)."""
        p = self.params
        current = {**batch, "masks": None}
        early: dict[str, torch.Tensor] = {}
        first = estimate = self.generate(current, on_step=self._early_view(early))
        rounds = []
        for k in range(p.refine_rounds):
            seen = (from_model_range(early["x0"]).clamp(0.0, 1.0)
                    if k == 0 and "x0" in early else estimate)
            masks = self.guide_masks(batch, seen).to(estimate.device)
            rounds.append(masks)
            if p.mask_condition:
                current["masks"] = masks
            estimate = self.generate(current, start=form_guide(masks, estimate, p.guide),
                                     start_fraction=p.start_fraction)
        extras = {MASKS_EXTRA: torch.stack(rounds, dim=1)} if rounds else {}
        extras[UNGUIDED_EXTRA] = first
        return Prediction(estimate, extras)

    def _early_view(self, early: dict[str, torch.Tensor]):
        """With ``mask_step`` > 0, a step hook keeping (in ``early["x0"]``) the clean image
        predicted at the first step at or below ``mask_step`` (T - 1); else None."""
        if self.params.mask_step <= 0:
            return None
        at = self.params.mask_step * (self.sampler.config.num_train_timesteps - 1)

        def view(t: torch.Tensor, y_t: torch.Tensor, output: torch.Tensor) -> None:
            if "x0" not in early and int(t) <= at:
                early["x0"] = predicted_x0(self.sampler, y_t, output, t)

        return view

    def run_record(self) -> dict[str, Any]:
        """The mask source (backbone and weights actually used) and the guidance settings."""
        p = self.params
        record = {"mask_source": self.mask_source_record(),
                  "guidance": {"start_fraction": p.start_fraction,
                               "start_step": start_timestep(p.num_train_timesteps,
                                                            p.start_fraction),
                               "num_train_timesteps": p.num_train_timesteps, "guide": p.guide,
                               "refine_rounds": p.refine_rounds,
                               "mask_condition": p.mask_condition,
                               "mask_step": p.mask_step}}
        if self.mask_cache_file is not None:
            record["training_mask_cache"] = str(self.mask_cache_file)
        return record

    def write_artifacts(self, folder: Path, preview: dict[str, Any]) -> None:
        """``masks.png`` and ``masks.npz``: the masks each guidance round used for the preview
        images (the first test images, as in predictions.png), from the preview's extras."""
        ids = list(preview.get("ids", []))
        kept = preview.get("extras", {}).get(MASKS_EXTRA)
        if not kept or not ids:
            return
        masks = torch.cat(kept).numpy()  # [N, rounds, C, H, W]
        if len(masks) != len(ids):
            return
        # ``masks``: the last round's (those behind the final prediction), [N, C, H, W];
        # ``masks_by_round``: every round's, [N, rounds, C, H, W].
        atomic.write_npz(Path(folder) / MASKS_NPZ, masks=masks[:, -1], masks_by_round=masks,
                         sample_ids=np.array(ids, dtype=str),
                         channels=np.array(self.info.channels, dtype=str))
        mask_grid(Path(folder) / MASKS_PNG, masks, preview["prediction"], self.info.channels,
                  ids, title=f"{type(self).__name__}: masks of each guidance round")
