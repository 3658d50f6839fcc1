"""The biological tiers' cost: what instance and feature evaluation add to a smoke run.

Two smoke ``unet`` runs on the default dataset, on a fresh data root, one after the other in
one process: the first pays for the ground truth's segmentation and features (then cached),
the second, like every later method on the dataset, reads them from the cache. For each, the
run's wall time and the time of its tiers (saving the test predictions, segmenting, matching,
measuring, writing the files; timed around ``vsbench.engine.tiers.keep_and_score``), and
the tiers' added share ``tiers / (wall - tiers)``. Then the first run's saved predictions are
scored again with 1 and 2 worker processes (ground truth cached) for the per-image split of
segmentation, matching and features and the effect of process-level parallelism:

    python benchmarks/bio_tiers_cost.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine, print_table, write_json  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="unet")
    parser.add_argument("--quick", action="store_true",
                        help="32 px, 1 epoch of 8 images (the tiers' share is then larger)")
    parser.add_argument("--output", type=Path, default=RESULTS / "bio_tiers_cost.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from rich.console import Console

    import vsbench.engine.run as engine_run
    from vsbench.biometrics.scoring import score_run
    from vsbench.engine import RunRequest, run_benchmark
    from vsbench.engine.predictions import load_test_predictions
    from vsbench.layout import dataset_folder

    overrides = {"tensorboard": False}
    if args.quick:
        overrides |= {"image_size": 32, "epochs": 1, "max_train_images": 8}
    spent: list[float] = []
    original = engine_run.keep_and_score

    def timed(*a, **kw):
        start = time.perf_counter()
        try:
            return original(*a, **kw)
        finally:
            spent.append(time.perf_counter() - start)

    engine_run.keep_and_score = timed
    rows, runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        data_root, results = Path(tmp) / "data", Path(tmp) / "results"
        try:
            for seed, label in ((0, "first run (ground truth computed)"),
                                (1, "later run (ground truth cached)")):
                start = time.perf_counter()
                result = run_benchmark(RunRequest(dataset="synthetic",
                                                  method=args.method, seed=seed,
                                                  overrides=overrides, device="cpu",
                                                  results_dir=results, data_root=data_root),
                                       Console(quiet=True))
                wall = time.perf_counter() - start
                tiers = spent[-1]
                share = tiers / (wall - tiers)
                seconds = result.metrics.biometrics["seconds"]
                runs.append({"label": label, "wall_s": round(wall, 3),
                             "tiers_s": round(tiers, 3), "added_share": round(share, 4),
                             "tier_seconds": seconds,
                             "n_test_images": result.metrics.n_test_images})
                rows.append([label, wall, tiers, f"{100 * share:.1f} %"])
                if seed == 0:
                    folder = result.folder
        finally:
            engine_run.keep_and_score = original
        saved = load_test_predictions(folder)
        n = len(saved.sample_ids)
        cache = dataset_folder(data_root, "synthetic").biometrics_cache
        config = result.metrics
        per_worker = {}
        for workers in (1, 2):
            start = time.perf_counter()
            summary = score_run(folder, saved.prediction, saved.sample_ids, saved.channels,
                                dataset_fingerprint=config.dataset_fingerprint,
                                split_hash=config.split_hash, cache_dir=cache,
                                targets=lambda: None, workers=workers)
            per_worker[workers] = {"wall_s": round(time.perf_counter() - start, 3),
                                   "per_image_s": {k: round(v / n, 5) for k, v in
                                                   summary["seconds"].items()
                                                   if k != "ground_truth"}}
    print_table(f"biological tiers of smoke {args.method} runs ({n} test images)",
                ["run", "wall s", "tiers s", "tiers' added share"], rows)
    print_table("rescoring the first run's predictions (ground truth cached)",
                ["workers", "wall s", "ratio to 1", "segmentation s/img", "matching s/img",
                 "features s/img"],
                [[w, v["wall_s"], v["wall_s"] / per_worker[1]["wall_s"],
                  v["per_image_s"]["segmentation"], v["per_image_s"]["matching"],
                  v["per_image_s"]["features"]] for w, v in per_worker.items()])
    record = {"machine": machine(), "method": args.method, "overrides": overrides,
              "runs": runs, "rescoring_by_workers": per_worker,
              "note": "one process, the runs and rescorings one after the other (ratios within "
                      "one command); seconds per image of the workers' rows are summed over "
                      "processes (CPU time), their wall_s is elapsed time"}
    out = args.output if not args.quick else args.output.with_name("bio_tiers_cost_quick.json")
    write_json(out, record)
    return record


if __name__ == "__main__":
    main()
