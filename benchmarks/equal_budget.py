"""Is ``flow-matching``'s first place on the reference board its method or its budget?

The smoke preset trains the regressors (``unet``, ``dodnet``, ``unext2``) for 30 epochs and the
diffusion family and ``flow-matching`` for 80. This trains ``unet`` (seed 0, the default
dataset, smoke preset otherwise unchanged) for the generative models' 80 epochs, with its L1
loss and with L2 (the loss flow matching's velocity uses, whose optimum is the conditional
mean that PCC favours), each as a full ``vsbench run`` (test split, every tier), and sets them
beside the committed reference runs of ``flow-matching`` and ``unet`` (seed 0). A run already
finished under ``--results`` is read, not made again.

    python benchmarks/equal_budget.py [--results DIR] [--data-root DIR] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine, print_table, write_json  # noqa: E402

REFERENCE = REPO / "results" / "reference-synthetic" / "runs" / "synthetic"


def seed0(method: str, root: Path = REFERENCE) -> dict:
    """The metrics of ``method``'s seed-0 run under ``root``."""
    [path] = [p for p in (root / method).glob("*/metrics.json")
              if json.loads(p.read_text())["seed"] == 0]
    return json.loads(path.read_text())


def headline(record: dict) -> dict:
    """What the table shows of a run: pixel, instance and feature headlines."""
    bio = record.get("biometrics") or {}
    return {"pcc": record["average"]["pcc"], "ssim": record["average"]["ssim"],
            "mse": record["average"]["mse"],
            "nuclei_f1": bio.get("instance", {}).get("nuclei", {}).get("f1")}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("/tmp/vsbench-equal-budget"))
    parser.add_argument("--data-root", type=Path, default=REPO / "datasets")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=80)
    args = parser.parse_args(argv)
    rows, record = [], {"machine": machine(), "epochs": args.epochs, "runs": {}}
    for loss in ("l1", "l2"):
        out = args.results / f"unet-{loss}"
        if not list((out / "runs" / "synthetic" / "unet").glob("*/metrics.json")):
            subprocess.run([sys.executable, "-m", "vsbench", "run", "--method", "unet",
                            "--dataset", "synthetic", "--seed", "0", "--set",
                            f"epochs={args.epochs}", "--set", f"loss={loss}",
                            "--threads", str(args.threads), "--results", str(out),
                            "--data-root", str(args.data_root)], check=True)
        record["runs"][f"unet {args.epochs} epochs {loss}"] = headline(
            seed0("unet", out / "runs" / "synthetic"))
    for method, epochs in (("unet", 30), ("flow-matching", 80)):
        record["runs"][f"{method} {epochs} epochs (reference)"] = headline(seed0(method))
    for name, values in record["runs"].items():
        rows.append([name, f"{values['pcc']:.3f}", f"{values['ssim']:.3f}",
                     f"{values['mse']:.4f}", f"{values['nuclei_f1']:.3f}"])
    print_table("unet at the generative models' budget (seed 0, test split)",
                ["run", "PCC", "SSIM", "MSE", "nuclei F1"], rows)
    write_json(RESULTS / "equal_budget.json", record)


if __name__ == "__main__":
    main(sys.argv[1:])
