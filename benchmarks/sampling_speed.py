"""Seconds per predicted image of a diffusion method, for each sampler, precision and size.

Speed only (the network is freshly initialised: quality is ``sampling_quality.py``'s job): for
each image size, builds the method with a preset (``paper``: the paper's network, width 64,
multipliers 1, 2, 4, 8; ``smoke``: the CPU network), and times ``method.predict`` on a batch of
the default dataset for the full ancestral sampler of the schedule (the paper's 2000 DDPM steps)
and for few-step samplers, in fp32 and under bf16 autocast (CUDA). Every sampler spends the same
time per step (one network evaluation; the scheduler's arithmetic is negligible), so a sampler
with more than ``--max-timed-steps`` steps is timed on that many and on half as many and
extrapolated along that line (recorded as ``timed_steps``): the full 2000-step chain at 512 px
would otherwise take most of a GPU lease.

    python benchmarks/sampling_speed.py --device cuda --preset paper --sizes 256 512
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine, print_table, write_json  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="*", default=["palette"])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--sizes", type=int, nargs="*", default=[256, 512])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--samplers", nargs="*",
                        default=["ddpm:full", "ddpm:20", "ddim:50", "ddim:20", "ddim:10",
                                 "dpm:20", "dpm:10"],
                        help="KIND:STEPS (full: the whole training schedule)")
    parser.add_argument("--max-timed-steps", type=int, default=100)
    parser.add_argument("--precisions", nargs="*", default=["fp32", "bf16"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-root", type=Path, default=REPO / "datasets")
    parser.add_argument("--quick", action="store_true",
                        help="smoke network, 32 px, batch 2, DDPM full and DDIM 10, fp32")
    parser.add_argument("--output", type=Path, default=None,
                        help="JSON path (default: results/sampling_speed_<device>.json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.preset, args.sizes, args.batch_size = "smoke", [32], 2
        args.samplers, args.precisions, args.max_timed_steps = ["ddpm:full", "ddim:10"], \
            ["fp32"], 10
    return args


def build(name: str, preset: str, size: int, batch_size: int, data_root: Path, device):
    """A freshly initialised method and one test batch on ``device``."""
    import torch

    from vsbench.data.torch_dataset import PairedImageDataset
    from vsbench.engine import RunRequest, create_method, plan_run, to_device

    plan = plan_run(RunRequest(dataset="synthetic", method=name, preset=preset, data_root=data_root,
                               overrides={"image_size": size}), device=device)
    torch.manual_seed(0)
    method = create_method(name, plan.source.info, preset, {"image_size": size})
    method.to(device)
    train = PairedImageDataset(plan.source, plan.train_ids[:batch_size], size)
    method.prepare(train, device)
    test = PairedImageDataset(plan.source, plan.test_ids[:batch_size], size)
    batch = next(iter(torch.utils.data.DataLoader(test, batch_size=batch_size)))
    method.train(False)
    return method, to_device(batch, device)


def time_sampler(method, batch, kind: str, steps: int, max_timed: int, bf16: bool,
                 device) -> dict:
    """Seconds per image of ``method.predict`` with one sampler.

    With more than ``max_timed`` steps, times ``max_timed`` and ``max_timed // 2`` steps and
    extrapolates the straight line through them: the per-step cost scales with the steps, a
    fixed cost (DiffStain's masks, once per image) does not."""
    import torch

    from vsbench.diffusion.schedule import make_scheduler

    p = method.params
    amp = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()

    def once(n_steps: int) -> float:
        method.sampler = make_scheduler(kind, num_train_timesteps=p.num_train_timesteps,
                                        beta_start=p.beta_start, beta_end=p.beta_end,
                                        clip_sample=p.clip_sample, prediction_type=p.prediction)
        p.sample_steps = n_steps
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode(), amp:
            method.predict(batch)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    timed = min(steps, max_timed)
    once(timed)  # warm-up: allocations, kernels, cuDNN autotuning
    seconds = once(timed)
    if steps > timed:
        short = max(timed // 2, 1)
        per_step = (seconds - once(short)) / (timed - short)
        seconds += per_step * (steps - timed)
    n = batch["brightfield"].shape[0]
    return {"sampler": kind, "steps": steps, "timed_steps": timed,
            "precision": "bf16" if bf16 else "fp32", "seconds_per_image": seconds / n}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import torch

    from vsbench.engine import select_device

    device = select_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    output = args.output or RESULTS / f"sampling_speed_{device.type}.json"
    rows = []
    for name in args.methods:
        for size in args.sizes:
            method, batch = build(name, args.preset, size, args.batch_size, args.data_root,
                                  device)
            full = method.params.num_train_timesteps
            for precision in args.precisions:
                if precision == "bf16" and device.type != "cuda":
                    continue
                for spec in args.samplers:
                    kind, steps = spec.split(":")
                    steps = full if steps == "full" else int(steps)
                    row = {"method": name, "image_size": size, "batch_size": args.batch_size,
                           **time_sampler(method, batch, kind, steps, args.max_timed_steps,
                                          precision == "bf16", device)}
                    rows.append(row)
                    print(row, flush=True)
                    # Written as it goes: a run cut off by a time limit keeps what it measured.
                    write_json(output, {"benchmark": "sampling_speed", "partial": True,
                                        "rows": rows})
            del method, batch
            if device.type == "cuda":
                torch.cuda.empty_cache()
    for row in rows:
        ref = next(r for r in rows if r["method"] == row["method"] and r["precision"] == "fp32"
                   and r["image_size"] == row["image_size"] and r["sampler"] == "ddpm"
                   and r["steps"] == max(x["steps"] for x in rows))
        row["speedup_vs_full_fp32"] = ref["seconds_per_image"] / row["seconds_per_image"]
    print_table(f"Seconds per image ({device}, {args.preset} preset, batch {args.batch_size}; "
                "speed-up against the full ancestral sampler in fp32)",
                ["method", "px", "sampler", "steps", "precision", "s/image", "speed-up"],
                [(r["method"], r["image_size"], r["sampler"], r["steps"], r["precision"],
                  r["seconds_per_image"], r["speedup_vs_full_fp32"]) for r in rows])
    record = {"benchmark": "sampling_speed", "device": str(device), "preset": args.preset,
              "max_timed_steps": args.max_timed_steps, "machine": machine(), "rows": rows}
    write_json(output, record)
    return record


if __name__ == "__main__":
    main()
