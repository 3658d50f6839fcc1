"""Choose the mask-guidance defaults on the validation split (not a test).

Loads a trained ``palette`` checkpoint (the network every mask-guided method trains is
Palette's), samples the unguided first estimate of every validation image once, then scores
mask guidance for a grid of start fractions, guides and refinement rounds, for each mask source:

- ``nsc``: diffstain's neural spectral clustering (the offline backbone available here);
- ``local``: palette-threshold's adaptive (local) threshold (``local:BLOCK:FLOOR``: with other
  settings); ``otsu``: its global Otsu option;
- ``zero``: the palette-zero-guide control (empty masks: a brightness reset only);
- ``oracle``: the palette-oracle-masks control (local-threshold masks of the ground truth).

Every guided setting starts from the same first estimate, and the same sampler noise per round
(seeded), so it is compared with the unguided estimate image by image: the table gives mean
PCC / SSIM / MSE over images and channels, the mean paired difference of the per-image Average
PCC against the unguided estimate, and the Wilcoxon signed-rank p of that difference.

    python benchmarks/mask_guidance_val.py results/runs/synthetic/palette/<run>/checkpoint.pt \
        --out benchmarks/results/mask_guidance_val_v.json

Options: ``--fractions 0.1,0.2,0.3,0.5 --guides mask --rounds 1,2
--sources nsc,local,otsu,zero,oracle --seed 0``. Same data root and smoke preset as the run.
``--mask-steps 0,0.2,0.5,0.8``: where the first round's masks come from (``mask_step``: 0, the
finished first estimate; f, the clean image predicted at step f (T - 1) of the same first
pass), each also scored by the IoU of its masks with the same source's masks of the real stain.
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
from _common import machine, write_json  # noqa: E402

from vsbench.config import resolve  # noqa: E402
from vsbench.data.splits import load_or_create_split  # noqa: E402
from vsbench.data.torch_dataset import PairedImageDataset  # noqa: E402
from vsbench.diffusion.forward import from_model_range  # noqa: E402
from vsbench.diffusion.guided import form_guide  # noqa: E402
from vsbench.diffusion.params import DiffusionParams  # noqa: E402
from vsbench.diffusion.sampling import predicted_x0  # noqa: E402
from vsbench.engine import create_method  # noqa: E402
from vsbench.engine.checkpointing import load_method_state  # noqa: E402
from vsbench.metrics import per_image_metrics  # noqa: E402
from vsbench.plugins import default_registry  # noqa: E402
from vsbench.stats import paired_p_value  # noqa: E402

# mask source -> (method, overrides)
SOURCES = {"nsc": ("diffstain", {}), "local": ("palette-threshold", {"threshold": "local"}),
           "otsu": ("palette-threshold", {"threshold": "otsu"}),
           "zero": ("palette-zero-guide", {}), "oracle": ("palette-oracle-masks", {})}


def per_image(pred: torch.Tensor, target: torch.Tensor) -> dict[str, np.ndarray]:
    """Per image, the mean over channels of each metric (the Average column, per image)."""
    values = per_image_metrics(pred.float().clamp(0, 1), target)
    return {m: v.nanmean(dim=1).numpy() for m, v in values.items()}


def summary(values: dict[str, np.ndarray], base: dict[str, np.ndarray] | None) -> dict:
    """Means, and the paired difference of per-image PCC against ``base``."""
    out = {m: float(np.nanmean(v)) for m, v in values.items()}
    if base is not None:
        import pandas as pd

        out["d_pcc"] = float(np.nanmean(values["pcc"] - base["pcc"]))
        out["d_ssim"] = float(np.nanmean(values["ssim"] - base["ssim"]))
        out["p_pcc"] = paired_p_value(pd.Series(values["pcc"]), pd.Series(base["pcc"]))
        out["p_ssim"] = paired_p_value(pd.Series(values["ssim"]), pd.Series(base["ssim"]))
    return out


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over channels of the IoU of two boolean mask stacks ``[B, C, H, W]`` (a channel
    empty in both counts 1)."""
    inter = (a & b).sum((0, 2, 3)).float()
    union = (a | b).sum((0, 2, 3)).float()
    return float(torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union)).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--data-root", type=Path, default=Path("datasets"))
    ap.add_argument("--fractions", default="0.1,0.2,0.3,0.5")
    ap.add_argument("--guides", default="mask")
    ap.add_argument("--rounds", default="1,2")
    ap.add_argument("--sources", default="nsc,local,otsu,zero,oracle")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mask-steps", default="0")
    ap.add_argument("--max-images", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args()

    registry = default_registry()
    source = registry.dataset("synthetic").spec.factory(args.data_root)
    split = load_or_create_split(source.records(), args.data_root / "synthetic" / "split.csv")
    # The network's settings as it was trained (config.json beside the checkpoint), so that a
    # preset changed since cannot build a different network or schedule.
    config_file = args.checkpoint.parent / "config.json"
    trained = json.loads(config_file.read_text())["method_params"] if config_file.is_file() else {}
    keys = {f.name for f in dataclasses.fields(DiffusionParams)}
    base_overrides = {k: v for k, v in trained.items() if k in keys}
    methods = {}
    for kind in args.sources.split(","):
        if kind.startswith("local:"):  # local:BLOCK:FLOOR, other threshold settings
            _, block, floor = kind.split(":")
            name, extra = "palette-threshold", {"threshold": "local",
                                                "threshold_block": int(block),
                                                "threshold_floor": float(floor)}
        else:
            name, extra = SOURCES[kind]
        spec = registry.method(name).spec
        overrides = {**base_overrides, **extra}
        size = resolve(spec.params, spec.presets, "smoke", overrides).run.image_size
        method = create_method(name, source.info, "smoke", overrides, registry)
        load_method_state(args.checkpoint, method)
        method.prepare(PairedImageDataset(source, split.ids("train"), size), torch.device("cpu"))
        methods[kind] = method
    val_ids = split.ids("val")[:args.max_images or None]
    val = PairedImageDataset(source, val_ids, size)
    batch = torch.utils.data.default_collate([val[i] for i in range(len(val))])
    target = batch["fluorescence"]
    base = next(iter(methods.values()))

    mask_steps = sorted(map(float, args.mask_steps.split(",")))
    early: dict[float, torch.Tensor] = {}
    at = {s: s * (base.sampler.config.num_train_timesteps - 1) for s in mask_steps if s > 0}

    def view(t, y, output):  # the clean image predicted at each wanted early step
        for s, step in at.items():
            if s not in early and int(t) <= step:
                early[s] = from_model_range(predicted_x0(base.sampler, y, output, t)).clamp(0, 1)

    torch.manual_seed(args.seed)
    start = time.perf_counter()
    with torch.inference_mode():
        first = base.generate({**batch, "masks": None}, on_step=view)
    unguided = per_image(first, target)
    results = {"unguided": summary(unguided, None), "settings": []}
    print(f"prediction={trained.get('prediction')} unguided: {results['unguided']} "
          f"[{time.perf_counter() - start:.1f} s]", flush=True)
    rounds_wanted = sorted(map(int, args.rounds.split(",")))
    for kind, method in methods.items():
        real = method.guide_masks(batch, target)
        for mask_step in mask_steps:
            start = time.perf_counter()
            masks1 = method.guide_masks(batch, early.get(mask_step, first))
            iou = mask_iou(masks1, real)
            results.setdefault("mask_iou", []).append({"source": kind, "mask_step": mask_step,
                                                       "iou_with_real_stain_masks": iou})
            print(f"{kind} mask_step={mask_step}: masks in {time.perf_counter() - start:.1f} s, "
                  f"IoU with the real stain's {iou:.3f}, foreground fraction per channel "
                  f"{[round(float(f), 3) for f in masks1.float().mean((0, 2, 3))]}", flush=True)
            for fraction in map(float, args.fractions.split(",")):
                for guide in args.guides.split(","):
                    estimate, masks = first, masks1
                    for rounds in range(1, rounds_wanted[-1] + 1):
                        if rounds > 1:
                            masks = method.guide_masks(batch, estimate)
                        torch.manual_seed(args.seed + rounds)  # same noise for every setting
                        with torch.inference_mode():
                            estimate = method.generate({**batch, "masks": None},
                                                       start=form_guide(masks, estimate, guide),
                                                       start_fraction=fraction)
                        if rounds in rounds_wanted:
                            s = summary(per_image(estimate, target), unguided)
                            results["settings"].append({"source": kind, "start_fraction": fraction,
                                                        "guide": guide, "rounds": rounds,
                                                        "mask_step": mask_step, **s})
                            print(f"{kind} mask_step={mask_step} start_fraction={fraction} "
                                  f"guide={guide} rounds={rounds}:"
                                  f" PCC {s['pcc']:.4f} SSIM {s['ssim']:.4f} MSE {s['mse']:.4f}"
                                  f" dPCC {s['d_pcc']:+.4f} (p {s['p_pcc']:.2g}) dSSIM "
                                  f"{s['d_ssim']:+.4f} (p {s['p_ssim']:.2g})", flush=True)
    if args.out:
        write_json(args.out, {"machine": machine(), "checkpoint": str(args.checkpoint),
                              "trained": trained, "n_images": len(val_ids), **results})


if __name__ == "__main__":
    main()
