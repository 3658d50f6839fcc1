"""Sampling quality against cost for a trained diffusion model (``palette`` by default).

Trains a smoke model with small settings (or loads a finished run folder with ``--run``), then
samples the same test fields, from the same initial noise, with:

- the ancestral DDPM sampler over the full training schedule (the paper's sampler);
- DDIM with 250, 100, 50, 25 and 10 steps (eta = 0);
- DPM-Solver++ (2nd order multistep) with 50, 25 and 10 steps;

and reports, for each, PCC and SSIM against the real fluorescence (the harness's metric
protocol), their difference to the full sampler, the network evaluations and seconds per image.
Writes JSON and a PNG of quality against network evaluations:

    python benchmarks/sampling_quality.py [--quick] [--run results/runs/...] [--method palette]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine, print_table, write_json  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="palette", help="a diffusion method plugin")
    parser.add_argument("--run", type=Path, default=None,
                        help="a completed run folder (config.json, checkpoint.pt) to load "
                             "instead of training")
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--data-root", type=Path, default=REPO / "datasets")
    parser.add_argument("--image-size", type=int, default=64, help="when training here")
    parser.add_argument("--epochs", type=int, default=30, help="when training here")
    parser.add_argument("--max-train-images", type=int, default=0, help="0: all (training here)")
    parser.add_argument("--timesteps", type=int, default=0,
                        help="training schedule length when training here (0: the preset's)")
    parser.add_argument("--beta-end", type=float, default=0.0,
                        help="last beta when training here (0: the preset's); a short schedule "
                             "needs a larger one to end in pure noise")
    parser.add_argument("--n-test", type=int, default=16, help="test fields to sample")
    parser.add_argument("--ddim-steps", type=int, nargs="*", default=[250, 100, 50, 25, 10])
    parser.add_argument("--dpm-steps", type=int, nargs="*", default=[50, 25, 10])
    parser.add_argument("--ddpm-steps", type=int, nargs="*", default=[100, 50, 20],
                        help="ancestral sampling on a subsequence of the schedule")
    parser.add_argument("--split", choices=("val", "test"), default="test",
                        help="the fields to sample: choose a default sampler on val, report test")
    parser.add_argument("--quick", action="store_true",
                        help="32 px, 200-step schedule (beta_end 0.1), 6 epochs on 32 images, "
                             "4 test fields, fewer samplers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--output", type=Path, default=RESULTS / "sampling_quality.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.image_size, args.epochs, args.max_train_images, args.timesteps = 32, 6, 32, 200
        args.beta_end = 0.1
        args.n_test, args.ddim_steps, args.dpm_steps, args.ddpm_steps = 4, [50, 10], [10], [20]
    return args


def train_here(args: argparse.Namespace):
    """Train the method with the smoke preset and the script's small settings (the engine's
    training loop, without its evaluation of the whole test part)."""
    from rich.console import Console

    from vsbench.data.torch_dataset import PairedImageDataset
    from vsbench.engine import (RunRequest, build_data, create_method, plan_run, seed_everything,
                                train)
    from vsbench.layout import dataset_folder

    overrides = {"image_size": args.image_size, "epochs": args.epochs,
                 "max_train_images": args.max_train_images, "tensorboard": False}
    if args.timesteps:
        overrides["num_train_timesteps"] = args.timesteps
    if args.beta_end:
        overrides["beta_end"] = args.beta_end
    plan = plan_run(RunRequest(method=args.method, dataset=args.dataset, seed=args.seed,
                               overrides=overrides, data_root=args.data_root, device=args.device))
    seed_everything(args.seed)
    run = plan.resolved.run
    data, _ = build_data(plan)
    method = create_method(args.method, plan.source.info, "smoke", overrides)
    method.to(plan.device)
    method.prepare(data, plan.device, dataset_folder(args.data_root, args.dataset).method_cache)
    train(method, data, run, plan.device, args.seed, Console(stderr=True))
    return method, plan, PairedImageDataset(data.source, _ids(plan, args.split), run.image_size)


def _ids(plan, split: str) -> list[str]:
    return plan.split.ids("val") if split == "val" else plan.test_ids


def load_method(run_folder: Path, data_root: Path, split: str = "test", device: str = "cpu"):
    """The trained method of a run folder, its run plan and the fields to sample."""
    from vsbench.data.torch_dataset import PairedImageDataset
    from vsbench.engine import load_trained

    trained = load_trained(run_folder, device, data_root=data_root)
    plan = trained.plan
    size = plan.resolved.run.image_size
    return trained.method, plan, PairedImageDataset(plan.source.for_run(size, plan.data_root),
                                                    _ids(plan, split), size)


def measure(method, batch: dict, kind: str, steps: int, seed: int, channels) -> dict:
    """Sample ``batch`` with one sampler; its metrics and cost."""
    import torch

    from vsbench.diffusion.schedule import make_scheduler
    from vsbench.method import predicted_image
    from vsbench.metrics import MetricAccumulator

    p = method.params
    method.sampler = make_scheduler(kind, num_train_timesteps=p.num_train_timesteps,
                                    beta_start=p.beta_start, beta_end=p.beta_end,
                                    clip_sample=p.clip_sample, prediction_type=p.prediction)
    p.sample_steps = steps
    # The same initial noise for every sampler; predict() is the method's whole inference (the
    # mask-guided methods' refinement rounds included), as the engine calls it.
    torch.manual_seed(seed)
    start = time.perf_counter()
    with torch.inference_mode():
        pred = predicted_image(method.predict(batch))
    seconds = time.perf_counter() - start
    metrics = MetricAccumulator(channels)
    metrics.update(pred, batch["fluorescence"], [str(i) for i in range(pred.shape[0])])
    average = metrics.compute()["average"]
    n = pred.shape[0]
    # Mask-guided methods sample once from noise, then re-run the last start_fraction of the
    # schedule once per refinement round.
    rounds = getattr(p, "refine_rounds", 0)
    evaluations = steps + rounds * round(steps * getattr(p, "start_fraction", 0.0))
    return {"sampler": kind, "steps": steps, "network_evaluations": evaluations,
            "pcc": average["pcc"], "ssim": average["ssim"],
            "seconds_per_image": seconds / n}


def plot(rows: list[dict], path: Path, title: str) -> None:
    """PCC and SSIM against network evaluations (log scale), one line per sampler."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, metric in zip(axes, ("pcc", "ssim")):
        for kind, marker in (("ddpm", "o"), ("ddim", "s"), ("dpm", "^")):
            part = sorted((r for r in rows if r["sampler"] == kind),
                          key=lambda r: r["network_evaluations"])
            if part:
                ax.plot([r["network_evaluations"] for r in part], [r[metric] for r in part],
                        marker=marker, label={"ddpm": "DDPM (ancestral)", "ddim": "DDIM",
                                              "dpm": "DPM-Solver++"}[kind])
        ax.set_xscale("log")
        ax.set_xlabel("network evaluations per image")
        ax.set_ylabel(metric.upper())
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import torch

    from vsbench.engine import to_device

    train_start = time.perf_counter()
    method, plan, test = (load_method(args.run, args.data_root, args.split, args.device)
                          if args.run
                          else train_here(args))
    train_seconds = None if args.run else time.perf_counter() - train_start
    n = min(args.n_test, len(test))
    loader = torch.utils.data.DataLoader(test, batch_size=n, shuffle=False)
    batch = to_device(next(iter(loader)), plan.device)
    channels = plan.source.info.channels
    full = method.params.num_train_timesteps
    plan_rows = [("ddpm", full)] + [("ddpm", s) for s in args.ddpm_steps if s < full] + \
                [("ddim", s) for s in args.ddim_steps if s <= full] + \
                [("dpm", s) for s in args.dpm_steps if s <= full]
    rows = []
    for kind, steps in plan_rows:
        rows.append(measure(method, batch, kind, steps, args.seed, channels))
        r = rows[-1]
        print(f"{kind} {steps}: pcc {r['pcc']:.4f} ssim {r['ssim']:.4f} "
              f"{r['seconds_per_image']:.3f} s/image", flush=True)
    ref = rows[0]
    for r in rows:
        r["pcc_minus_full"] = r["pcc"] - ref["pcc"]
        r["ssim_minus_full"] = r["ssim"] - ref["ssim"]
        r["speedup_vs_full"] = ref["seconds_per_image"] / r["seconds_per_image"]
    name = plan.request.method  # the run's method with --run, else --method
    print_table(f"{name}: sampling quality vs cost ({n} {args.split} fields, "
                f"{plan.resolved.run.image_size} px)",
                ["sampler", "steps", "PCC", "SSIM", "dPCC", "dSSIM", "s/image", "speed-up"],
                [(r["sampler"], r["steps"], r["pcc"], r["ssim"], r["pcc_minus_full"],
                  r["ssim_minus_full"], r["seconds_per_image"], r["speedup_vs_full"])
                 for r in rows])
    record = {"benchmark": "sampling_quality", "method": name, "dataset": plan.request.dataset,
              "split": args.split,
              "image_size": plan.resolved.run.image_size, "n_test_images": n,
              "run": str(args.run) if args.run else "trained here",
              "train_settings": None if args.run else {
                  "epochs": args.epochs, "max_train_images": args.max_train_images,
                  "num_train_timesteps": method.params.num_train_timesteps,
                  "train_seconds": train_seconds},
              "method_params": {k: v for k, v in vars(method.params).items()
                                if k not in ("sampler", "sample_steps")},
              "machine": machine(), "rows": rows}
    write_json(args.output, record)
    plot(rows, args.output.with_suffix(".png"),
         f"{name} on {plan.request.dataset}, {n} {args.split} fields at "
         f"{record['image_size']} px")
    return record


if __name__ == "__main__":
    main()
