"""Harness overhead: the engine's training loop against a bare PyTorch loop.

Both train the same method (``unet`` by default, smoke preset) from the same initial weights on
the same in-memory training images (the dataset's cache is filled first, so neither pays for
reading) with the same batch size, AdamW and gradient clipping, for the same number of epochs.
The engine's loop adds its sampler (reproducible order and augmentation), progress display,
loss logging, the finite-loss check and the final checkpoint; the ratio of the two times is
what the harness costs. The bare loop's model gets the engine's precise-BatchNorm pass afterwards, timed on its own
(a model with BatchNorm needs it to score like the engine's: the fourth row, bare loop plus that
pass, is the baseline for the same result). The engine is timed twice: with the final
checkpoint written before
``train`` returns (the engine before the background writer) and with it written in the
background (:class:`vsbench.engine.checkpointing.CheckpointWriter`, as ``vsbench run`` does:
the write overlaps evaluation and is joined before the run is marked completed; its own
seconds are reported). ``--settings`` runs several sizes in one process, side by side:

    python benchmarks/harness_overhead.py [--quick] [--method unet] [--epochs 2]
    python benchmarks/harness_overhead.py --settings 64:5:96,128:3:32
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine, print_table, write_json  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="unet")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-train-images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each, best")
    parser.add_argument("--data-root", type=Path, default=REPO / "datasets")
    parser.add_argument("--quick", action="store_true", help="32 px, 1 epoch of 32 images")
    parser.add_argument("--settings", default="",
                        help="SIZE:EPOCHS:IMAGES,... (overrides --image-size, --epochs, "
                             "--max-train-images; one table each, one JSON for all)")
    parser.add_argument("--output", type=Path, default=RESULTS / "harness_overhead.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.image_size, args.epochs, args.max_train_images, args.repeats = 32, 1, 32, 2
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.settings:
        return measure(args)
    records = []
    for setting in args.settings.split(","):
        size, epochs, images = map(int, setting.split(":"))
        one = argparse.Namespace(**{**vars(args), "image_size": size, "epochs": epochs,
                                    "max_train_images": images,
                                    "output": args.output.with_name(
                                        f"{args.output.stem}_{size}px.json")})
        records.append(measure(one))
    summary = {"benchmark": "harness_overhead", "settings": records, "machine": machine()}
    write_json(args.output, summary)
    return summary


def measure(args: argparse.Namespace) -> dict:
    """One setting: bare loop, engine (final checkpoint in the loop), engine (background)."""
    import torch
    from rich.console import Console

    from vsbench.data.torch_dataset import PairedImageDataset
    from vsbench.engine import RunRequest, create_method, plan_run, to_device, train
    from vsbench.engine.checkpointing import CheckpointWriter

    device = torch.device("cpu")
    overrides = {"image_size": args.image_size, "epochs": args.epochs,
                 "max_train_images": args.max_train_images, "tensorboard": False}
    plan = plan_run(RunRequest(dataset="synthetic", method=args.method, overrides=overrides,
                               data_root=args.data_root), device=device)
    run = plan.resolved.run
    data = PairedImageDataset(plan.source, plan.train_ids, run.image_size, augment=run.augment)
    for i in range(len(data)):  # fill the in-memory cache: time compute, not reading
        data[i]

    def fresh():
        torch.manual_seed(0)
        method = create_method(args.method, plan.source.info, "smoke", overrides)
        method.to(device)
        method.prepare(data, device)
        return method

    write_seconds = []

    def engine_loop(background: bool = False) -> float:
        method = fresh()
        writer = CheckpointWriter() if background else None
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            train(method, data, run, device, 0, Console(quiet=True),
                  checkpoint_path=Path(tmp) / "checkpoint.pt", writer=writer)
            seconds = time.perf_counter() - start
            if writer is not None:
                writer.join()  # outside the timed part: in a run it overlaps evaluation
                write_seconds.append(writer.seconds)
            return seconds

    bn_seconds = []

    def precise_bn(method) -> None:
        """The engine's precise-BatchNorm pass on ``method`` (timed: the bare loop's model
        needs it too to score the same; without it a BatchNorm U-Net scores far lower)."""
        from types import SimpleNamespace

        from vsbench.engine.callbacks import PreciseBatchNorm

        start = time.perf_counter()
        PreciseBatchNorm().after_train(SimpleNamespace(run=run, device=device, method=method,
                                                       data=data))
        bn_seconds.append(time.perf_counter() - start)

    def bare_loop() -> float:
        method = fresh()
        optimizer = torch.optim.AdamW(method.trainable_parameters(), lr=run.lr,
                                      weight_decay=run.weight_decay)
        loader = torch.utils.data.DataLoader(data, batch_size=min(run.batch_size, len(data)),
                                             shuffle=True, drop_last=True)
        method.train(True)
        start = time.perf_counter()
        for _ in range(run.epochs):
            for batch in loader:
                batch = to_device(batch, device)
                loss = method.training_loss(batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(method.trainable_parameters(), run.grad_clip)
                optimizer.step()
                method.after_optimizer_step()
        seconds = time.perf_counter() - start
        precise_bn(method)
        return seconds

    engine_s, async_s, bare_s = [], [], []
    for _ in range(args.repeats):  # alternate, so that a change of load hits all
        bare_s.append(bare_loop())
        engine_s.append(engine_loop())
        async_s.append(engine_loop(background=True))
    images = run.epochs * (len(data) // min(run.batch_size, len(data))) * run.batch_size
    rows = [{"loop": "bare PyTorch", "seconds": min(bare_s), "images_per_second":
             images / min(bare_s), "all_seconds": bare_s},
            {"loop": "engine.train, final checkpoint in the loop", "seconds": min(engine_s),
             "images_per_second": images / min(engine_s), "all_seconds": engine_s},
            {"loop": "engine.train, final checkpoint in the background", "seconds":
             min(async_s), "images_per_second": images / min(async_s),
             "all_seconds": async_s, "background_write_seconds": write_seconds},
            {"loop": "bare PyTorch + the precise-BN pass", "seconds": min(bare_s) +
             min(bn_seconds), "images_per_second": images / (min(bare_s) + min(bn_seconds)),
             "precise_bn_seconds": bn_seconds}]
    ratio = min(async_s) / min(bare_s)
    same_result = min(async_s) / (min(bare_s) + min(bn_seconds))
    print_table(f"Harness overhead: {args.method}, {len(data)} images at {run.image_size} px, "
                f"{run.epochs} epoch(s), batch {run.batch_size} (ratio {ratio:.3f})",
                ["loop", "seconds (best)", "images/s"],
                [(r["loop"], r["seconds"], r["images_per_second"]) for r in rows])
    print(f"background checkpoint write: {min(write_seconds):.3f} s (overlaps evaluation); "
          f"precise BN {min(bn_seconds):.3f} s; engine / (bare + precise BN) "
          f"{same_result:.3f}")
    record = {"benchmark": "harness_overhead", "method": args.method,
              "image_size": run.image_size, "epochs": run.epochs, "images": len(data),
              "batch_size": run.batch_size, "engine_over_bare": ratio,
              "engine_over_bare_with_precise_bn": same_result,
              "precise_bn_seconds": min(bn_seconds),
              "engine_in_loop_checkpoint_over_bare": min(engine_s) / min(bare_s),
              "machine": machine(), "rows": rows}
    write_json(args.output, record)
    return record


if __name__ == "__main__":
    main()
