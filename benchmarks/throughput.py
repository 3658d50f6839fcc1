"""Training and prediction throughput per method, with and without each speed switch.

For each method (smoke preset, the run's image size), on one in-memory batch of the default
dataset (so that only compute is timed, not reading), measures:

- training images/s (loss, backward, AdamW step, the method's after-step hook) for the plain
  fp32 setting and with each switch: ``channels_last``, one CPU thread instead of all,
  ``torch.compile`` (``--compile``: slow to build on the CPU), and on CUDA bf16 autocast and
  ``cudnn.benchmark``;
- prediction images/s under ``torch.no_grad`` (plain) and ``torch.inference_mode``, with
  ``channels_last``, and for an inference batch of 1 against ``--batch-size``.

Each switch's gain is the ratio to the plain setting (>1 is faster). Switches that exist only
on CUDA are recorded as not applicable on the CPU.

    python benchmarks/throughput.py [--quick] [--methods unet dodnet palette] [--compile]
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
    parser.add_argument("--methods", nargs="*", default=["unet", "dodnet", "palette"])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-root", type=Path, default=REPO / "datasets")
    parser.add_argument("--preset", default="smoke",
                        help="the methods' preset (paper: the paper's network sizes, for a GPU)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a hyperparameter (repeatable), e.g. "
                        "--set sample_steps=10 to time a short sampler")
    parser.add_argument("--quick", action="store_true", help="32 px, 2 steps, best of 1")
    parser.add_argument("--output", type=Path, default=None,
                        help="JSON path (default: results/throughput_<device>_<size>px.json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.image_size, args.steps, args.repeats = 32, 2, 1
    return args


def build(name: str, args, device):
    """A fresh method (smoke preset) and one batch of training data on ``device``."""
    import torch

    from vsbench.data.torch_dataset import PairedImageDataset
    from vsbench.engine import RunRequest, create_method, plan_run, to_device

    import dataclasses

    from vsbench.config import RunConfig
    from vsbench.plugins import default_registry

    # --set applies to the methods that have the key (sample_steps: the diffusion methods).
    params = default_registry().method(name).spec.params
    known = {f.name for f in dataclasses.fields(params)} | \
        {f.name for f in dataclasses.fields(RunConfig)}
    overrides = {k: v for k, v in (item.split("=", 1) for item in args.overrides) if k in known}
    overrides = {**overrides, "image_size": args.image_size}
    plan = plan_run(RunRequest(dataset="synthetic",
                               method=name, preset=args.preset, overrides=overrides,
                               data_root=args.data_root), device=device)
    torch.manual_seed(0)
    method = create_method(name, plan.source.info, args.preset, overrides)
    method.to(device)
    data = PairedImageDataset(plan.source, plan.train_ids[:args.batch_size], args.image_size)
    method.prepare(data, device)
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=args.batch_size)))
    return method, to_device(batch, device)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _best_rate(fn, images: int, args, device) -> float:
    fn()  # warm-up (allocations, cuDNN autotuning, compilation)
    best = float("inf")
    for _ in range(args.repeats):
        _sync(device)
        start = time.perf_counter()
        for _ in range(args.steps):
            fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return images * args.steps / best


def train_rate(name: str, args, device, channels_last=False, threads=None, compile_=False,
               bf16=False, cudnn=False) -> float:
    """Training images per second for one setting."""
    import torch

    from vsbench.config import RunConfig
    from vsbench.engine import apply_speedups, to_device

    old_threads, old_cudnn = torch.get_num_threads(), torch.backends.cudnn.benchmark
    if threads:
        torch.set_num_threads(threads)
    try:
        method, batch = build(name, args, device)
        apply_speedups(method, RunConfig(channels_last=channels_last, compile=compile_,
                                         cudnn_benchmark=cudnn), device)
        batch = to_device(batch, device, channels_last)
        optimizer = torch.optim.AdamW(method.trainable_parameters(), lr=1e-4)
        method.train(True)
        amp = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()

        def step():
            with amp:
                loss = method.training_loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            method.after_optimizer_step()

        return _best_rate(step, args.batch_size, args, device)
    finally:
        torch.set_num_threads(old_threads)
        torch.backends.cudnn.benchmark = old_cudnn


def predict_rate(name: str, args, device, mode="no_grad", channels_last=False,
                 batch_size=None, bf16=False, cudnn=False) -> float:
    """Prediction images per second for one setting."""
    import torch

    from vsbench.config import RunConfig
    from vsbench.engine import apply_speedups, to_device

    old_cudnn = torch.backends.cudnn.benchmark
    method, batch = build(name, args, device)
    apply_speedups(method, RunConfig(channels_last=channels_last, cudnn_benchmark=cudnn), device)
    if batch_size:
        batch = {k: (v[:batch_size] if isinstance(v, torch.Tensor) else
                     {kk: vv[:batch_size] for kk, vv in v.items()} if isinstance(v, dict) else v)
                 for k, v in batch.items()}
    batch = to_device(batch, device, channels_last)
    method.train(False)
    context = torch.inference_mode if mode == "inference_mode" else torch.no_grad
    amp = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()

    def step():
        with context(), amp:
            method.predict(batch)

    try:
        return _best_rate(step, batch["brightfield"].shape[0], args, device)
    finally:
        torch.backends.cudnn.benchmark = old_cudnn


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import torch

    from vsbench.engine import select_device

    device = select_device(args.device)
    cuda = device.type == "cuda"
    threads = torch.get_num_threads()
    output = args.output or RESULTS / f"throughput_{device.type}_{args.image_size}px.json"
    rows = []
    for name in args.methods:
        base_train = train_rate(name, args, device)
        train_variants = {"channels_last": lambda: train_rate(name, args, device,
                                                              channels_last=True)}
        if not cuda and threads > 1:
            train_variants["1 thread (vs %d)" % threads] = lambda: train_rate(name, args, device,
                                                                              threads=1)
        if args.compile:
            train_variants["torch.compile"] = lambda: train_rate(name, args, device,
                                                                 compile_=True)
        for switch in ("bf16 autocast", "cudnn.benchmark"):
            train_variants[switch] = (None if not cuda else
                                      (lambda s=switch: train_rate(
                                          name, args, device, bf16=s.startswith("bf16"),
                                          cudnn=s.startswith("cudnn"))))
        # What a CUDA run does by default (precision=auto, cudnn_benchmark) plus channels_last.
        train_variants["bf16 + cudnn.benchmark + channels_last"] = (None if not cuda else (
            lambda: train_rate(name, args, device, bf16=True, cudnn=True, channels_last=True)))
        rows.append({"method": name, "phase": "train", "setting": "plain fp32",
                     "images_per_second": base_train, "ratio": 1.0})
        for switch, fn in train_variants.items():
            rate = fn() if fn is not None else None
            rows.append({"method": name, "phase": "train", "setting": switch,
                         "images_per_second": rate,
                         "ratio": rate / base_train if rate else "n/a on CPU"})
            print(rows[-1], flush=True)
        base_pred = predict_rate(name, args, device)
        rows.append({"method": name, "phase": "predict", "setting": "no_grad, batch "
                     f"{args.batch_size}", "images_per_second": base_pred, "ratio": 1.0})
        predict_variants = [("inference_mode", {"mode": "inference_mode"}),
                            ("channels_last", {"channels_last": True}),
                            ("batch 1", {"batch_size": 1})]
        if cuda:
            predict_variants += [("bf16 autocast", {"bf16": True}),
                                 ("bf16 + cudnn.benchmark + channels_last + inference_mode",
                                  {"bf16": True, "cudnn": True, "channels_last": True,
                                   "mode": "inference_mode"})]
        for switch, kwargs in predict_variants:
            rate = predict_rate(name, args, device, **kwargs)
            rows.append({"method": name, "phase": "predict", "setting": switch,
                         "images_per_second": rate, "ratio": rate / base_pred})
            print(rows[-1], flush=True)
        # Written after each method: a run cut off by a time limit keeps what it measured.
        write_json(output, {"benchmark": "throughput", "partial": True, "rows": rows})
    print_table(f"Throughput ({device}, {args.image_size} px, batch {args.batch_size}; "
                "ratio > 1 is faster than plain)",
                ["method", "phase", "setting", "images/s", "ratio"],
                [(r["method"], r["phase"], r["setting"],
                  "-" if r["images_per_second"] is None else r["images_per_second"], r["ratio"])
                 for r in rows])
    record = {"benchmark": "throughput", "device": str(device), "image_size": args.image_size,
              "batch_size": args.batch_size, "steps": args.steps, "repeats": args.repeats,
              "preset": args.preset, "overrides": args.overrides,
              "machine": machine(), "rows": rows}
    write_json(output, record)
    return record


if __name__ == "__main__":
    main()
