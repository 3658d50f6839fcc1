"""A grid's wall time: one run after another against ``vsbench sweep --jobs N``.

Both sweep the same grid (methods x seeds, smoke preset unless told) into fresh results
folders on the same prepared data root. The sequential sweep runs each cell with all the
machine's threads (torch's default); the concurrent one runs N cells at once with
cores / N threads each. Both are timed in this one process, side by side, so the ratio is
meaningful on a shared machine; the concurrent sweep's metrics are checked against a
sequential sweep with the same threads per run (they must be identical):

    python benchmarks/sweep_jobs.py [--methods unet,palette] [--seeds 0,1] [--jobs 2] [--quick]
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
    parser.add_argument("--output", type=Path, default=RESULTS / "sweep_jobs.json")
    return parser.parse_args(argv)


def _sweep(results: Path, data_root: Path, args: argparse.Namespace, extra: list[str]) -> float:
    command = [sys.executable, "-m", "vsbench", "sweep", "--methods", args.methods, "--seeds",
               args.seeds, "--preset", args.preset, "--results", str(results), "--data-root",
               str(data_root), "--device", "cpu", *(QUICK if args.quick else []), *extra]
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
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_root = tmp / "data"
        # Warm-up: the data cache is built once, outside the timings.
        _sweep(tmp / "warm", data_root, argparse.Namespace(**{**vars(args), "seeds": "0",
                                                              "methods": "unet"}), QUICK)
        sequential = _sweep(tmp / "seq", data_root, args, [])
        concurrent = _sweep(tmp / "jobs", data_root, args, ["--jobs", str(args.jobs)])
        same_threads = _sweep(tmp / "seq1", data_root, args, ["--threads", str(share)])
        identical = _metrics(tmp / "jobs") == _metrics(tmp / "seq1")
    cells = len(args.methods.split(",")) * len(args.seeds.split(","))
    rows = [("sequential (torch's threads)", sequential, 1.0),
            (f"--jobs {args.jobs} ({share} thread(s) each)", concurrent, sequential / concurrent),
            (f"sequential, --threads {share}", same_threads, sequential / same_threads)]
    print_table(f"grid of {cells} cells ({args.methods} x seeds {args.seeds})",
                ["sweep", "wall s", "speed-up"], rows)
    print(f"--jobs {args.jobs} metrics identical to the sequential sweep with --threads "
          f"{share}: {identical}")
    write_json(args.output, {"machine": machine(), "args": {k: str(v) for k, v in
                                                            vars(args).items()},
                             "rows": [{"sweep": r[0], "seconds": r[1], "speedup": r[2]}
                                      for r in rows], "identical": identical})


if __name__ == "__main__":
    main(sys.argv[1:])
