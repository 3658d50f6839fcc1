"""The command line, end to end (typer's CliRunner), and its bad-input errors."""

import csv
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import REPO, TINY, install_fake_distribution, run_cli
from vsbench.cli import app
from vsbench.records import MetricsRecord

runner = CliRunner()
ENV = {"COLUMNS": "200"}


def invoke(*args):
    return runner.invoke(app, list(args), env=ENV)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One tiny completed unet run, shared by the tests of this module."""
    root = tmp_path_factory.mktemp("cli")
    result = invoke("run", "--dataset", "synthetic",
                    "--method", "unet", "--results", str(root / "results"),
                    "--data-root", str(root / "data"), "--seed", "3", *TINY)
    assert result.exit_code == 0, result.output
    [folder] = (root / "results" / "runs" / "synthetic" / "unet").iterdir()
    return root, folder, result.output


def test_help_explains_every_option():
    top = invoke("--help")
    assert top.exit_code == 0
    for command in ("run", "compare", "report", "methods", "datasets"):
        assert command in top.output
    run_help = invoke("run", "--help").output
    for option in ("--method", "--dataset", "--preset", "--seed", "--set", "--device",
                   "--results", "--data-root"):
        assert option in run_help
    compare_help = invoke("compare", "--help").output
    for option in ("--results", "--format", "--output", "--dataset", "--methods", "--channels",
                   "--metrics", "--sort-by", "CHANNEL/METRIC", "DNA/ssim"):
        assert option in compare_help
    assert "--data-root" in invoke("datasets", "--help").output
    report_help = invoke("report", "--help").output
    for option in ("--results", "--out", "--fields"):
        assert option in report_help


def test_python_m_vsbench_works():
    out = subprocess.run([sys.executable, "-m", "vsbench", "--help"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and "compare" in out.stdout


def test_methods_and_datasets_listing():
    out = invoke("methods")
    assert out.exit_code == 0 and "unet" in out.output and "built-in" in out.output
    out = invoke("datasets")
    assert out.exit_code == 0
    assert "synthetic" in out.output and "DNA, ER, RNA, AGP, Mito" in out.output
    assert "perturbation, target" in out.output


def test_run_writes_a_complete_run_folder(finished_run):
    root, folder, output = finished_run
    assert "Average" in output and "DNA" in output and "Mito" in output
    for name in ("config.json", "state.json", "metrics.json", "per_image_metrics.csv",
                 "train_log.csv", "checkpoint.pt", "predictions.png", "predictions.npz"):
        assert (folder / name).is_file(), name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(MetricsRecord._required) <= set(metrics)
    assert metrics["method"] == "unet" and metrics["seed"] == 3 and metrics["n_test_images"] == 24
    assert list(metrics["channels"]) == ["DNA", "ER", "RNA", "AGP", "Mito"]
    for values in [*metrics["channels"].values(), metrics["average"]]:
        assert set(values) == {"mse", "mae", "pcc", "ssim"}
        assert 0 <= values["mse"] <= 1 and -1 <= values["pcc"] <= 1
    config = json.loads((folder / "config.json").read_text())
    assert config["run"]["image_size"] == 32 and config["run"]["epochs"] == 1
    assert config["split_hash"] == metrics["split_hash"]
    assert config["plugin"]["distribution"] == "vsbench"
    assert config["versions"]["vsbench"] and config["device"] == "cpu"
    assert json.loads((folder / "state.json").read_text())["status"] == "completed"
    with open(folder / "per_image_metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 24 * 5 and set(rows[0]) == {"sample_id", "channel", "mse", "mae",
                                                    "pcc", "ssim"}
    assert (root / "data" / "synthetic" / "split.csv").is_file()
    assert (folder / "predictions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(folder / "predictions.npz") as arrays:  # what the report's gallery shows
        assert arrays["brightfield"].shape == (2, 3, 32, 32)
        assert arrays["prediction"].shape == arrays["target"].shape == (2, 5, 32, 32)
        assert list(arrays["channels"]) == ["DNA", "ER", "RNA", "AGP", "Mito"]
        assert set(arrays["sample_ids"]) <= {row["sample_id"] for row in rows}
        assert 0 <= arrays["prediction"].min() and arrays["prediction"].max() <= 1


def test_compare_prints_and_exports(finished_run):
    root, folder, _ = finished_run
    results = root / "results"
    out = invoke("compare", "--results", str(results))
    assert out.exit_code == 0, out.output
    assert "unet" in out.output and "Average" in out.output
    out = invoke("compare", "--results", str(results), "--format", "markdown")
    assert out.exit_code == 0
    text = (results / "leaderboard.md").read_text()
    assert "| unet" in text and "Average PCC" in text
    out = invoke("compare", "--results", str(results), "--format", "latex", "--output",
                 str(root / "table.tex"))
    assert out.exit_code == 0 and "\\textbf" in (root / "table.tex").read_text()


def test_compare_statistics_filters_and_sort(finished_run, tmp_path):
    """A second 'method' made from the real run by lowering every image's PCC: it must rank
    second with a small p-value, and the filters and sort must act on the printed table."""
    import shutil

    root, folder, _ = finished_run
    results = tmp_path / "results"
    shutil.copytree(folder, results / "runs" / "synthetic" / "unet" / folder.name)
    copy = shutil.copytree(folder, results / "runs" / "synthetic" / "copycat" / folder.name)
    with open(copy / "per_image_metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows):  # 0.04 lower on every image: no resample crosses zero
        row["pcc"] = str(float(row["pcc"]) - 0.04 - 0.0001 * i)
    with open(copy / "per_image_metrics.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    # metrics.json says what the per-image table holds (a leaderboard checks that it does)
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["method"] = "copycat"
    for channel, values in metrics["channels"].items():
        values["pcc"] = float(np.mean([float(r["pcc"]) for r in rows
                                       if r["channel"] == channel]))
    metrics["average"]["pcc"] = float(np.mean([v["pcc"] for v in metrics["channels"].values()]))
    (copy / "metrics.json").write_text(json.dumps(metrics))
    out = invoke("compare", "--results", str(results), "--metrics", "pcc", "--channels",
                 "DNA,Average", "--format", "markdown")
    assert out.exit_code == 0, out.output
    assert "PCC - synthetic" not in out.output and "SSIM" not in out.output
    flat = " ".join(out.output.split())  # the caption as one line, whatever the wrapping
    assert "<0.001" in out.output and "the 12 wells of the 24 test images" in flat, flat
    text = (results / "leaderboard.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header, unet_row, copy_row = ([c.strip() for c in line.split("|")[1:-1]] for line in lines)
    assert header == ["method", "rank", "DNA PCC", "Average PCC", "runs", "p"]
    assert unet_row[:2] == ["unet", "1"] and unet_row[2].startswith("**")
    assert copy_row[:2] == ["copycat", "2"] and copy_row[-1] == "<0.001"
    # sorting on a column where copycat is no worse (MSE is unchanged: a tie shares rank 1)
    out = invoke("compare", "--results", str(results), "--sort-by", "DNA/MSE", "--methods",
                 "copycat,unet", "--format", "csv")
    assert out.exit_code == 0, out.output
    table = list(csv.DictReader(open(results / "leaderboard.csv")))
    assert {r["method"]: r["rank"] for r in table} == {"unet": "1", "copycat": "1"}
    assert {r["sort_by"] for r in table} == {"DNA/mse"}
    assert float(table[0]["DNA PCC ci_low"]) < float(table[0]["DNA PCC"]) < \
        float(table[0]["DNA PCC ci_high"])
    out = invoke("compare", "--results", str(results), "--methods", "unet")
    assert out.exit_code == 0 and "copycat" not in out.output


def test_report_of_a_real_run(finished_run, tmp_path):
    root, folder, _ = finished_run
    out = invoke("report", "--results", str(root / "results"), "--out", str(tmp_path / "rep"),
                 "--data-root", str(root / "data"), "--fields", "2")
    assert out.exit_code == 0, out.output
    text = (tmp_path / "rep" / "report.html").read_text()
    assert "wrote" in out.output and "Channels: DNA, ER, RNA, AGP, Mito." in text
    # the run's two preview fields, from its predictions.npz
    with np.load(folder / "predictions.npz") as arrays:
        for sample_id in arrays["sample_ids"]:
            assert f'alt="test field {sample_id}"' in text
    assert 'alt="training loss curves"' in text and f"<td>{folder.name}</td>" in text
    empty = invoke("report", "--results", str(tmp_path / "nothing"))
    assert empty.exit_code == 1 and "nothing to report" in empty.output


@pytest.mark.parametrize("args,message", [
    (["compare", "--sort-by", "DNA"], "--sort-by DNA: expected CHANNEL/METRIC"),
    (["compare", "--metrics", "psnr"], "--metrics: unknown metric(s) psnr"),
    (["compare", "--channels", "Actin"], "--channels: unknown channel(s) Actin; the runs have"),
    (["compare", "--methods", "diffstain"], "--methods: no completed runs of diffstain"),
    (["compare", "--dataset", "jump"], "--dataset jump: no completed runs on it"),
    (["compare", "--sort-by", "Actin/pcc"], "no channel 'Actin'"),
])
def test_compare_filter_errors(finished_run, args, message):
    root, _, _ = finished_run
    out = invoke(*args, "--results", str(root / "results"))
    assert out.exit_code == 2, out.output
    assert message in out.output


@pytest.mark.parametrize("args,message", [
    (["run", "--method", "unte"], "Unknown method 'unte'. Did you mean 'unet'?"),
    (["run", "--method", "unet", "--dataset", "jump"], "Unknown dataset 'jump'"),
    (["run", "--method", "unet", "--set", "epoch=2"], "Unknown hyperparameter 'epoch'"),
    (["run", "--method", "unet", "--set", "epochs=two"], "--set epochs=two: expected an integer"),
    (["run", "--method", "unet", "--set", "epochs"], "expected key=value"),
    (["run", "--method", "unet", "--preset", "huge"], "Unknown preset 'huge'"),
    (["compare", "--format", "pdf"], "unknown format 'pdf'"),
])
def test_bad_input_one_line_errors(args, message, tmp_path):
    out = runner.invoke(app, [*args, "--results", str(tmp_path)] if args[0] == "run" else
                        [*args, "--results", str(tmp_path)], env=ENV)
    assert out.exit_code == 2
    assert message in out.output
    assert not (tmp_path / "runs").exists() or args[0] != "run" or \
        not any((tmp_path / "runs").rglob("metrics.json"))


def test_compare_on_empty_results(tmp_path):
    out = invoke("compare", "--results", str(tmp_path / "nothing"))
    assert out.exit_code == 1
    assert "nothing to compare" in out.output and "vsbench run --method unet" in out.output


def test_unwritable_results_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = invoke("run", "--dataset", "synthetic",
                 "--method", "unet", "--results", str(blocker), "--data-root",
                 str(tmp_path / "data"), *TINY)
    assert out.exit_code == 2 and f"--results {blocker} is a file, not a folder" in out.output


CRASHING_PLUGIN = '''
from dataclasses import dataclass
from vsbench import MethodSpec, hookimpl

@dataclass
class Params:
    pass

def build(params, info):
    import torch
    from vsbench.method import Method

    class Crash(Method):
        def __init__(self, params, info):
            super().__init__(params, info)
            self.model = torch.nn.Conv2d(len(info.planes), len(info.channels), 1)
        def training_loss(self, batch):
            raise RuntimeError("boom in training")
        def predict(self, batch):
            return self.model(batch["brightfield"])
    return Crash(params, info)

@hookimpl
def vsbench_methods():
    return [MethodSpec(name="crash", description="always fails", reference="test",
                       params=Params, factory=build)]
'''


def test_failing_method_leaves_finished_runs_intact(finished_run, tmp_path):
    root, folder, _ = finished_run
    site = tmp_path / "site"
    install_fake_distribution(site, "vsbench-crash", "0.0.1", {"crash": "vsbench_crash"})
    (site / "vsbench_crash.py").write_text(CRASHING_PLUGIN)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")
              if p.is_file()}
    result = run_cli(["run", "--dataset", "synthetic",
                      "--method", "crash", "--results", str(root / "results"),
                      "--data-root", str(root / "data"), *TINY], tmp_path, [site])
    assert result.returncode == 1
    assert "method 'crash' failed: RuntimeError: boom in training" in result.stderr
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")
             if p.is_file()}
    assert before == after
    [crashed] = (root / "results" / "runs" / "synthetic" / "crash").iterdir()
    state = json.loads((crashed / "state.json").read_text())
    assert state["status"] == "failed" and "boom in training" in state["traceback"]
    out = invoke("compare", "--results", str(root / "results"))
    assert out.exit_code == 0 and "crash" not in out.output


def test_tensorboard_events_when_installed(finished_run):
    pytest.importorskip("tensorboard")
    _, folder, _ = finished_run
    events = list((folder / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


TORCH_FREE = '''
import sys
from pathlib import Path

from typer.testing import CliRunner

from tests.leaderboard.test_board import make_run
from vsbench.cli import app

root = Path(sys.argv[1])
for method, seed, pcc in (("unet", 0, 0.6), ("unet", 1, 0.62), ("palette", 0, 0.5)):
    make_run(root / "results", method, seed, pcc)
runner = CliRunner()
for args in (["--help"], ["methods"], ["datasets", "--data-root", str(root / "data")],
             ["compare", "--results", str(root / "results"), "--format", "html"],
             ["compare", "--results", str(root / "results"), "--against",
              str(root / "results")],
             ["report", "--results", str(root / "results"), "--data-root", str(root / "data")]):
    out = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert out.exit_code == 0, (args, out.output)
    assert "torch" not in sys.modules, f"vsbench {args[0]} imported torch"
print("torch-free")
'''


def test_listing_comparing_and_reporting_import_no_torch(tmp_path):
    """--help, methods, datasets, compare (also --against) and report on a fabricated
    results folder, in a fresh interpreter: none of them imports torch."""
    out = subprocess.run([sys.executable, "-c", TORCH_FREE, str(tmp_path)], capture_output=True,
                         text=True, cwd=REPO)
    assert out.returncode == 0 and out.stdout.strip() == "torch-free", out.stderr


@pytest.mark.parametrize("module", ["vsbench.cli", "vsbench.cli.compare", "vsbench.cli.report",
                                    "vsbench.cli.methods", "vsbench.cli.datasets",
                                    "vsbench.leaderboard", "vsbench.report"])
def test_module_imports_no_torch(module):
    code = f"import sys, {module}; assert 'torch' not in sys.modules"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_one_error_policy(monkeypatch, tmp_path):
    """User errors, Ctrl-C and a crashing method, whatever the command: one line on stderr and
    the exit code of the policy (vsbench.cli.errors)."""
    import vsbench.engine
    import vsbench.leaderboard

    def raising(exc):
        def run_benchmark(*args, **kwargs):
            raise exc
        return run_benchmark

    args = ["run", "--dataset", "synthetic", "--method", "unet", "--results", str(tmp_path)]
    monkeypatch.setattr(vsbench.engine, "run_benchmark", raising(KeyboardInterrupt()))
    out = invoke(*args)
    assert out.exit_code == 130
    assert out.stderr.strip() == ("error: interrupted; the run folder is marked failed, "
                                  "finished runs are untouched.")
    monkeypatch.setattr(vsbench.engine, "run_benchmark", raising(RuntimeError("boom [x]")))
    out = invoke(*args)
    assert out.exit_code == 1 and out.stderr.strip() == (
        "error: method 'unet' failed: RuntimeError: boom [x] (traceback in the run folder's "
        "state.json, or rerun with VSBENCH_DEBUG=1).")
    debug = runner.invoke(app, args, env={**ENV, "VSBENCH_DEBUG": "1"})
    assert isinstance(debug.exception, RuntimeError)  # the traceback, not the one line
    monkeypatch.setattr(vsbench.leaderboard, "load_runs", raising(KeyboardInterrupt()))
    out = invoke("compare", "--results", str(tmp_path))
    assert out.exit_code == 130 and out.stderr.strip() == "error: interrupted."
    out = invoke("data", "split", "--dataset", "synthetic", "--test", "P1")
    assert out.exit_code == 2 and out.stderr.strip() == (
        "error: --test and --val choose plates for a new split: add --regenerate.")
    assert out.stdout == ""


# End-to-end: these train and evaluate through the CLI or the engine (`-m "not e2e"` skips them).
pytestmark = pytest.mark.e2e
