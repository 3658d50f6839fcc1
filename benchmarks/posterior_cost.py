"""What the posterior tier costs: seconds per test image of drawing ``n_samples`` samples.

Speed only (the smoke network freshly initialised: a trained one spends the same time per
network evaluation). On the default dataset's test fields at the preset's size, for each
``n_samples``, times drawing the ``n_samples - 1`` extra samples the tier adds to the run's
own prediction, batched as the tier does (all samples of an image in one batch:
:func:`vsbench.engine.posterior.draw_samples`) and one sample at a time, and the scoring of the
ensembles (CRPS, coverage, calibration; :class:`vsbench.posterior.PosteriorScores`). All in one
process, side by side, so the ratios hold on a shared machine.

    python benchmarks/posterior_cost.py --n-samples 2 4 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine, print_table, write_json  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="palette")
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--n-samples", type=int, nargs="*", default=[2, 4, 8])
    parser.add_argument("--images", type=int, default=24, help="test fields timed")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-root", type=Path, default=REPO / "datasets")
    parser.add_argument("--quick", action="store_true", help="8 images, n_samples 2 and 4")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.n_samples = 8, [2, 4]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import numpy as np
    import torch

    from vsbench.data.torch_dataset import PairedImageDataset
    from vsbench.engine.build import create_method
    from vsbench.engine.plan import RunRequest, plan_run
    from vsbench.engine.posterior import draw_samples
    from vsbench.posterior import PosteriorScores

    plan = plan_run(RunRequest(dataset="synthetic",
                               method=args.method, preset=args.preset, device=args.device,
                               data_root=args.data_root))
    run, device = plan.resolved.run, plan.device
    source = plan.source.for_run(run.image_size, plan.data_root)
    data = PairedImageDataset(source, list(plan.test_ids[:args.images]), run.image_size)
    torch.manual_seed(0)
    method = create_method(args.method, plan.source.info, args.preset)
    method.to(device)
    method.train(False)
    channels = list(plan.source.info.channels)

    def timed(extra: int, one_at_a_time: bool) -> tuple[float, list]:
        draws, spent = [], 0.0
        rounds = [1] * extra if one_at_a_time else [extra]
        for k in rounds:
            for n, (ids, samples, real, seconds) in enumerate(draw_samples(method, data, run,
                                                                           device, k)):
                spent += seconds
                draws.append((ids, samples, real))
        return spent, draws

    first, _ = timed(1, False)  # the run's own prediction, one sample per image
    rows, record = [], []
    for n_samples in args.n_samples:
        extra = n_samples - 1
        batched, draws = timed(extra, False)
        single, _ = timed(extra, True)
        scores = PosteriorScores(channels)
        start = time.perf_counter()
        for ids, samples, real in draws:
            for i, sample_id in enumerate(ids):
                scores.add(sample_id, np.concatenate([samples[i][:1], samples[i]]), real[i])
        scoring = time.perf_counter() - start
        n = len(data)
        item = {"n_samples": n_samples, "extra_s_per_image_batched": batched / n,
                "extra_s_per_image_one_at_a_time": single / n,
                "batching_speedup": single / batched, "scoring_s_per_image": scoring / n,
                "extra_over_prediction": batched / first}
        record.append(item)
        rows.append([n_samples, batched / n, single / n, single / batched, scoring / n,
                     batched / first])
    print_table(f"posterior tier cost, {args.method} ({args.preset}, {run.image_size} px, "
                f"{len(data)} test fields, {device}; one prediction {first / len(data):.4f} "
                "s/image)",
                ["n_samples", "extra s/image (batched)", "extra s/image (one at a time)",
                 "batching x", "scoring s/image", "extra / one prediction"], rows)
    write_json(args.output or RESULTS / f"posterior_cost_{device.type}.json",
               {"machine": machine(), "method": args.method, "preset": args.preset,
                "image_size": run.image_size, "images": len(data),
                "prediction_s_per_image": first / len(data), "results": record})


if __name__ == "__main__":
    main()
