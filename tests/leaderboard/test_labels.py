"""Every format labels rows identically (issue 31): a configuration label such as
``unet [lr=0.01]`` is shown verbatim in the terminal (not eaten as Rich markup), markdown, csv,
LaTeX (escaped as LaTeX requires) and HTML."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from tests.leaderboard.test_board import make_run
from vsbench.leaderboard import build_leaderboards, load_runs, print_board, render

LABEL = "unet [lr=0.01]"


def _board(tmp_path):
    make_run(tmp_path, "unet", 0, 0.5)
    make_run(tmp_path, "unet", 0, 0.8, overrides={"lr": 0.01})  # the best row
    runs, _ = load_runs(tmp_path)
    [board] = build_leaderboards(runs)
    assert list(board.table.index) == [LABEL, "unet"]
    return board


def _terminal(board, width: int) -> str:
    out = io.StringIO()
    print_board(Console(file=out, width=width, color_system=None), board)
    return out.getvalue()


def test_a_bracketed_label_is_shown_verbatim_in_every_format(tmp_path):
    board = _board(tmp_path)
    for width in (400, 120, 60):  # one wide table, one per metric, methods as columns
        text = _terminal(board, width)
        flat = " ".join(text.split())
        assert LABEL in flat, (width, text)
        assert f"test against {LABEL} on Average PCC" in flat
        assert "against unet  on" not in text
    assert f"| {LABEL}" in render(board, "markdown")
    assert f"against {LABEL} on Average PCC" in render(board, "markdown")
    csv = pd.read_csv(io.StringIO(render(board, "csv")))
    assert list(csv["method"]) == [LABEL, "unet"]
    assert f"{LABEL} &" in render(board, "latex")  # brackets and = need no escaping
    assert f"<th>{LABEL}</th>" in render(board, "html")


def test_latex_and_html_escape_what_their_syntax_needs(tmp_path):
    make_run(tmp_path, "my_net", 0, 0.5)
    make_run(tmp_path, "my_net", 0, 0.8, overrides={"note": "a&b<c>%"})
    [board] = build_leaderboards(load_runs(tmp_path)[0])
    label = "my_net [note=a&b<c>%]"
    assert label in list(board.table.index)
    assert "my\\_net [note=a\\&b<c>\\%]" in render(board, "latex")
    assert "my_net [note=a&amp;b&lt;c&gt;%]" in render(board, "html")
    assert label in " ".join(_terminal(board, 400).split())


def test_latex_escapes_a_backslash_once_and_tilde_and_caret():
    from vsbench.leaderboard.render import _latex_escape

    # a backslash is the character, not LaTeX's line break (\\) followed by an escape
    assert _latex_escape("a\\b{c}") == "a\\textbackslash{}b\\{c\\}"
    assert _latex_escape("x~y^z_1") == "x\\textasciitilde{}y\\textasciicircum{}z\\_1"
    assert _latex_escape("plain [lr=0.01]") == "plain [lr=0.01]"
