"""The CUDA check (run it through ``benchmarks/gpu_check.sh``): every step on the GPU, each with
its own time limit, its outcome and figures in one JSON.

Steps: the CUDA tests (``tests/engine/test_cuda.py``); a bf16 smoke run of every built-in method
(tiny settings, pixel tier only: they check the CUDA path, not the numbers); palette and
diffstain predict seconds per 256 px image side by side (freshly initialised smoke networks,
the same batch); a ``--preset paper`` diffstain run at 512 px with one short epoch (seconds per
epoch and per image, peak GPU memory). A failing step is recorded and the next one runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine, print_table, write_json  # noqa: E402

def builtin_methods() -> list[str]:
    """Every built-in method (a new one is checked without editing this list)."""
    from vsbench.plugins import default_registry

    return sorted(name for name, entry in default_registry().methods.items()
                  if entry.origin.builtin)
TINY = ["--set", "image_size=32", "--set", "epochs=1", "--set", "max_train_images=8",
        "--set", "n_preview=2", "--set", "sample_steps=4"]


def _vsbench(args: list[str], timeout: int, env: dict | None = None) -> tuple[bool, str, float]:
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-m", "vsbench", *args], capture_output=True,
                             text=True, timeout=timeout, cwd=REPO,
                             env={**os.environ, "COLUMNS": "160", **(env or {})})
        ok, text = out.returncode == 0, out.stdout + out.stderr
    except subprocess.TimeoutExpired:
        ok, text = False, f"timed out after {timeout} s"
    return ok, text[-1500:], time.perf_counter() - start


def cuda_tests(timeout: int) -> dict:
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/engine/test_cuda.py"],
                             capture_output=True, text=True, timeout=timeout, cwd=REPO)
        tail = (out.stdout + out.stderr).strip().splitlines()[-1:]
        return {"ok": out.returncode == 0, "summary": tail[0] if tail else "",
                "seconds": time.perf_counter() - start}
    except subprocess.TimeoutExpired:
        return {"ok": False, "summary": f"timed out after {timeout} s",
                "seconds": time.perf_counter() - start}


def bf16_runs(results: Path, timeout: int) -> list[dict]:
    rows = []
    for method in builtin_methods():
        ok, text, seconds = _vsbench(["run", "--method", method, "--dataset", "synthetic",
                                      "--device", "cuda", *TINY, "--set", "precision=bf16",
                                      "--results", str(results)],
                                     timeout, {"VSBENCH_TIERS": "pixel"})
        metrics = _latest_metrics(results, method) if ok else {}
        rows.append({"method": method, "ok": ok, "seconds": seconds,
                     "average_pcc": metrics.get("average", {}).get("pcc"),
                     "error": None if ok else text})
    return rows


def _latest_metrics(results: Path, method: str) -> dict:
    folders = sorted((results / "runs" / "synthetic" / method).glob("*"))
    return json.loads((folders[-1] / "metrics.json").read_text()) if folders else {}


def predict_seconds(size: int, batch: int) -> dict:
    """Seconds per image of palette's and diffstain's predict on one batch, side by side."""
    import importlib.util

    import torch

    # a sibling script, loaded by path (benchmarks/ is not a package)
    spec = importlib.util.spec_from_file_location(
        "throughput", Path(__file__).with_name("throughput.py"))
    throughput = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(throughput)
    args = argparse.Namespace(image_size=size, batch_size=batch, steps=2, repeats=1,
                              preset="smoke", overrides=[], data_root=REPO / "datasets")
    device = torch.device("cuda")
    out = {}
    for method in ("palette", "diffstain"):
        rate = throughput.predict_rate(method, args, device, mode="inference_mode", bf16=True,
                                       cudnn=True)
        out[method] = 1.0 / rate
    out["ratio_diffstain_to_palette"] = out["diffstain"] / out["palette"]
    return out


def paper_run(results: Path, timeout: int) -> dict:
    """A ``--preset paper`` diffstain run at 512 px, one short epoch, in this process (for the
    peak memory)."""
    import torch
    from rich.console import Console

    from vsbench.engine import RunRequest, run_benchmark

    torch.cuda.reset_peak_memory_stats()
    request = RunRequest(dataset="synthetic", method="diffstain", preset="paper", device="cuda",
                         overrides={"epochs": 1, "max_train_images": 16, "image_size": 512,
                                    "sample_steps": 20},
                         results_dir=results, data_root=REPO / "datasets")
    os.environ["VSBENCH_TIERS"] = "pixel"
    start = time.perf_counter()
    record = run_benchmark(request, Console(quiet=True)).metrics
    return {"ok": True, "seconds": time.perf_counter() - start,
            "train_seconds_per_epoch": record.train_seconds,
            "predict_seconds_per_image": record.predict_seconds_per_image,
            "peak_memory_gib": torch.cuda.max_memory_allocated() / 2 ** 30,
            "average_pcc": record.average["pcc"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--results", type=Path, default=Path("/tmp/vsbench-gpu-check"))
    args = parser.parse_args()
    import torch

    report: dict = {"machine": machine(), "steps": {}}
    steps = report["steps"]
    if not args.skip_tests:
        steps["cuda_tests"] = cuda_tests(150)
    steps["bf16_runs"] = bf16_runs(args.results, 60)
    for name, work in (("predict_256px", lambda: predict_seconds(256, 4)),
                       ("paper_diffstain_512px", lambda: paper_run(args.results, 180))):
        try:
            steps[name] = work()
        except Exception as exc:  # recorded; the next step still runs
            steps[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    print_table("bf16 smoke runs", ["method", "ok", "seconds", "Average PCC"],
                [[r["method"], r["ok"], r["seconds"], r["average_pcc"]]
                 for r in steps["bf16_runs"]])
    print(json.dumps({k: v for k, v in steps.items() if k != "bf16_runs"}, indent=1))
    name = torch.cuda.get_device_name(0).replace(" ", "_")
    write_json(RESULTS / f"gpu_check_{name}.json", report)
    if os.environ.get("OUT"):
        write_json(Path(os.environ["OUT"]) / "gpu_check.json", report)


if __name__ == "__main__":
    main()
