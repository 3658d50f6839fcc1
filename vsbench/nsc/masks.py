"""NSC structure masks: fields of view, features, joint clustering, brightest cluster(s).

For an image ``[C, H, W]`` on [0, 1], each channel separately:

1. the image is cut into fields of view of ``fov`` pixels (the paper: 224); the last field of
   a row or column is shifted back to end at the border, so fields overlap rather than pad. An
   image smaller than ``fov`` is one field;
2. each field is resampled to ``input_size`` (224 as in the paper: the ViT's native size),
   giving a grid of g x g patches (28 x 28 for patch 8), and described by the backbone's patch
   features (:mod:`vsbench.nsc.features`);
3. each field is clustered jointly with the channel's anchor (a field of a training image, or
   else the image's own first field) and the labels are synchronised through it
   (:mod:`vsbench.nsc.clustering`);
4. each synchronised cluster's mean intensity is measured over the image's patches (the field
   averaged onto the patch grid); the foreground is the ``top`` brightest clusters, or with
   ``top=0`` the clusters above the Otsu split of the clusters' mean intensities (weighted by
   their sizes). Because labels are synchronised, this is one decision per image, not one per
   field: a field without the structure does not get its brightest background cluster marked;
5. patch grid -> pixels: each field's binary patch mask is upsampled bilinearly to the field's
   size and averaged where fields overlap, and a pixel is foreground where that average is at
   least 0.5. Nearest-neighbour upsampling would give staircase boundaries one patch (8 input
   px) wide; the bilinear step puts the boundary half-way between a foreground and a background
   patch centre, which is as much as the patch grid knows. The masks thus resolve structures
   down to about one patch: fov / g image pixels (8 px at the paper's settings, 64 / 28 = 2.3 px
   for a 64 px smoke image upsampled to 224), which is why small images are upsampled to the
   backbone's input rather than tiled at their own resolution.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from vsbench.nsc.backbones import backbone
from vsbench.nsc.batched import DENSE_MAX_NODES, spectral_embeddings
from vsbench.nsc.clustering import cluster_embeddings, cluster_fields
from vsbench.nsc.config import NSCConfig
from vsbench.nsc.features import PatchFeatures
from vsbench.nsc.spectral import anchor_gram
from vsbench.nsc.weights import WeightsRecord, load_backbone
from vsbench.tiling import tile_starts


def bright_clusters(labels: np.ndarray, intensity: np.ndarray, top: int) -> np.ndarray:
    """The labels whose patches are brightest on average: the ``top`` brightest, or (``top``
    = 0) those above the Otsu split of the per-label means weighted by label size."""
    names = np.unique(labels)
    means = np.array([intensity[labels == u].mean() for u in names])
    order = np.argsort(-means)
    if top > 0:
        return names[order[:top]]
    sizes = np.array([(labels == u).sum() for u in names], dtype=np.float64)
    best, best_score = 1, -1.0
    for cut in range(1, len(names)):  # the brightest `cut` labels against the rest
        hi, lo = order[:cut], order[cut:]
        w1, w2 = sizes[hi].sum(), sizes[lo].sum()
        m1, m2 = (sizes[hi] @ means[hi]) / w1, (sizes[lo] @ means[lo]) / w2
        score = w1 * w2 * (m1 - m2) ** 2
        if score > best_score:
            best, best_score = cut, score
    return names[order[:best]]


class NSC:
    """Neural spectral clustering with an anchor per channel; see the module docstring.

    The backbone is loaded on first use. ``record()`` says which backbone and weights run.
    With ``batched`` the ``eigsh`` solver runs for all graphs of a batch at once on the
    backbone's device (:mod:`vsbench.nsc.batched`; its clusters equal ARPACK's, see
    ``benchmarks/nsc_batched.py``); ``batched=False`` solves each graph alone with ARPACK. The
    default (None) batches on a GPU only: on the idle 2-core CPU ARPACK was 2.4x faster.
    ``reference=True`` makes the one-graph-at-a-time path build each affinity and call ARPACK
    on the dense array as before issue 30 (for benchmarks and tests; the default path gives
    the same masks, see :func:`vsbench.nsc.clustering.cluster_fields`).
    """

    def __init__(self, config: NSCConfig, device: torch.device | str = "cpu",
                 batched: bool | None = None, reference: bool = False) -> None:
        config.validate()
        self.config = config
        self.device = torch.device(device)
        self.batched = batched
        self.reference = reference
        self._features: PatchFeatures | None = None
        self._weights: WeightsRecord | None = None
        self._anchors: torch.Tensor | None = None
        self._anchor_features: dict[int, torch.Tensor] = {}
        self._anchor_grams: dict[int, np.ndarray] = {}

    # -- backbone ------------------------------------------------------------------------

    def to(self, device: torch.device | str) -> "NSC":
        """Run the backbone (and the batched eigensolver) on ``device``; k-means runs on the
        CPU."""
        self.device = torch.device(device)
        if self._features is not None:
            self._features.model.to(self.device)
        return self

    @property
    def features(self) -> PatchFeatures:
        """The feature extractor (loads the backbone on first use)."""
        if self._features is None:
            c = self.config
            model, spec, record = load_backbone(c.backbone, c.weights, c.allow_download,
                                                c.fallback, c.input_size)
            input_size = c.input_size
            if input_size % spec.stride:  # a fallback with another stride
                input_size = max(spec.stride, round(input_size / spec.stride) * spec.stride)
            self._features = PatchFeatures(model.to(self.device), spec, c.features, input_size)
            self._weights = record
        return self._features

    def record(self) -> dict[str, Any]:
        """What NSC runs with, for the run record (loads the backbone if needed)."""
        feats = self.features
        return {"backbone": feats.spec.name, "weights_source": self._weights.weights_source,
                "path": self._weights.path, "requested": self._weights.requested,
                "detail": self._weights.detail, "features": feats.describe(),
                "input_size": feats.input_size, "grid": feats.grid,
                "config": asdict(self.config), "eigensolver": self.eigensolver()}

    def eigensolver(self) -> str:
        """How the configured solver runs (for the record; not part of :meth:`key`)."""
        if self.config.solver == "eigsh" and self._batches():
            return (f"eigsh: batched on the backbone's device (dense eigh up to "
                    f"{DENSE_MAX_NODES} nodes, block Krylov above, ARPACK for any graph "
                    "that does not converge)")
        return f"{self.config.solver}: one graph at a time"

    def _batches(self) -> bool:
        return self.batched if self.batched is not None else self.device.type != "cpu"

    def key(self) -> str:
        """A hash of everything that determines the masks (settings, backbone, weights)."""
        rec = self.record()
        text = json.dumps({k: rec[k] for k in ("backbone", "weights_source", "path", "features",
                                                "input_size", "config")}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def set_backbone(self, model: torch.nn.Module, record: WeightsRecord) -> None:
        """Use ``model`` as the requested backbone (one trained here, e.g. the local DINO ViT),
        with ``record`` saying where it came from."""
        spec = backbone(self.config.backbone)
        self._features = PatchFeatures(model.eval().to(self.device), spec, self.config.features,
                                       self.config.input_size)
        self._weights = record
        self._anchor_features, self._anchor_grams = {}, {}

    # -- anchors -------------------------------------------------------------------------

    def set_anchors(self, anchors: torch.Tensor | None) -> None:
        """Per channel an anchor field ``[C, h, w]`` on [0, 1] (None: each image's own first
        field)."""
        self._anchors = None if anchors is None else anchors.detach().float().cpu()
        self._anchor_features, self._anchor_grams = {}, {}

    def _anchor(self, channel: int) -> torch.Tensor:
        if channel not in self._anchor_features:
            tile = self._anchors[channel][None, None]
            feats = self.features(tile)[0]
            self._anchor_features[channel] = feats.reshape(-1, feats.shape[-1])
        return self._anchor_features[channel]

    def _anchor_gram(self, channel: int) -> np.ndarray | None:
        """The set anchor's Gram block for the CPU path (None without set anchors: each image
        is its own anchor)."""
        if self._anchors is None or self.reference or self.config.solver != "eigsh":
            return None
        if channel not in self._anchor_grams:
            self._anchor_grams[channel] = anchor_gram(self._anchor(channel).cpu())
        return self._anchor_grams[channel]

    # -- masks ---------------------------------------------------------------------------

    def tiles(self, height: int, width: int) -> list[tuple[int, int, int, int]]:
        """The fields of an image: ``(top, left, height, width)``, side by side (no overlap but
        that of the last field of a row or column, flush with the border)."""
        th, tw = min(self.config.fov, height), min(self.config.fov, width)
        return [(y, x, th, tw) for y in tile_starts(height, self.config.fov)
                for x in tile_starts(width, self.config.fov)]

    @torch.inference_mode()
    def cluster(self, images: torch.Tensor) -> list[list[dict[str, Any]]]:
        """Synchronised patch labels, per image and channel: dicts with ``labels`` (per field,
        ``[g, g]``), ``intensity`` (per field, ``[g, g]``), ``anchor`` (the anchor's labels)
        and ``raw`` (per field, the labels before synchronisation)."""
        images = images.detach().float()
        if images.dim() != 4:
            raise ValueError(f"images must be [B, C, H, W], got {tuple(images.shape)}.")
        b, c, h, w = images.shape
        tiles = self.tiles(h, w)
        crops = torch.stack([images[:, :, y:y + th, x:x + tw] for y, x, th, tw in tiles], 2)
        flat = crops.reshape(b * c * len(tiles), 1, *crops.shape[-2:])
        feats = self.features(flat)  # every field of every image and channel in one pass
        g = feats.shape[1]
        feats = feats.reshape(b, c, len(tiles), g * g, -1)
        intensity = F.adaptive_avg_pool2d(flat.cpu(), g).reshape(b, c, len(tiles), g, g)
        anchors = torch.stack([torch.stack([
            self._anchor(j) if self._anchors is not None else feats[i, j, 0] for j in range(c)])
            for i in range(b)])  # [b, c, n_a, D]
        joints = self._joint_clusterings(anchors, feats)
        out = []
        for i in range(b):
            per_channel = []
            for j in range(c):
                joint = joints[i][j]
                per_channel.append({
                    "labels": [lab.reshape(g, g) for lab in joint.fields],
                    "raw": [lab.reshape(g, g) for lab in joint.raw_fields],
                    "intensity": [t.numpy() for t in intensity[i, j]],
                    "anchor": joint.anchor})
            out.append(per_channel)
        return out

    def _joint_clusterings(self, anchors: torch.Tensor, feats: torch.Tensor) -> list[list[Any]]:
        """Per image and channel, the synchronised clustering of its fields with its anchor
        (anchors ``[b, c, n_a, D]``, fields ``[b, c, t, n_s, D]``)."""
        cfg = self.config
        b, c, t = feats.shape[:3]
        n_a = anchors.shape[2]
        # One BLAS/OpenMP thread for k-means and ARPACK: the matrices are small (2 n_p <= a few
        # thousand), and on a busy 2-core machine multithreaded BLAS ran 10-100x slower
        # (measured).
        if cfg.solver == "eigsh" and self._batches():
            flat_anchors = anchors[:, :, None].expand(b, c, t, *anchors.shape[2:])
            values, vectors, _ = spectral_embeddings(
                flat_anchors.reshape(b * c * t, *anchors.shape[2:]),
                feats.reshape(b * c * t, *feats.shape[3:]), cfg.r, cfg.seed)
            values = values.reshape(b, c, t, -1)
            vectors = vectors.reshape(b, c, t, *vectors.shape[1:])
            with threadpool_limits(limits=1):
                return [[cluster_embeddings(n_a, list(vectors[i, j]), list(values[i, j]), cfg.k,
                                            cfg.seed, cfg.n_init) for j in range(c)]
                        for i in range(b)]
        anchors, feats = anchors.cpu(), feats.cpu()
        with threadpool_limits(limits=1):
            return [[cluster_fields(anchors[i, j], list(feats[i, j]), cfg.r, cfg.k, cfg.solver,
                                    cfg.seed, cfg.n_init, self.reference, self._anchor_gram(j))
                     for j in range(c)] for i in range(b)]

    @torch.inference_mode()
    def masks(self, images: torch.Tensor) -> torch.Tensor:
        """Binary structure masks ``[B, C, H, W]`` (bool) of images ``[B, C, H, W]`` on [0, 1]."""
        b, c, h, w = images.shape
        tiles = self.tiles(h, w)
        clustered = self.cluster(images)
        out = torch.zeros(b, c, h, w, dtype=torch.bool)
        for i in range(b):
            for j in range(c):
                res = clustered[i][j]
                labels = np.stack(res["labels"])
                fg = bright_clusters(labels.ravel(), np.stack(res["intensity"]).ravel(),
                                     self.config.top)
                patch_fg = torch.from_numpy(np.isin(labels, fg)).float()  # [fields, g, g]
                total = torch.zeros(h, w)
                count = torch.zeros(h, w)
                for (y, x, th, tw), mask in zip(tiles, patch_fg):
                    up = F.interpolate(mask[None, None], size=(th, tw), mode="bilinear",
                                       align_corners=False)[0, 0]
                    total[y:y + th, x:x + tw] += up
                    count[y:y + th, x:x + tw] += 1
                out[i, j] = total / count >= 0.5
        return out.to(images.device)
