"""Every path option of every command, and every device option, checked before any work:
a wrong kind, a missing input or an unwritable target is one ``error:`` line (exit 2) naming
the option, with no traceback and nothing written.

The table :data:`PATH_OPTIONS` says what each path option must be; a test reads the commands'
options from the app itself, so a new command or path option fails here until it is listed
(and checked)."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import typer.main

from tests.conftest import invoke
from vsbench.cli import app

# (command, option) -> (kind, the command line with PATH where the option's value goes)
PATH_OPTIONS: dict[tuple[str, str], tuple[str, list[str]]] = {
    ("run", "--results"): ("output-folder", ["run", "--method", "unet", "--results", "PATH"]),
    ("run", "--data-root"): ("output-folder", ["run", "--method", "unet", "--data-root",
                                               "PATH"]),
    ("sweep", "--results"): ("output-folder", ["sweep", "--methods", "unet", "--results",
                                               "PATH"]),
    ("sweep", "--data-root"): ("output-folder", ["sweep", "--methods", "unet", "--data-root",
                                                 "PATH"]),
    ("evaluate", "RUN"): ("input-folder", ["evaluate", "PATH"]),
    ("evaluate", "--data-root"): ("output-folder", ["evaluate", "RUNDIR", "--data-root",
                                                    "PATH"]),
    ("predict", "--out"): ("output-folder", ["predict", "some-run", "--dataset", "synthetic",
                                             "--out", "PATH"]),
    ("predict", "--input"): ("input-path", ["predict", "some-run", "--input", "PATH", "--out",
                                            "OUTDIR"]),
    ("predict", "--results"): ("optional-input-folder", ["predict", "some-run", "--dataset",
                                                         "synthetic", "--out", "OUTDIR",
                                                         "--results", "PATH"]),
    ("predict", "--data-root"): ("input-folder", ["predict", "some-run", "--dataset",
                                                  "synthetic", "--out", "OUTDIR",
                                                  "--data-root", "PATH"]),
    ("score", "--predictions"): ("input-folder", ["score", "--predictions", "PATH",
                                                  "--dataset", "synthetic", "--name", "x"]),
    ("score", "--results"): ("output-folder", ["score", "--predictions", "RUNDIR", "--dataset",
                                               "synthetic", "--name", "x", "--results",
                                               "PATH"]),
    ("score", "--data-root"): ("output-folder", ["score", "--predictions", "RUNDIR",
                                                 "--dataset", "synthetic", "--name", "x",
                                                 "--data-root", "PATH"]),
    ("validate-tiers", "--results"): ("output-folder", ["validate-tiers", "--results",
                                                        "PATH"]),
    ("validate-tiers", "--data-root"): ("output-folder", ["validate-tiers", "--data-root",
                                                          "PATH"]),
    ("validate-tiers", "--output"): ("output-file", ["validate-tiers", "--output", "PATH"]),
    ("compare", "--results"): ("optional-input-folder", ["compare", "--results", "PATH"]),
    ("compare", "--output"): ("output-file", ["compare", "--format", "csv", "--output",
                                              "PATH"]),
    ("compare", "--data-root"): ("optional-input-folder", ["compare", "--data-root", "PATH"]),
    ("compare", "--against"): ("input-folder", ["compare", "--against", "PATH"]),
    ("report", "--results"): ("optional-input-folder", ["report", "--results", "PATH"]),
    ("report", "--out"): ("output-folder", ["report", "--out", "PATH"]),
    ("report", "--data-root"): ("optional-input-folder", ["report", "--data-root", "PATH"]),
    ("datasets", "--data-root"): ("optional-input-folder", ["datasets", "--data-root",
                                                            "PATH"]),
    ("data fetch", "--data-root"): ("output-folder", ["data", "fetch", "jump-cpg0000",
                                                      "--plates", "BR1", "--data-root",
                                                      "PATH"]),
    ("data prepare", "--data-root"): ("output-folder", ["data", "prepare", "--dataset",
                                                        "synthetic", "--data-root", "PATH"]),
    ("data split", "--data-root"): ("output-folder", ["data", "split", "--dataset",
                                                      "synthetic", "--data-root", "PATH"]),
}

# A place no file can be created in, even as root (CI runs as root, so permission bits
# would not do).
UNWRITABLE = Path("/proc/vsbench-no-such-folder")

# kind -> the bad values to try: (name, how to make the path in tmp, the message's words)
BAD_VALUES = {
    "output-folder": [("a file", "file", "is a file"),
                      ("unwritable", "unwritable", "cannot write")],
    "output-file": [("a folder", "folder", "is a folder"),
                    ("unwritable", "unwritable", "cannot write")],
    "input-folder": [("missing", "missing", "no such"), ("a file", "file", "is a file")],
    "input-path": [("missing", "missing", "no such file or folder")],
    "optional-input-folder": [("a file", "file", "is a file")],
}


def _is_path(hint) -> bool:
    return hint is Path or any(_is_path(a) for a in typing.get_args(hint))


def _path_params() -> set[tuple[str, str]]:
    """Every (command, option) of the app whose value is a path (by the command function's
    type hints; an argument is named RUN)."""
    found = set()

    def walk(command, name: str) -> None:
        if hasattr(command, "commands"):  # a group
            for sub_name, sub in command.commands.items():
                walk(sub, f"{name} {sub_name}".strip())
            return
        hints = typing.get_type_hints(command.callback)
        for param in command.params:
            if _is_path(hints.get(param.name)):
                dashed = [o for o in param.opts if o.startswith("--")]
                found.add((name, max(dashed, key=len) if dashed else "RUN"))

    walk(typer.main.get_command(app), "")
    return found


def test_every_path_option_is_in_the_table():
    assert _path_params() == set(PATH_OPTIONS)


def _tree(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


CASES = [(key, bad) for key, (kind, _) in PATH_OPTIONS.items() for bad in BAD_VALUES[kind]]


@pytest.mark.parametrize("key,bad", CASES, ids=[f"{k[0]} {k[1]}: {b[0]}" for k, b in CASES])
def test_bad_path_is_one_line_before_any_work(tmp_path, monkeypatch, key, bad):
    kind, line = PATH_OPTIONS[key]
    _, make, words = bad
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rundir").mkdir()
    path = {"file": tmp_path / "a-file", "folder": tmp_path / "a-folder",
            "missing": tmp_path / "missing", "unwritable": UNWRITABLE / "x"}[make]
    if make == "file":
        path.write_text("not a folder")
    if make == "folder":
        path.mkdir()
    before = _tree(tmp_path)
    args = [{"PATH": str(path), "RUNDIR": str(tmp_path / "rundir"),
             "OUTDIR": str(tmp_path / "out")}.get(a, a) for a in line]
    out = invoke(args)
    text = out.stdout + out.stderr
    assert out.returncode == 2, text
    assert "Traceback" not in text
    errors = [x for x in text.splitlines() if x.startswith("error:")]
    assert len(errors) == 1, text
    assert key[1] in errors[0] and words in errors[0], errors[0]
    assert _tree(tmp_path) == before  # nothing written: no run folder, cache or report


@pytest.mark.parametrize("args", [
    ["run", "--method", "unet", "--device", "cuda"],
    ["run", "--method", "unet", "--device", "cuda:3"],
    ["sweep", "--methods", "unet", "--device", "cuda"],
    ["predict", "some-run", "--dataset", "synthetic", "--out", "OUT", "--device", "cuda"],
    ["evaluate", "RUNDIR", "--device", "cuda:0"],
])
def test_device_without_a_gpu_is_one_line(tmp_path, monkeypatch, args):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rundir").mkdir()
    args = [{"OUT": str(tmp_path / "out"), "RUNDIR": str(tmp_path / "rundir")}.get(a, a)
            for a in args]
    out = invoke(args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "no CUDA GPU" in out.stderr and "--device cpu" in out.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name,message", [
    ("gpu", "unknown device"), ("cuda:x", "GPU index must be a number")])
def test_unknown_device_names_the_choices(name, message):
    from vsbench.cli import checks
    from vsbench.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        checks.device(name)


def test_sweep_on_slurm_without_slurm_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun anywhere
    out = invoke(["sweep", "--methods", "unet", "--seeds", "0", "--launcher", "slurm"])
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "SLURM was not found" in out.stderr and "--launcher submitit-local" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_check_out_keeps_foreign_files_and_refuses_earlier_predictions(tmp_path):
    from vsbench.predict.outputs import MANIFEST_CSV, MANIFEST_JSON, check_out, staged
    from vsbench.errors import ConfigError

    out = tmp_path / "pred"
    with staged(out) as stage:  # a first predict: one field and its manifest
        (stage / "a.ome.tif").write_bytes(b"1")
        (stage / MANIFEST_JSON).write_text('{"fields": [{"output": "a.ome.tif"}]}')
        (stage / MANIFEST_CSV).write_text("sample_id,output\na,a.ome.tif\n")
    assert {p.name for p in out.iterdir()} == {MANIFEST_CSV, "a.ome.tif", MANIFEST_JSON}
    with pytest.raises(ConfigError, match="--overwrite"):
        check_out(out, overwrite=False)
    with staged(out, overwrite=True) as stage:  # a second one replaces it whole
        (stage / "b.ome.tif").write_bytes(b"2")
        (stage / MANIFEST_JSON).write_text('{"fields": [{"output": "b.ome.tif"}]}')
        (stage / MANIFEST_CSV).write_text("sample_id,output\nb,b.ome.tif\n")
    assert {p.name for p in out.iterdir()} == {MANIFEST_CSV, "b.ome.tif", MANIFEST_JSON}
    with pytest.raises(RuntimeError):  # a failed predict leaves the folder as it was
        with staged(out, overwrite=True) as stage:
            (stage / "c.ome.tif").write_bytes(b"3")
            raise RuntimeError("model crashed")
    assert {p.name for p in out.iterdir()} == {MANIFEST_CSV, "b.ome.tif", MANIFEST_JSON}
    assert [p.name for p in tmp_path.iterdir()] == ["pred"]  # no stage left behind
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"1 file\(s\) that no vsbench predict manifest"):
        check_out(out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
