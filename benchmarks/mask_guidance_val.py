"""Choose the mask-guidance defaults on the validation split (not a test).

Loads a trained ``palette`` checkpoint (the network diffstain and palette-threshold train is
Palette's), samples the unguided first estimate of every validation image once, then scores
mask guidance for a grid of start fractions, guides and refinement rounds with NSC masks and
with thresholded masks, and prints mean PCC and SSIM over the validation images and channels.

    python benchmarks/mask_guidance_val.py results/runs/synthetic/palette/<run>/checkpoint.pt

Options: ``--fractions 0.2,0.35,0.5,0.7 --guides mask,levels,product --rounds 1,2
--sources nsc,threshold --seed 0``. Same data root and smoke preset as the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import time
from pathlib import Path

import torch

from vsbench.config import resolve
from vsbench.data.splits import load_or_create_split
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.diffusion.guided import form_guide
from vsbench.diffusion.params import DiffusionParams
from vsbench.engine import create_method
from vsbench.engine.checkpointing import load_method_state
from vsbench.metrics import MetricAccumulator
from vsbench.plugins import default_registry


def score(pred: torch.Tensor, target: torch.Tensor, ids: list[str], channels) -> dict:
    acc = MetricAccumulator(channels)
    acc.update(pred.float(), target, ids, method="val")
    summary = acc.compute()
    return {"pcc": summary["average"]["pcc"], "ssim": summary["average"]["ssim"],
            "per_channel": {c: (v["pcc"], v["ssim"]) for c, v in summary["channels"].items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--data-root", type=Path, default=Path("datasets"))
    ap.add_argument("--fractions", default="0.2,0.35,0.5,0.7")
    ap.add_argument("--guides", default="mask,levels,product")
    ap.add_argument("--rounds", default="1,2")
    ap.add_argument("--sources", default="nsc,threshold")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-images", type=int, default=0)
    args = ap.parse_args()

    registry = default_registry()
    source = registry.dataset("synthetic").spec.factory(args.data_root)
    split = load_or_create_split(source.records(), args.data_root / "synthetic" / "split.csv")
    names = {"nsc": "diffstain", "threshold": "palette-threshold"}
    # The network's settings as it was trained (config.json beside the checkpoint), so that a
    # preset changed since cannot build a different network or schedule.
    config_file = args.checkpoint.parent / "config.json"
    trained = json.loads(config_file.read_text())["method_params"] if config_file.is_file() else {}
    methods = {}
    for kind in args.sources.split(","):
        keys = {f.name for f in dataclasses.fields(DiffusionParams)}
        overrides = {k: v for k, v in trained.items() if k in keys}
        spec = registry.method(names[kind]).spec
        size = resolve(spec.params, spec.presets, "smoke", overrides).run.image_size
        method = create_method(names[kind], source.info, "smoke", overrides, registry)
        load_method_state(args.checkpoint, method)
        train = PairedImageDataset(source, split.ids("train"), size)
        method.prepare(train, torch.device("cpu"))
        methods[kind] = method
    val_ids = split.ids("val")[:args.max_images or None]
    val = PairedImageDataset(source, val_ids, size)
    batch = torch.utils.data.default_collate([val[i] for i in range(len(val))])
    target, ids = batch["fluorescence"], list(val_ids)
    channels = source.info.channels
    base = next(iter(methods.values()))

    torch.manual_seed(args.seed)
    start = time.perf_counter()
    with torch.inference_mode():
        first = base.generate({**batch, "masks": None})
    print(f"unguided (palette): {score(first, target, ids, channels)}  "
          f"[{time.perf_counter() - start:.1f} s]", flush=True)
    for kind, method in methods.items():
        start = time.perf_counter()
        masks1 = method.structure_masks(first)
        print(f"{kind}: masks of the first estimate in {time.perf_counter() - start:.1f} s, "
              f"foreground fraction per channel "
              f"{[round(float(f), 3) for f in masks1.float().mean((0, 2, 3))]}", flush=True)
        for fraction, guide in itertools.product(map(float, args.fractions.split(",")),
                                                 args.guides.split(",")):
            estimate, masks = first, masks1
            for rounds in range(1, max(map(int, args.rounds.split(","))) + 1):
                if rounds > 1:
                    masks = method.structure_masks(estimate)
                torch.manual_seed(args.seed + rounds)
                with torch.inference_mode():
                    estimate = method.generate({**batch, "masks": None},
                                               start=form_guide(masks, estimate, guide),
                                               start_fraction=fraction)
                if str(rounds) in args.rounds.split(","):
                    s = score(estimate, target, ids, channels)
                    print(f"{kind} start_fraction={fraction} guide={guide} rounds={rounds}: "
                          f"PCC {s['pcc']:.4f} SSIM {s['ssim']:.4f}", flush=True)


if __name__ == "__main__":
    main()
