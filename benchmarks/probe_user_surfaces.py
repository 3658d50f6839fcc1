"""A fault probe of what users touch: bad option values, wrong kinds of path, damaged run files,
missing optional dependencies, on every command (not a speed benchmark).

It makes two tiny completed runs (unet, every tier; palette, for the posterior tier), then runs
each case through the command line in this process, on a fresh copy of the results folder, and
sorts the outcome:

- ``clear``: a bad input refused (non-zero exit) with a message holding the case's words;
- ``handled``: a case that must succeed (a damaged cache recomputed, a damaged run skipped
  with a warning naming it) did, and said what the case requires;
- ``unclear``: refused, but the message lacks the words that name the thing or the fix, or a
  valid case refused;
- ``silent wrong``: a bad input accepted (exit 0) without the required warning;
- ``traceback``: an exception escaped to the user;
- ``data loss`` (counted besides): a failing command changed or removed a file of a run folder
  other than the one the case damaged.

    python benchmarks/probe_user_surfaces.py            # every case (about 3 min on 2 cores)
    python benchmarks/probe_user_surfaces.py --only score

Writes ``benchmarks/results/probe_user_surfaces.json``; exit 1 if any case is a traceback,
silent wrong or data loss.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from rich.markup import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine, print_table, write_json  # noqa: E402

os.environ.setdefault("COLUMNS", "200")
TINY = ["--set", "image_size=32", "--set", "epochs=1", "--set", "max_train_images=8",
        "--set", "n_preview=2"]
TINY_DIFFUSION = ["--set", "width=8", "--set", "channel_mults=1,2", "--set",
                  "layers_per_block=1", "--set", "head_dim=8", "--set", "sample_steps=4"]


@dataclass
class Case:
    """One probe: the command line (with {placeholders}), what must happen, the words the
    output must hold, and what to do to the copied results first."""

    surface: str
    name: str
    args: list[str]
    expect: str  # "error" or "ok"
    words: tuple[str, ...] = ()
    setup: Callable[["Env"], None] | None = None
    damaged: tuple[str, ...] = ()  # run-folder files the setup damages (not data loss)


@dataclass
class Env:
    """A fresh copy of the probe's results and data root, and paths a case may use."""

    root: Path
    results: Path
    data: Path
    run: Path  # the unet run
    prun: Path  # the palette run
    values: dict[str, str] = field(default_factory=dict)


def truncate(path: Path, size: int = 300) -> None:
    path.write_bytes(path.read_bytes()[:size])


def _write_predictions(env: Env, scale: float, shift: float) -> None:
    """The unet run's own test predictions as a submission, scaled and shifted."""
    from vsbench.engine.predictions import load_test_predictions

    saved = load_test_predictions(env.run)
    out = env.root / "subm"
    out.mkdir()
    for sid, image in zip(saved.sample_ids, saved.prediction):
        np.save(out / f"{sid}.npy", image.astype(np.float32) * scale + shift)


def _first_predict(env: Env) -> None:
    _invoke(["predict", str(env.run), "--dataset", "synthetic", "--out",
             str(env.root / "pred"), "--data-root", str(env.data)])


def _edit_metrics(env: Env, change: Callable[[dict], None]) -> None:
    import json

    path = env.run / "metrics.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _no_submitit(env: Env) -> None:
    sys.modules["submitit"] = None  # type: ignore[assignment] - import now raises ImportError


def _half_rows(path: Path) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[: len(lines) // 2]) + "\n")


def cases() -> list[Case]:
    """Every probe case."""
    run, ok, err = "{run}", "ok", "error"
    out = ["--out", "{root}/o"]
    ds = ["--dataset", "synthetic", "--data-root", "{data}"]
    return [
        # compare
        Case("compare", "unwritable --output", ["compare", "--results", "{results}",
             "--format", "csv", "--output", "/proc/probe.csv"], err, ("--output", "cannot write")),
        Case("compare", "--output a folder", ["compare", "--results", "{results}", "--format",
             "csv", "--output", "{root}"], err, ("is a folder",)),
        Case("compare", "unknown --format", ["compare", "--results", "{results}", "--format",
             "xls"], err, ("xls",)),
        Case("compare", "unknown --tier", ["compare", "--results", "{results}", "--tier",
             "bogus"], err, ("--tier bogus",)),
        Case("compare", "bad --sort-by", ["compare", "--results", "{results}", "--sort-by",
             "Foo/pcc"], err, ("Foo",)),
        Case("compare", "--results a file", ["compare", "--results", "{file}"], err,
             ("is a file",)),
        Case("compare", "--against missing", ["compare", "--results", "{results}",
             "--against", "{root}/missing"], err, ("no such",)),
        Case("compare", "empty results", ["compare", "--results", "{root}/none"], err,
             ("nothing to compare",)),
        Case("compare", "metrics.json invalid JSON", ["compare", "--results", "{results}"], ok,
             ("metrics.json",), lambda e: (e.run / "metrics.json").write_text("{"),
             ("metrics.json",)),
        Case("compare", "config.json missing", ["compare", "--results", "{results}"], ok,
             ("config.json",), lambda e: (e.run / "config.json").unlink(), ("config.json",)),
        Case("compare", "state.json damaged", ["compare", "--results", "{results}"], ok,
             ("state.json",), lambda e: (e.run / "state.json").write_text("[]"),
             ("state.json",)),
        Case("compare", "per_image_metrics.csv truncated", ["compare", "--results",
             "{results}"], ok, ("per_image_metrics.csv",),
             lambda e: truncate(e.run / "per_image_metrics.csv"), ("per_image_metrics.csv",)),
        Case("compare", "per_image_metrics.csv half the rows", ["compare", "--results",
             "{results}"], ok, ("per_image_metrics.csv",),
             lambda e: _half_rows(e.run / "per_image_metrics.csv"), ("per_image_metrics.csv",)),
        Case("compare", "metrics.json PCC 5.0", ["compare", "--results", "{results}"], ok,
             ("metrics.json",), lambda e: _edit_metrics(
                 e, lambda r: r["average"].update(pcc=5.0)), ("metrics.json",)),
        Case("compare", "metrics.json Average NaN", ["compare", "--results", "{results}"], ok,
             ("metrics.json",), lambda e: _edit_metrics(
                 e, lambda r: r["average"].update(pcc=float("nan"))), ("metrics.json",)),
        Case("compare", "per_image_instance.csv truncated", ["compare", "--results",
             "{results}", "--tier", "instance"], ok, ("per_image_instance.csv",),
             lambda e: truncate(e.run / "per_image_instance.csv", 40),
             ("per_image_instance.csv",)),
        Case("compare", "feature_scores.csv truncated", ["compare", "--results", "{results}",
             "--tier", "features"], ok, ("feature_scores.csv",),
             lambda e: truncate(e.run / "feature_scores.csv", 40), ("feature_scores.csv",)),
        Case("compare", "profiles_map.csv truncated", ["compare", "--results", "{results}",
             "--tier", "profiles"], ok, ("profiles_map.csv",),
             lambda e: truncate(e.run / "profiles_map.csv", 20), ("profiles_map.csv",)),
        Case("compare", "per_image_posterior.csv truncated", ["compare", "--results",
             "{results}", "--tier", "posterior"], ok, ("per_image_posterior.csv",),
             lambda e: truncate(e.prun / "per_image_posterior.csv", 40),
             ("per_image_posterior.csv",)),
        # report
        Case("report", "--out a file", ["report", "--results", "{results}", "--out", "{file}"],
             err, ("is a file",)),
        Case("report", "--out unwritable", ["report", "--results", "{results}", "--out",
             "/proc/vsbench-report"], err, ("cannot write",)),
        Case("report", "--fields 0", ["report", "--results", "{results}", "--fields", "0"],
             err, ("--fields",)),
        Case("report", "predictions.npz truncated", ["report", "--results", "{results}",
             "--out", "{root}/rep"], ok, ("wrote",),
             lambda e: truncate(e.run / "predictions.npz"), ("predictions.npz",)),
        Case("report", "train_log.csv garbage", ["report", "--results", "{results}", "--out",
             "{root}/rep"], ok, ("wrote",),
             lambda e: (e.run / "train_log.csv").write_bytes(b"\x00\xff,\n,,,"),
             ("train_log.csv",)),
        # predict
        Case("predict", "--out an existing file", ["predict", run, "--input", "{root}",
             "--out", "{file}"], err, ("--out", "is a file")),
        Case("predict", "--device cuda without a GPU", ["predict", run, *ds, "--device",
             "cuda", *out], err, ("no CUDA GPU",)),
        Case("predict", "unknown --split", ["predict", run, *ds, "--split", "bogus", *out],
             err, ("--split bogus",)),
        Case("predict", "unknown --dataset", ["predict", run, "--dataset", "nosuch", *out],
             err, ("nosuch",)),
        Case("predict", "--input missing", ["predict", run, "--input", "{root}/missing",
             *out], err, ("no such",)),
        Case("predict", "--input an empty folder", ["predict", run, "--input", "{empty}",
             *out], err, ("{empty}",)),
        Case("predict", "unknown run id", ["predict", "20200101-000000-seed0-abcdef", *ds,
             *out, "--results", "{results}"], err, ("unknown run",)),
        Case("predict", "unknown --format", ["predict", run, *ds, "--format", "png", *out],
             err, ("--format png",)),
        Case("predict", "--out holds earlier predictions", ["predict", run, *ds, "--out",
             "{root}/pred"], err, ("--overwrite",), _first_predict),
        Case("predict", "checkpoint.pt truncated", ["predict", run, *ds, *out], err,
             ("checkpoint",), lambda e: truncate(e.run / "checkpoint.pt", 1000),
             ("checkpoint.pt",)),
        Case("predict", "checkpoint.pt missing", ["predict", run, *ds, *out], err,
             ("checkpoint",), lambda e: (e.run / "checkpoint.pt").unlink(), ("checkpoint.pt",)),
        # run
        Case("run", "unknown --method", ["run", "--method", "nosuch", "--results",
             "{results}"], err, ("nosuch",)),
        Case("run", "--device cuda without a GPU", ["run", "--method", "unet", "--device",
             "cuda", "--results", "{results}"], err, ("no CUDA GPU",)),
        Case("run", "unknown --device", ["run", "--method", "unet", "--device", "gpu",
             "--results", "{results}"], err, ("unknown device",)),
        Case("run", "--set epochs=-1", ["run", "--method", "unet", "--set", "epochs=-1",
             "--results", "{results}"], err, ("epochs",)),
        Case("run", "unknown --set key", ["run", "--method", "unet", "--set", "bogus=1",
             "--results", "{results}"], err, ("bogus",)),
        Case("run", "--seed -1", ["run", "--method", "unet", "--seed", "-1", "--results",
             "{results}"], err, ("seed",)),
        Case("run", "unknown --dataset", ["run", "--method", "unet", "--dataset", "nosuch",
             "--results", "{results}"], err, ("nosuch",)),
        Case("run", "unknown --preset", ["run", "--method", "unet", "--preset", "nosuch",
             "--results", "{results}"], err, ("nosuch",)),
        Case("run", "--results a file", ["run", "--method", "unet", "--results", "{file}"],
             err, ("--results", "is a file")),
        Case("run", "--data-root unwritable", ["run", "--method", "unet", "--results",
             "{results}", "--data-root", "/proc/vsbench-data"], err, ("cannot write",)),
        # sweep
        Case("sweep", "--launcher slurm without SLURM", ["sweep", "--methods", "unet",
             "--seeds", "0", "--launcher", "slurm", "--results", "{results}"], err,
             ("SLURM was not found", "submitit-local")),
        Case("sweep", "--launcher submitit-local without submitit", ["sweep", "--methods",
             "unet", "--launcher", "submitit-local", "--results", "{results}"], err,
             ("submitit", "pip install"), _no_submitit),
        Case("sweep", "unknown --launcher", ["sweep", "--methods", "unet", "--launcher",
             "bogus", "--results", "{results}"], err, ("bogus",)),
        Case("sweep", "a method twice", ["sweep", "--methods", "unet,unet", "--results",
             "{results}"], err, ("more than once",)),
        Case("sweep", "--jobs 0", ["sweep", "--methods", "unet", "--jobs", "0", "--results",
             "{results}"], err, ("--jobs 0",)),
        Case("sweep", "--device cuda without a GPU", ["sweep", "--methods", "unet",
             "--device", "cuda", "--results", "{results}"], err, ("no CUDA GPU",)),
        # evaluate
        Case("evaluate", "run folder missing", ["evaluate", "{root}/missing"], err,
             ("no such",)),
        Case("evaluate", "unknown --tier", ["evaluate", "--tier", "bogus", run], err,
             ("bogus",)),
        Case("evaluate", "unknown --segmenter", ["evaluate", "--segmenter", "nosuch", run],
             err, ("nosuch",)),
        Case("evaluate", "--device cuda without a GPU", ["evaluate", "--tier", "posterior",
             "--device", "cuda", "{prun}"], err, ("no CUDA GPU",)),
        Case("evaluate", "--workers 0", ["evaluate", "--workers", "0", run], err,
             ("--workers",)),
        Case("evaluate", "test_predictions.npz truncated", ["evaluate", "--tier", "instance",
             run], err, ("test_predictions.npz",),
             lambda e: truncate(e.run / "test_predictions.npz", 3000),
             ("test_predictions.npz",)),
        Case("evaluate", "cell_features.csv.gz truncated", ["evaluate", "--tier", "profiles",
             run], err, ("cell_features.csv.gz",),
             lambda e: truncate(e.run / "cell_features.csv.gz", 500),
             ("cell_features.csv.gz",)),
        Case("evaluate", "ground-truth cache damaged", ["evaluate", "--tier", "instance", run],
             ok, ("nuclei F1",), lambda e: [truncate(p, 100) for p in e.data.rglob("*.npz")]),
        Case("evaluate", "not a run folder", ["evaluate", "--tier", "instance", "{empty}"],
             err, ("{empty}",)),
        # score
        Case("score", "--predictions missing", ["score", "--predictions", "{root}/missing",
             *ds, "--name", "x", "--results", "{results}"], err, ("no such",)),
        Case("score", "--predictions empty", ["score", "--predictions", "{empty}", *ds,
             "--name", "x", "--results", "{results}"], err, ("{empty}",)),
        Case("score", "a registered method's name", ["score", "--predictions", "{root}/subm",
             *ds, "--name", "unet", "--results", "{results}"], err, ("unet",),
             lambda e: _write_predictions(e, 1.0, 0.0)),
        Case("score", "predictions x255", ["score", "--predictions", "{root}/subm", *ds,
             "--name", "x255", "--results", "{results}"], err, ("[0, 1]",),
             lambda e: _write_predictions(e, 255.0, 0.0)),
        Case("score", "predictions shifted by -0.5", ["score", "--predictions",
             "{root}/subm", *ds, "--name", "shifted", "--results", "{results}"], err,
             ("[0, 1]",), lambda e: _write_predictions(e, 1.0, -0.5)),
        # data and listings
        Case("datasets", "--data-root a file", ["datasets", "--data-root", "{file}"], err,
             ("is a file",)),
        Case("data", "prepare unknown --dataset", ["data", "prepare", "--dataset", "nosuch",
             "--data-root", "{data}"], err, ("nosuch",)),
        Case("data", "split --data-root unwritable", ["data", "split", "--dataset",
             "synthetic", "--data-root", "/proc/vsbench-data"], err, ("cannot write",)),
        Case("data", "fetch a local dataset", ["data", "fetch", "synthetic", "--plates", "P1",
             "--data-root", "{data}"], err, ("only jump-cpg0000",)),
        Case("data", "split.csv damaged", ["data", "split", "--dataset", "synthetic",
             "--data-root", "{data}"], err, ("split.csv",),
             lambda e: (e.data / "synthetic" / "split.csv").write_text("garbage\n\x00")),
        Case("methods", "list", ["methods"], ok, ("unet", "palette")),
        Case("weights", "list", ["weights"], ok, ("efficientnet",)),
    ]


def _invoke(args: list[str]):
    from typer.testing import CliRunner

    from vsbench.cli import app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CliRunner().invoke(app, args, env={"COLUMNS": "200"})


def _digests(results: Path, skip: set[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((results / "runs").rglob("*")) if p.is_file() and p not in skip}


def classify(case: Case, result, env: Env) -> str:
    """The outcome's class (see the module docstring)."""
    text = " ".join(result.output.split())
    words = [w.format(**env.values) for w in case.words]
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    if escaped or "Traceback" in result.output:
        return "traceback"
    said = all(w in text for w in words)
    if case.expect == "error":
        if result.exit_code == 0:
            return "silent wrong"
        return "clear" if said else "unclear"
    if result.exit_code != 0:
        return "unclear"
    return "handled" if said else "silent wrong"


def make_runs(root: Path) -> tuple[Path, Path, Path, Path]:
    """Two tiny completed runs, every tier scored: unet and palette (stochastic)."""
    os.environ.pop("VSBENCH_TIERS", None)
    results, data = root / "results", root / "data"
    for method, extra in (("unet", []), ("palette", TINY_DIFFUSION)):
        out = _invoke(["run", "--method", method, "--dataset", "synthetic", "--results",
                       str(results), "--data-root", str(data), *TINY, *extra])
        if out.exit_code != 0:
            raise SystemExit(f"could not make the {method} run:\n{out.output}")
    [run] = (results / "runs" / "synthetic" / "unet").iterdir()
    [prun] = (results / "runs" / "synthetic" / "palette").iterdir()
    return results, data, run, prun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only the cases of this surface (e.g. score)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        results, data, run, prun = make_runs(base)
        rows, records = [], []
        chosen = [c for c in cases() if args.only in (None, c.surface)]
        for i, case in enumerate(chosen):
            root = Path(tmp) / f"case{i}"
            shutil.copytree(base, root)
            env = Env(root, root / "results", root / "data",
                      root / run.relative_to(base), root / prun.relative_to(base))
            (root / "a-file").write_text("not a folder")
            (root / "empty").mkdir()
            env.values = {"run": str(env.run), "prun": str(env.prun), "root": str(root),
                          "results": str(env.results), "data": str(env.data),
                          "file": str(root / "a-file"), "empty": str(root / "empty")}
            if case.setup is not None:
                case.setup(env)
            skip = {env.run / name for name in case.damaged} | {
                env.prun / name for name in case.damaged}
            before = _digests(env.results, skip)
            line = [a.format(**env.values) for a in case.args]
            result = _invoke(line)
            outcome = classify(case, result, env)
            after = _digests(env.results, skip)
            lost = result.exit_code != 0 and any(after.get(p) != d for p, d in before.items())
            if "submitit" in sys.modules and sys.modules["submitit"] is None:
                del sys.modules["submitit"]  # undo _no_submitit
            message = next((x for x in result.output.splitlines() if x.startswith("error:")),
                           result.output.strip().splitlines()[-1] if result.output.strip()
                           else "")
            if outcome == "traceback" and result.exception is not None:
                message = f"{type(result.exception).__name__}: {result.exception}"
            rows.append([case.surface, case.name, outcome + (" + data loss" if lost else ""),
                         message.replace(str(root), "…")[:110]])
            records.append({"surface": case.surface, "case": case.name, "expect": case.expect,
                            "outcome": outcome, "data_loss": lost, "exit_code":
                            result.exit_code, "message": message.replace(str(root), "…")})
            shutil.rmtree(root)
    print_table("probe of user surfaces", ["surface", "case", "outcome", "message"],
                [[escape(str(v)) for v in row] for row in rows])
    counts = {k: sum(r["outcome"] == k for r in records) for k in
              ("clear", "handled", "unclear", "silent wrong", "traceback")}
    counts["data loss"] = sum(r["data_loss"] for r in records)
    print(f"{len(records)} cases: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    write_json(RESULTS / "probe_user_surfaces.json", {"machine": machine(), "counts": counts,
                                                      "cases": records})
    if counts["traceback"] or counts["silent wrong"] or counts["data loss"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
