"""What the terminal shows at 80 columns: every help text whole (placeholders such as
``RESULTS/runs/DATASET/...`` and ``[C, H, W]`` not eaten as markup), listings that fit without
cutting a word, and plain cell text shown as written."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import typer.main
from rich.console import Console

from vsbench.cli import app
from vsbench.cli.tables import fits, print_listing

def invoke(args):
    """The command's output at 80 columns (stdout, stderr and the exit code)."""
    from typer.testing import CliRunner

    out = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    return subprocess.CompletedProcess(args, out.exit_code, out.stdout, out.stderr)


BOX = re.compile(r"[│╭╮╰╯─┃━┏┓┗┛┡┩╇┳┻╋┣┫]")


def _commands():
    found = []

    def walk(command, name):
        if hasattr(command, "commands"):
            for sub_name, sub in command.commands.items():
                walk(sub, [*name, sub_name])
            return
        found.append((name, command))

    walk(typer.main.get_command(app), [])
    return found


COMMANDS = _commands()


def _plain(text: str) -> str:
    return " ".join(BOX.sub(" ", text).split())


@pytest.mark.parametrize("name,command", COMMANDS, ids=[" ".join(n) for n, _ in COMMANDS])
def test_help_keeps_every_placeholder_at_80_columns(name, command):
    out = invoke([*name, "--help"])
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) <= 80
    shown = _plain(out.stdout)
    for param in command.params:
        for token in (getattr(param, "help", None) or "").split():
            if not re.search(r"[<>\[\]/_]", token):
                continue
            word = token.strip("`.,;:()'\"")
            assert word.replace("`", "") in shown, (param.name, word)


def test_listings_fit_80_columns_without_cutting_a_word():
    for args in (["methods"], ["weights"], ["datasets"]):
        out = invoke(args)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines and max(len(line) for line in lines) <= 80, args
        assert "…" not in out.stdout, args
    assert "palette-threshold" in invoke(["methods"]).stdout
    shown = _plain(invoke(["weights"]).stdout)
    assert "vit_tiny_patch8.dino_local" in shown and "offline: yes (trained here)" in shown


def test_a_listing_is_a_table_where_it_fits_and_blocks_where_not():
    rows = [["unet [lr=0.01]", "a U-Net", "built-in"]]
    assert fits(("name", "what", "from"), rows, 80)
    wide = Console(width=80, record=True)
    print_listing(wide, "t", ("name", "what", "from"), rows)
    text = wide.export_text()
    assert "unet [lr=0.01]" in text and "┃ name" in text
    long = [["x" * 30, "y" * 30, "z" * 30]]
    assert not fits(("a", "b", "c"), long, 80)
    narrow = Console(width=80, record=True)
    print_listing(narrow, "t", ("a", "b", "c"), long)
    text = narrow.export_text()
    assert "b: " + "y" * 30 in " ".join(text.split()) and "…" not in text


def test_the_guidance_table_fits_80_columns_with_whole_cells():
    """The reference board's guided-minus-unguided table: one row per method and channel at
    80 columns (not twelve 3-character columns), every cell whole; one row per method where
    the terminal is wide."""
    reference = Path(__file__).resolve().parents[2] / "results" / "reference-synthetic"
    narrow = invoke(["compare", "--results", str(reference), "--methods",
                     "diffstain,palette-threshold"])
    assert narrow.returncode == 0, narrow.stderr
    part = narrow.stdout.split("Guided minus unguided")[1]
    table = part[:part.index("└")]
    assert all(len(line) <= 80 for line in table.splitlines())
    assert "+0.004 (p 0.336)" in table and "+0.007 (p 0.117)" in table  # Average PCC, whole
    assert re.search(r"│ palette-threshold\s+│ DNA\s+│", table)
    assert re.search(r"│\s+│ Average\s+│ \+0\.007 \(p 0\.117\) │", table)
    from typer.testing import CliRunner

    wide = CliRunner().invoke(app, ["compare", "--results", str(reference), "--methods",
                                    "diffstain,palette-threshold"], env={"COLUMNS": "300"})
    part = wide.output.split("Guided minus unguided")[1]
    assert re.search(r"│ diffstain\s+│ -0\.004 \(p 0\.419\)", part)  # DNA PCC first
