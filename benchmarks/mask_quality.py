"""Mask quality: IoU of every mask source against the synthetic renderer's true structures.

For the validation images of the synthetic dataset (its renderer knows, per channel, the
structure each stain sits on: ``SyntheticSource.structure``), each mask source segments

- the ground-truth fluorescence images, and
- the unguided first estimates of trained ``palette`` checkpoints (``--checkpoints``: the images
  a guided method actually segments at inference; sampled with seed 0, as
  ``mask_guidance_val.py`` does),

and the intersection over union with the true structure masks (resampled to the run size by
area averaging, foreground where at least half a pixel is structure) is averaged over images,
per channel. Sources: ``otsu`` (global Otsu), ``local`` (palette-threshold's adaptive
threshold; ``local:BLOCK:FLOOR`` with other settings), ``nsc`` (diffstain's NSC with the
offline backbone it falls back to here), and
``nsc:BACKBONE[=WEIGHTS]`` for other backbones.

    python benchmarks/mask_quality.py --data-root datasets \
        --checkpoints v=PATH/checkpoint.pt,epsilon=PATH/checkpoint.pt \
        --out benchmarks/results/mask_quality.json

``--dataset synthetic-hard --image-size 256`` measures the harder regime (imaging faults, 256 px
fields: NSC splits each into several 224 px fields of view).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table, write_json  # noqa: E402

from vsbench.data.normalise import resize  # noqa: E402
from vsbench.data.splits import load_or_create_split  # noqa: E402
from vsbench.data.torch_dataset import PairedImageDataset  # noqa: E402
from vsbench.diffusion.params import DiffusionParams  # noqa: E402
from vsbench.engine import create_method  # noqa: E402
from vsbench.engine.checkpointing import load_method_state  # noqa: E402
from vsbench.layout import dataset_folder  # noqa: E402
from vsbench.plugins import default_registry  # noqa: E402


def iou(masks: torch.Tensor, truth: torch.Tensor) -> np.ndarray:
    """Per image and channel IoU ``[B, C]`` (1 where both are empty)."""
    inter = (masks & truth).flatten(2).sum(-1).float()
    union = (masks | truth).flatten(2).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union)).numpy()


def mask_source(kind: str, info, registry, train):
    """A method whose ``structure_masks`` is the source ``kind``."""
    if kind in ("otsu", "local") or kind.startswith("local:"):
        name, *settings = kind.split(":")  # local:BLOCK:FLOOR
        overrides = {"threshold": name}
        if settings:
            overrides.update(threshold_block=int(settings[0]), threshold_floor=float(settings[1]))
        return create_method("palette-threshold", info, "smoke", overrides, registry)
    if kind == "nsc" or kind.startswith("nsc:"):
        overrides = {}
        if ":" in kind:
            name, _, weights = kind.split(":", 1)[1].partition("=")
            overrides["nsc.backbone"] = name
            if weights:
                overrides["nsc.weights"] = weights
        method = create_method("diffstain", info, "smoke", overrides, registry)
        method.prepare(train, torch.device("cpu"))
        return method
    raise SystemExit(f"unknown mask source {kind}")


def first_estimates(checkpoint: Path, info, registry, batch, seed: int) -> torch.Tensor:
    """The unguided Palette samples of ``batch`` from ``checkpoint`` (seeded)."""
    config = checkpoint.parent / "config.json"
    trained = json.loads(config.read_text())["method_params"] if config.is_file() else {}
    keys = {f.name for f in dataclasses.fields(DiffusionParams)}
    method = create_method("palette", info, "smoke",
                           {k: v for k, v in trained.items() if k in keys}, registry)
    load_method_state(checkpoint, method)
    torch.manual_seed(seed)
    with torch.inference_mode():
        return method.generate(batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=Path("datasets"))
    ap.add_argument("--sources", default="otsu,local,nsc")
    ap.add_argument("--checkpoints", default="", help="NAME=PATH,... of palette checkpoints")
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--dataset", default="synthetic",
                    help="synthetic, or synthetic-hard (the harder regime)")
    ap.add_argument("--max-images", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    registry = default_registry()
    source = registry.dataset(args.dataset).spec.factory(args.data_root)
    split = load_or_create_split(source.records(),
                                 dataset_folder(args.data_root, args.dataset).split_manifest)
    by_id = {r.sample_id: r for r in source.records()}
    val_ids = split.ids("val")[:args.max_images or None]
    size = args.image_size
    val = PairedImageDataset(source, val_ids, size)
    batch = torch.utils.data.default_collate([val[i] for i in range(len(val))])
    truth = torch.stack([resize(torch.from_numpy(source.structure(by_id[i]).astype(np.float32)),
                                size) >= 0.5 for i in val_ids])
    images = {"ground truth": batch["fluorescence"]}
    for item in filter(None, args.checkpoints.split(",")):
        name, _, path = item.partition("=")
        images[f"estimate ({name})"] = first_estimates(Path(path), source.info, registry,
                                                       batch, args.seed)
    train = PairedImageDataset(source, split.ids("train"), size)
    channels = list(source.info.channels)
    rows, record = [], []
    for kind in args.sources.split(","):
        method = mask_source(kind, source.info, registry, train)
        for what, imgs in images.items():
            start = time.perf_counter()
            masks = method.structure_masks(imgs.float()).cpu()
            seconds = time.perf_counter() - start
            values = iou(masks, truth)
            per_channel = dict(zip(channels, map(float, values.mean(0))))
            mean = float(values.mean())
            rows.append([kind, what, *per_channel.values(), mean, seconds / len(val_ids)])
            record.append({"source": kind, "images": what, "iou": per_channel,
                           "mean_iou": mean, "seconds_per_image": seconds / len(val_ids),
                           "foreground": float(masks.float().mean())})
            training = getattr(method, "backbone_training", None)
            if training:  # the DINO ViT trained here: its cost
                record[-1]["backbone_training"] = training
            print(rows[-1], flush=True)
    print_table(f"IoU with the true structures ({len(val_ids)} validation images, {size} px)",
                ["source", "images", *channels, "mean", "s/image"], rows)
    if args.out:
        write_json(args.out, {"machine": machine(), "n_images": len(val_ids), "size": size,
                              "dataset": args.dataset, "fingerprint": source.fingerprint(),
                              "truth_foreground":
                              dict(zip(channels, map(float, truth.float().mean((0, 2, 3))))),
                              "results": record})


if __name__ == "__main__":
    main()
