"""An offline self-supervised ViT for NSC: a small ViT trained with DINO on the training split.

No DINO / DINOv2 weights can be downloaded here, so instead of the ImageNet CNN fallback NSC can
use a small ViT trained on the dataset itself with the DINO objective (Caron et al., ICCV 2021),
the self-supervision the paper's backbone had, on the training split's fluorescence channels
(each channel one single-plane image). The DINO pieces come from ``lightly``
(``DINOProjectionHead``, ``DINOLoss``, the momentum teacher and its cosine schedule); the ViT is
timm's ``VisionTransformer`` (patch 8, one input plane, dynamic image size so that the 224 px
fields of NSC use the position embedding learnt on 64 px crops, interpolated).

Augmentations, per single-channel image, drawn independently per view (these are views of one
image, not an input/target pair): a random resized crop (:data:`RECIPE`: two global views of
``crop`` px over 60-100 % of the area, two local ones of ``crop // 2`` over 25-50 %), flips and
right-angle rotations, and Gaussian blur on some views (the former recipe also varied the
intensity gain and gamma; see :data:`RECIPE` for why no longer).

The weights are cached under the data root (``<dataset>/models/``, keyed by the training data's
fingerprint, the training ids, the image size and the settings), so a second run reloads them.
"""

from __future__ import annotations

import hashlib
import json
import math
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

# The DINO recipe (Caron et al. 2021, section 3 and appendix), scaled to a few hundred small
# images; schedules are fractions of the run's optimiser steps, so they hold for any
# ``ssl_epochs``. Version 1 (``RECIPE_V1``) collapsed: its loss settled at ln(1024) by epoch 5
# (the head's output constant, made uniform by the centring). In benchmarks/dino_recipe.py the
# DINO schedules alone (lr warm-up + cosine, teacher temperature 0.04 -> 0.07, weight decay
# 0.04 -> 0.4, clipping, 256 prototypes, momentum 0.99) still collapsed, and so did a KoLeo
# term and Sinkhorn centring; what stopped it:
# - no intensity gain / gamma between the views: on single-channel fluorescence, brightness is
#   most of what tells images apart, and asking for invariance to it left nothing to predict;
# - milder crops (2 global views over 60-100 % of the area, 2 local ones over 25-50 %);
# - batch norm in the projection head (DINO's ResNet head): it rescales the small differences
#   between images that a randomly initialised ViT makes;
# - inputs standardised with fluorescence-like statistics ((x - 0.1) / 0.2, also NSC's reading
#   through ``pretrained_cfg``): (x - 0.5) / 0.5 maps the dark background to a large constant
#   that made every image's token nearly the same (cosine 0.995 at initialisation; 0.70 now);
#   v1 trained on [0, 1] but was read on [-1, 1].
RECIPE: dict[str, Any] = {
    "out_dim": 256, "hidden_mult": 4, "bottleneck": 64, "batch_norm": True,
    "lr": 5e-4, "min_lr": 1e-6, "warmup": 0.1, "weight_decay": (0.04, 0.4), "clip": 3.0,
    "teacher_temp": (0.04, 0.07), "teacher_temp_warmup": 0.3, "student_temp": 0.1,
    "center_momentum": 0.9, "momentum": 0.99, "freeze_last_layer": 1, "input_norm": (0.1, 0.2),
    "batch_size": 32, "local_views": 2, "global_scale": (0.6, 1.0), "local_scale": (0.25, 0.5),
    "intensity": False,
}
# The former recipe (version 1, collapses), kept for the benchmark and the collapse test.
RECIPE_V1: dict[str, Any] = {
    **RECIPE, "out_dim": 1024, "lr": 1e-3, "min_lr": 1e-3, "warmup": 0.0,
    "weight_decay": (0.04, 0.04), "clip": None, "teacher_temp": (0.04, 0.04),
    "teacher_temp_warmup": 0.0, "momentum": 0.996, "input_norm": None, "decay_norms": True,
    "batch_norm": False, "local_views": 4, "global_scale": (0.4, 1.0), "local_scale": (0.1, 0.4),
    "intensity": True,
}


def settings(config: NSCConfig) -> dict[str, Any]:
    """The training settings that determine the weights (part of the cache key)."""
    return {"dim": config.ssl_dim, "depth": config.ssl_depth, "epochs": config.ssl_epochs,
            "crop": config.ssl_crop, "patch": PATCH, "heads": HEADS, "seed": config.seed,
            "objective": "dino (lightly)", "recipe": RECIPE, "version": 2}


def _cosine(step: int, total: int, start: float, end: float) -> float:
    """Cosine from ``start`` (step 0) to ``end`` (the last step)."""
    t = step / max(1, total - 1)
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * t))


def _lr(step: int, total: int, recipe: dict[str, Any]) -> float:
    """Linear warm-up to the peak over the first ``warmup`` of the steps, then cosine decay."""
    warm = int(recipe["warmup"] * total)
    if step < warm:
        return recipe["lr"] * (step + 1) / warm
    return _cosine(step - warm, total - warm, recipe["lr"], recipe["min_lr"])


def _teacher_temp(step: int, total: int, recipe: dict[str, Any]) -> float:
    """Linear from the first to the second temperature over ``teacher_temp_warmup``."""
    start, end = recipe["teacher_temp"]
    warm = recipe["teacher_temp_warmup"] * total
    return end if step >= warm else start + (end - start) * step / warm


def build_vit(dim: int, depth: int, img_size: int = 64) -> torch.nn.Module:
    """The small ViT: patch 8, one input plane, dynamic image size; its inputs normalised with
    :data:`RECIPE`'s ``input_norm`` (``pretrained_cfg`` mean / std, read by
    :class:`PatchFeatures`)."""
    from timm.models.vision_transformer import VisionTransformer

    model = VisionTransformer(img_size=img_size, patch_size=PATCH, in_chans=1, num_classes=0,
                              embed_dim=dim, depth=depth, num_heads=HEADS, mlp_ratio=2.0,
                              dynamic_img_size=True)
    mean, std = RECIPE["input_norm"]
    model.pretrained_cfg = {"mean": (mean,), "std": (std,)}
    return model


def _view(image: torch.Tensor, size: int, scale: tuple[float, float],
          g: torch.Generator, intensity: bool = True) -> torch.Tensor:
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
    if intensity:
        view = (view.clamp(0, 1) ** gamma * gain).clamp(0, 1)
    if torch.rand((), generator=g) < 0.3:  # blur: a 3x3 binomial filter
        kernel = torch.tensor([1.0, 2.0, 1.0])
        kernel = (kernel[:, None] * kernel[None]) / 16
        view = F.conv2d(F.pad(view[None], (1, 1, 1, 1), mode="replicate"),
                        kernel[None, None])[0]
    return view


def _views(batch: torch.Tensor, crop: int, g: torch.Generator, recipe: dict[str, Any]
           ) -> list[torch.Tensor]:
    """Two global and ``local_views`` local views of every image of ``batch`` ``[N, 1, H, W]``
    (crop area fractions ``global_scale`` and ``local_scale``)."""
    specs = ([(crop, tuple(recipe["global_scale"]))] * 2
             + [(crop // 2, tuple(recipe["local_scale"]))] * recipe["local_views"])
    return [torch.stack([_view(img, size, scale, g, recipe["intensity"])
                         for img in batch]) for size, scale in specs]


class _Student(torch.nn.Module):
    def __init__(self, backbone: torch.nn.Module, dim: int, recipe: dict[str, Any]) -> None:
        super().__init__()
        from lightly.models.modules import DINOProjectionHead

        self.backbone = backbone
        self.head = DINOProjectionHead(dim, recipe["hidden_mult"] * dim, recipe["bottleneck"],
                                       recipe["out_dim"], batch_norm=recipe["batch_norm"],
                                       freeze_last_layer=recipe["freeze_last_layer"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def _param_groups(model: torch.nn.Module, decay_norms: bool) -> list[dict[str, Any]]:
    """DINO's groups: weight decay on the weight matrices, none on biases and norms."""
    params = [p for p in model.parameters() if p.requires_grad]
    if decay_norms:
        return [{"params": params, "decay": True}]
    return [{"params": [p for p in params if p.ndim > 1], "decay": True},
            {"params": [p for p in params if p.ndim <= 1], "decay": False}]


def _student_and_teacher(config: NSCConfig, recipe: dict[str, Any]
                         ) -> tuple[_Student, _Student]:
    """The student and its momentum teacher, equal at the start; the teacher is not trained
    by gradients."""
    from lightly.models.utils import deactivate_requires_grad

    student = _Student(build_vit(config.ssl_dim, config.ssl_depth, config.ssl_crop),
                       config.ssl_dim, recipe)
    # a second instance, not a deepcopy (the head's weight norm cannot be deep-copied)
    teacher = _Student(build_vit(config.ssl_dim, config.ssl_depth, config.ssl_crop),
                       config.ssl_dim, recipe)
    teacher.load_state_dict(student.state_dict())
    deactivate_requires_grad(teacher)
    return student, teacher


def _schedule(optimiser: torch.optim.Optimizer, step: int, total: int,
              recipe: dict[str, Any]) -> None:
    """Set this step's learning rate and weight decay (none for the groups without decay)."""
    lr, wd = _lr(step, total, recipe), _cosine(step, total, *recipe["weight_decay"])
    for group in optimiser.param_groups:
        group["lr"], group["weight_decay"] = lr, wd if group["decay"] else 0.0


def train_dino_vit(images: torch.Tensor, config: NSCConfig, recipe: dict[str, Any] | None = None
                   ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train the small ViT with DINO on single-channel images ``[N, 1, H, W]`` on [0, 1]
    (``recipe``: :data:`RECIPE` unless given); returns the teacher's backbone (as DINO
    evaluates) and a record (loss per epoch, seconds)."""
    try:
        from lightly.loss import DINOLoss
        from lightly.models.utils import update_momentum
    except ImportError:
        raise ConfigError("--set nsc.backbone=vit_tiny_patch8.dino_local trains a ViT with "
                          "lightly, which is not installed: pip install -e '.[selfsup]'.") from None
    recipe = RECIPE if recipe is None else recipe
    batch_size = recipe["batch_size"]
    with torch.random.fork_rng(devices=[]):  # the run's own random numbers stay untouched
        torch.manual_seed(config.seed)
        student, teacher = _student_and_teacher(config, recipe)
        loss_fn = DINOLoss(output_dim=recipe["out_dim"], student_temp=recipe["student_temp"],
                           center_momentum=recipe["center_momentum"],
                           warmup_teacher_temp_epochs=0)
        optimiser = torch.optim.AdamW(_param_groups(student, recipe.get("decay_norms", False)),
                                      lr=recipe["lr"])
        g = torch.Generator().manual_seed(config.seed)
        steps_per_epoch = max(1, -(-len(images) // batch_size))
        total, step, losses = config.ssl_epochs * steps_per_epoch, 0, []
        start = time.perf_counter()
        for epoch in range(config.ssl_epochs):
            order = torch.randperm(len(images), generator=g)
            epoch_loss = 0.0
            for chunk in order.split(batch_size):
                if len(chunk) < 2:  # batch norm needs two images (a last batch of one)
                    continue
                views = _views(images[chunk], config.ssl_crop, g, recipe)
                if recipe["input_norm"]:  # as PatchFeatures reads the ViT for NSC
                    mean, std = recipe["input_norm"]
                    views = [(v - mean) / std for v in views]
                # the teacher stays in training mode: its head's batch norm uses batch statistics
                update_momentum(student, teacher,
                                m=_cosine(step, total, recipe["momentum"], 1.0))
                _schedule(optimiser, step, total, recipe)
                teacher_out = [teacher(v) for v in views[:2]]  # the teacher sees global views
                student_out = [student(v) for v in views]
                loss = loss_fn(teacher_out, student_out,
                               teacher_temp=_teacher_temp(step, total, recipe))
                optimiser.zero_grad()
                loss.backward()
                if recipe["clip"]:
                    torch.nn.utils.clip_grad_norm_(student.parameters(), recipe["clip"])
                student.head.cancel_last_layer_gradients(epoch)
                optimiser.step()
                epoch_loss += float(loss.detach()) / steps_per_epoch
                step += 1
            losses.append(round(epoch_loss, 5))
    backbone = teacher.backbone.eval()
    return backbone, {"loss_per_epoch": losses, "train_seconds": round(time.perf_counter()
                                                                        - start, 2),
                      "images": int(len(images)),
                      "uniform_loss": round(math.log(recipe["out_dim"]), 5)}


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
