"""The two baselines of issue 29 against what they are measured by: ``unext2`` beside ``unet``,
``flow-matching`` beside ``palette``.

Trains each method once at the smoke preset (seed 0, the default dataset, in this one process,
one after another with the same threads) with the engine's training loop, then on the
**validation** split (every field, the engine's evaluation batch size):

- ``--part regressors``: ``unet`` and ``unext2``: seconds per training epoch (the median of the
  epochs, and the mean), parameters, PCC / SSIM and seconds per image;
- ``--part generative``: ``flow-matching`` at 1, 2, 4 and 8 Euler steps (= network evaluations)
  and ``palette`` at its default 20 ancestral steps, every sampler from the same seed: PCC /
  SSIM of one sample per field, seconds per image, and the differences to palette.

    python benchmarks/new_baselines.py [--part regressors|generative|all] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine, print_table, write_json  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("regressors", "generative", "all"), default="all")
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--data-root", type=Path, default=REPO / "datasets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flow-steps", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs on 16 images at 32 px (checks the script, not the methods)")
    parser.add_argument("--output", type=Path, default=None,
                        help="default: results/new_baselines_<part>.json")
    return parser.parse_args(argv)


def overrides_for(args: argparse.Namespace) -> dict:
    base = {"tensorboard": False}
    if args.quick:
        base |= {"epochs": 2, "max_train_images": 16, "image_size": 32}
    return base


def train_method(name: str, args: argparse.Namespace):
    """Train ``name`` at the smoke preset; the method, its plan and its training state."""
    from rich.console import Console

    from vsbench.engine import RunRequest, build_data, create_method, plan_run, seed_everything
    from vsbench.engine import train
    from vsbench.layout import dataset_folder

    overrides = overrides_for(args)
    plan = plan_run(RunRequest(method=name, dataset=args.dataset, seed=args.seed,
                               overrides=overrides, data_root=args.data_root, device="cpu"))
    seed_everything(args.seed)
    run = plan.resolved.run
    data, _ = build_data(plan)
    method = create_method(name, plan.source.info, "smoke", overrides)
    method.to(plan.device)
    method.prepare(data, plan.device, dataset_folder(args.data_root, args.dataset).method_cache)
    state = train(method, data, run, plan.device, args.seed, Console(stderr=True))
    method.train(False)
    return method, plan, state


def validation_data(plan):
    """The validation fields at the run's size."""
    from vsbench.data.torch_dataset import PairedImageDataset

    run = plan.resolved.run
    return PairedImageDataset(plan.source.for_run(run.image_size, plan.data_root),
                              plan.split.ids("val"), run.image_size)


def evaluate(method, plan, seed: int) -> dict:
    """PCC / SSIM (averaged over channels) and seconds per image on the validation split."""
    import torch

    from vsbench.engine import to_device
    from vsbench.method import predicted_image
    from vsbench.metrics import MetricAccumulator

    data = validation_data(plan)
    loader = torch.utils.data.DataLoader(data, batch_size=plan.resolved.run.eval_batch_size,
                                         shuffle=False)
    metrics = MetricAccumulator(plan.source.info.channels)
    torch.manual_seed(seed)  # the same sampler noise for every setting
    seconds = 0.0
    for batch in loader:
        batch = to_device(batch, plan.device)
        start = time.perf_counter()
        with torch.inference_mode():
            pred = predicted_image(method.predict(batch)).float().clamp(0, 1)
        seconds += time.perf_counter() - start
        ids = [str(int(i)) for i in batch["index"]]
        metrics.update(pred, batch["fluorescence"], ids)
    average = metrics.compute()["average"]
    return {"pcc": average["pcc"], "ssim": average["ssim"], "mse": average["mse"],
            "n_images": len(data), "seconds_per_image": seconds / len(data)}


def epoch_seconds(state) -> dict:
    per_epoch = [entry["seconds"] for entry in state.log]
    return {"epochs": len(per_epoch), "train_seconds": round(state.seconds, 2),
            "seconds_per_epoch_median": statistics.median(per_epoch),
            "seconds_per_epoch_mean": statistics.fmean(per_epoch),
            "seconds_per_epoch": per_epoch}


def regressors(args: argparse.Namespace) -> dict:
    rows = {}
    for name in ("unet", "unext2"):
        method, plan, state = train_method(name, args)
        rows[name] = {"parameters": sum(p.numel() for p in method.model.parameters()),
                      **epoch_seconds(state), **evaluate(method, plan, args.seed)}
        print(f"{name}: {rows[name]['seconds_per_epoch_median']:.2f} s/epoch, pcc "
              f"{rows[name]['pcc']:.4f} ssim {rows[name]['ssim']:.4f}", flush=True)
    unet, unext2 = rows["unet"], rows["unext2"]
    comparison = {"pcc_unext2_minus_unet": unext2["pcc"] - unet["pcc"],
                  "ssim_unext2_minus_unet": unext2["ssim"] - unet["ssim"],
                  "epoch_seconds_ratio_unext2_to_unet":
                      unext2["seconds_per_epoch_median"] / unet["seconds_per_epoch_median"]}
    print_table("unext2 beside unet (smoke, validation split)",
                ["method", "params", "s/epoch (median)", "PCC", "SSIM", "s/image"],
                [(n, r["parameters"], r["seconds_per_epoch_median"], r["pcc"], r["ssim"],
                  r["seconds_per_image"]) for n, r in rows.items()])
    return {"methods": rows, "comparison": comparison}


def generative(args: argparse.Namespace) -> dict:
    from vsbench.diffusion.flow import network_evaluations

    flow, flow_plan, flow_state = train_method("flow-matching", args)
    rows = []
    for steps in args.flow_steps:
        flow.params.sample_steps = steps
        rows.append({"method": "flow-matching", "sampler": flow.params.sampler, "steps": steps,
                     "network_evaluations": network_evaluations(flow.params.sampler, steps),
                     **evaluate(flow, flow_plan, args.seed)})
        print(rows[-1], flush=True)
    palette, palette_plan, palette_state = train_method("palette", args)
    p = palette.params
    rows.append({"method": "palette", "sampler": p.sampler, "steps": p.sample_steps,
                 "network_evaluations": p.sample_steps,
                 **evaluate(palette, palette_plan, args.seed)})
    print(rows[-1], flush=True)
    ref = rows[-1]
    for r in rows:
        r["pcc_minus_palette"] = r["pcc"] - ref["pcc"]
        r["ssim_minus_palette"] = r["ssim"] - ref["ssim"]
        r["speedup_vs_palette"] = ref["seconds_per_image"] / r["seconds_per_image"]
    print_table("flow-matching beside palette (smoke, validation split, one sample per field)",
                ["method", "steps", "PCC", "SSIM", "dPCC", "dSSIM", "s/image", "speed-up"],
                [(r["method"], r["steps"], r["pcc"], r["ssim"], r["pcc_minus_palette"],
                  r["ssim_minus_palette"], r["seconds_per_image"], r["speedup_vs_palette"])
                 for r in rows])
    return {"rows": rows, "training": {"flow-matching": epoch_seconds(flow_state),
                                       "palette": epoch_seconds(palette_state)}}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    parts = ("regressors", "generative") if args.part == "all" else (args.part,)
    record = {}
    for part in parts:
        started = machine()
        result = regressors(args) if part == "regressors" else generative(args)
        record[part] = {"machine": started, "machine_after": machine(),
                        "settings": {"preset": "smoke", "seed": args.seed,
                                     "dataset": args.dataset, "split": "val",
                                     "overrides": overrides_for(args), "quick": args.quick},
                        **result}
        suffix = "_quick" if args.quick else ""
        output = args.output or RESULTS / f"new_baselines_{part}{suffix}.json"
        write_json(output if len(parts) == 1 or args.output is None
                   else output.with_name(f"{output.stem}_{part}.json"), record[part])
    return record


if __name__ == "__main__":
    main()
