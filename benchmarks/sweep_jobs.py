"""A grid's wall time: one run after another against ``vsbench sweep --jobs N``, and with
shared training (``MethodSpec.trains_as``: the palette family trains once per seed).

Every sweep runs the same grid (methods x seeds, smoke preset unless told) into a fresh results
folder on the same prepared data root, timed in this one process, side by side, so the ratios
are meaningful on a shared machine:

- ``sequential --retrain``: each cell trained, one after another with all the machine's threads
  (torch's default): what a sweep did before ``--jobs`` and shared training;
- ``--jobs N --retrain``: N cells at once with cores / N threads each;
- ``--jobs N``: the same with shared training (today's default); its metrics must equal the
  ``--jobs N --retrain`` sweep's exactly (every run trained alone with the same threads);
- with ``--check``, ``sequential --threads cores/N --retrain``: the sequential reference the
  two concurrent sweeps must equal too.

    python benchmarks/sweep_jobs.py [--methods unet,palette] [--seeds 0,1] [--jobs 2] [--quick]
        [--check] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine, print_table, write_json  # noqa: E402

QUICK = ["--set", "image_size=32", "--set", "epochs=1", "--set", "max_train_images=16",
         "--set", "n_preview=1"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="unet,palette")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--quick", action="store_true", help="32 px, 1 epoch of 16 images")
    parser.add_argument("--check", action="store_true", help="also the sequential sweep with "
                        "the concurrent ones' threads, whose metrics they must equal")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        metavar="KEY=VALUE", help="a setting for every run (repeatable)")
    parser.add_argument("--output", type=Path, default=RESULTS / "sweep_jobs.json")
    return parser.parse_args(argv)


def _sweep(results: Path, data_root: Path, args: argparse.Namespace, extra: list[str]) -> float:
    command = [sys.executable, "-m", "vsbench", "sweep", "--methods", args.methods,
               "--dataset", "synthetic", "--seeds", args.seeds, "--preset", args.preset,
               "--results", str(results), "--data-root",
               str(data_root), "--device", "cpu", *(QUICK if args.quick else []),
               *[a for kv in args.sets for a in ("--set", kv)], *extra]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True,
                   env=dict(os.environ, COLUMNS="200"))
    return time.perf_counter() - start


def _metrics(results: Path) -> dict:
    out = {}
    for path in results.glob("runs/*/*/*/metrics.json"):
        record = json.loads(path.read_text())
        out[(record["method"], record["seed"])] = (record["channels"], record["average"])
    return out


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    cores = os.cpu_count() or 1
    share = max(1, cores // args.jobs)
    jobs = ["--jobs", str(args.jobs)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_root = tmp / "data"
        # Warm-up: the data cache is built once, outside the timings.
        _sweep(tmp / "warm", data_root, argparse.Namespace(**{**vars(args), "seeds": "0",
                                                              "methods": "unet"}), QUICK)
        sequential = _sweep(tmp / "seq", data_root, args, ["--retrain"])
        concurrent = _sweep(tmp / "jobs", data_root, args, [*jobs, "--retrain"])
        shared = _sweep(tmp / "shared", data_root, args, jobs)
        rows = [("sequential --retrain (torch's threads)", sequential, 1.0),
                (f"--jobs {args.jobs} --retrain ({share} thread(s) each)", concurrent,
                 sequential / concurrent),
                (f"--jobs {args.jobs}, shared training", shared, sequential / shared)]
        identical = {"shared_vs_jobs_retrain":
                     _metrics(tmp / "shared") == _metrics(tmp / "jobs")}
        if args.check:
            same = _sweep(tmp / "seq1", data_root, args, ["--threads", str(share), "--retrain"])
            rows.append((f"sequential --threads {share} --retrain", same, sequential / same))
            reference = _metrics(tmp / "seq1")
            identical.update(jobs=_metrics(tmp / "jobs") == reference,
                             shared=_metrics(tmp / "shared") == reference)
    cells = len(args.methods.split(",")) * len(args.seeds.split(","))
    print_table(f"grid of {cells} cells ({args.methods} x seeds {args.seeds})",
                ["sweep", "wall s", "speed-up"], rows)
    print(f"metrics identical: {identical}")
    write_json(args.output, {"machine": machine(), "args": {k: str(v) for k, v in
                                                            vars(args).items()},
                             "rows": [{"sweep": r[0], "seconds": r[1], "speedup": r[2]}
                                      for r in rows], "identical": identical})


if __name__ == "__main__":
    main(sys.argv[1:])
