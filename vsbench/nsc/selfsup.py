"""An offline self-supervised ViT for NSC: a small ViT trained with DINO on the training split.

No DINO / DINOv2 weights can be downloaded here, so instead of the ImageNet CNN fallback NSC can
use a small ViT trained on the dataset itself with the DINO objective (Caron et al., ICCV 2021),
the self-supervision the paper's backbone had, on the training split's fluorescence channels
(each channel one single-plane image). The DINO pieces come from ``lightly``
(``DINOProjectionHead``, ``DINOLoss``, the momentum teacher and its cosine schedule); the ViT is
timm's ``VisionTransformer`` (patch 8, one input plane, dynamic image size so that the 224 px
fields of NSC use the position embedding learnt on 64 px crops, interpolated).

Augmentations, per single-channel image, drawn independently per view (these are views of one
image, not an input/target pair): a random resized crop (two global views of ``crop`` px over
40-100 % of the area, four local ones of ``crop // 2`` over 10-40 %), flips and right-angle
rotations, an intensity gain and gamma, and Gaussian blur on some views.

The weights are cached under the data root (``<dataset>/models/``, keyed by the training data's
fingerprint, the training ids, the image size and the settings), so a second run reloads them.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from vsbench import atomic
from vsbench.config import ConfigError
from vsbench.layout import MODEL_CACHE_DIR
from vsbench.nsc.config import NSCConfig

PATCH = 8
HEADS = 3
OUT_DIM = 1024  # DINO prototypes (the paper-scale 65536 is far too many for a few hundred images)


def settings(config: NSCConfig) -> dict[str, Any]:
    """The training settings that determine the weights (part of the cache key)."""
    return {"dim": config.ssl_dim, "depth": config.ssl_depth, "epochs": config.ssl_epochs,
            "crop": config.ssl_crop, "patch": PATCH, "heads": HEADS, "out_dim": OUT_DIM,
            "seed": config.seed, "objective": "dino (lightly)", "version": 1}


def build_vit(dim: int, depth: int, img_size: int = 64) -> torch.nn.Module:
    """The small ViT: patch 8, one input plane, dynamic image size; normalised as [0, 1] data
    centred at 0.5 (``pretrained_cfg`` mean / std, read by :class:`PatchFeatures`)."""
    from timm.models.vision_transformer import VisionTransformer

    model = VisionTransformer(img_size=img_size, patch_size=PATCH, in_chans=1, num_classes=0,
                              embed_dim=dim, depth=depth, num_heads=HEADS, mlp_ratio=2.0,
                              dynamic_img_size=True)
    model.pretrained_cfg = {"mean": (0.5,), "std": (0.5,)}
    return model


def _view(image: torch.Tensor, size: int, scale: tuple[float, float],
          g: torch.Generator) -> torch.Tensor:
    """One augmented view ``[1, size, size]`` of a single-channel image ``[1, H, W]``."""
    h, w = image.shape[-2:]
    area = (scale[0] + (scale[1] - scale[0]) * torch.rand((), generator=g)) * h * w
    side = int(min(h, w, max(4, round(float(area) ** 0.5))))
    y = int(torch.randint(0, h - side + 1, (), generator=g))
    x = int(torch.randint(0, w - side + 1, (), generator=g))
    crop = image[:, y:y + side, x:x + side][None]
    view = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False)[0]
    view = torch.rot90(view, int(torch.randint(0, 4, (), generator=g)), dims=(-2, -1))
    if torch.rand((), generator=g) < 0.5:
        view = view.flip(-1)
    gain = 0.6 + 0.8 * torch.rand((), generator=g)
    gamma = 0.7 + 0.6 * torch.rand((), generator=g)
    view = (view.clamp(0, 1) ** gamma * gain).clamp(0, 1)
    if torch.rand((), generator=g) < 0.3:  # blur: a 3x3 binomial filter
        kernel = torch.tensor([1.0, 2.0, 1.0])
        kernel = (kernel[:, None] * kernel[None]) / 16
        view = F.conv2d(F.pad(view[None], (1, 1, 1, 1), mode="replicate"),
                        kernel[None, None])[0]
    return view


def _views(batch: torch.Tensor, crop: int, g: torch.Generator) -> list[torch.Tensor]:
    """Two global and four local views of every image of ``batch`` ``[N, 1, H, W]``."""
    specs = [(crop, (0.4, 1.0))] * 2 + [(crop // 2, (0.1, 0.4))] * 4
    return [torch.stack([_view(img, size, scale, g) for img in batch]) for size, scale in specs]


class _Student(torch.nn.Module):
    def __init__(self, backbone: torch.nn.Module, dim: int) -> None:
        super().__init__()
        from lightly.models.modules import DINOProjectionHead

        self.backbone = backbone
        self.head = DINOProjectionHead(dim, 4 * dim, 64, OUT_DIM, freeze_last_layer=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def train_dino_vit(images: torch.Tensor, config: NSCConfig, batch_size: int = 32
                   ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train the small ViT with DINO on single-channel images ``[N, 1, H, W]`` on [0, 1];
    returns the teacher's backbone (as DINO evaluates) and a record (loss, seconds)."""
    try:
        from lightly.loss import DINOLoss
        from lightly.models.utils import deactivate_requires_grad, update_momentum
        from lightly.utils.scheduler import cosine_schedule
    except ImportError:
        raise ConfigError("--set nsc.backbone=vit_tiny_patch8.dino_local trains a ViT with "
                          "lightly, which is not installed: pip install -e '.[selfsup]'.") from None

    with torch.random.fork_rng(devices=[]):  # the run's own random numbers stay untouched
        torch.manual_seed(config.seed)
        student = _Student(build_vit(config.ssl_dim, config.ssl_depth, config.ssl_crop),
                           config.ssl_dim)
        # a second instance, not a deepcopy (the head's weight norm cannot be deep-copied)
        teacher = _Student(build_vit(config.ssl_dim, config.ssl_depth, config.ssl_crop),
                           config.ssl_dim)
        teacher.load_state_dict(student.state_dict())
        deactivate_requires_grad(teacher)
        loss_fn = DINOLoss(output_dim=OUT_DIM, warmup_teacher_temp_epochs=0)
        optimiser = torch.optim.AdamW(student.parameters(), lr=1e-3, weight_decay=0.04)
        g = torch.Generator().manual_seed(config.seed)
        steps_per_epoch = max(1, -(-len(images) // batch_size))
        total, step, losses = config.ssl_epochs * steps_per_epoch, 0, []
        start = time.perf_counter()
        for epoch in range(config.ssl_epochs):
            order = torch.randperm(len(images), generator=g)
            epoch_loss = 0.0
            for chunk in order.split(batch_size):
                views = _views(images[chunk], config.ssl_crop, g)
                momentum = cosine_schedule(step, total, 0.996, 1.0)
                update_momentum(student, teacher, m=momentum)
                teacher_out = [teacher(v) for v in views[:2]]  # the teacher sees global views
                student_out = [student(v) for v in views]
                loss = loss_fn(teacher_out, student_out, epoch=epoch)
                optimiser.zero_grad()
                loss.backward()
                student.head.cancel_last_layer_gradients(epoch)
                optimiser.step()
                epoch_loss += float(loss.detach()) / steps_per_epoch
                step += 1
            losses.append(round(epoch_loss, 5))
    backbone = teacher.backbone.eval()
    return backbone, {"loss_per_epoch": losses, "train_seconds": round(time.perf_counter()
                                                                        - start, 2),
                      "images": int(len(images))}


def cached_dino_vit(fluorescence: torch.Tensor, ids: list[str], fingerprint: str,
                    image_size: int, config: NSCConfig, cache_dir: Path | None
                    ) -> tuple[Path | None, dict[str, Any], torch.nn.Module]:
    """The small DINO ViT of a training split (``fluorescence`` ``[N, C, H, W]``): loaded from
    ``cache_dir/models/`` when trained before with the same data and settings, else trained
    (and cached when ``cache_dir`` is given). Returns the file, its record and the backbone."""
    key_fields = {"dataset": fingerprint, "ids": ids, "size": image_size,
                  "settings": settings(config)}
    key = hashlib.sha256(json.dumps(key_fields, sort_keys=True).encode()).hexdigest()[:16]
    path = None if cache_dir is None else Path(cache_dir) / MODEL_CACHE_DIR / f"dino-vit-{key}.pt"
    if path is not None and path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = build_vit(config.ssl_dim, config.ssl_depth, config.ssl_crop)
        model.load_state_dict(saved["state_dict"])
        return path, {**saved["record"], "cache": "reloaded"}, model.eval()
    images = fluorescence.reshape(-1, 1, *fluorescence.shape[-2:]).float()
    model, record = train_dino_vit(images, config)
    record = {**record, "key": key, "settings": settings(config), "dataset": fingerprint}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic.replacing(path) as tmp:  # a concurrent run never reads half a file
            torch.save({"state_dict": model.state_dict(), "record": record}, tmp)
    return path, {**record, "cache": "trained"}, model
