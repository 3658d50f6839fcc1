"""Renderers of one leaderboard object: markdown, LaTeX, HTML, CSV, JSON
(:mod:`~vsbench.leaderboard.json_export`) and the terminal table.

Every renderer reads the same :class:`~vsbench.leaderboard.board.Leaderboard` (its means,
standard deviations, confidence intervals, ranks and p-values) and only decides how to show it:
:func:`render` gives the text of an export format, :func:`export` writes every board to one
file (atomically), :func:`print_board` prints the rich table ``vsbench compare`` shows.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vsbench import atomic, stats
from vsbench.errors import LeaderboardError
from vsbench.leaderboard.board import Leaderboard
from vsbench.leaderboard.differences import (contrast_numbers, differences_latex,
                                           differences_markdown, differences_rich,
                                           guidance_html, guidance_numbers)
from vsbench.leaderboard.json_export import to_json

FORMATS = {"markdown": "md", "csv": "csv", "latex": "tex", "html": "html",
           "json": "json"}  # name -> extension

STYLES = {  # (best, second, plus-minus, interval) per format
    "markdown": ("**{}**", "<u>{}</u>", " ± ", None),
    "latex": ("\\textbf{{{}}}", "\\underline{{{}}}", " $\\pm$ ", None),
    "html": ("<b>{}</b>", "<u>{}</u>", " ± ", "<br><small>[{}, {}]</small>"),
}


def cell_text(board: Leaderboard, method: str, col: tuple[str, str], digits: int = 3,
              pm: str = " ± ") -> str:
    """``mean ± std`` of one cell (the ± part only when the method has several runs)."""
    mean = board.table.loc[method, col]
    if pd.isna(mean):
        return "-"
    text = f"{mean:.{digits}f}"
    if board.std is not None:
        std = board.std.loc[method, col]
        if pd.notna(std):
            text += f"{pm}{std:.{digits}f}"
    return text


def interval_text(board: Leaderboard, method: str, col: tuple[str, str],
                  digits: int = 3) -> tuple[str, str] | None:
    """The bounds of a cell's confidence interval as strings, or None without one."""
    if board.ci_low is None:
        return None
    low, high = board.ci_low.loc[method, col], board.ci_high.loc[method, col]
    if pd.isna(low) or pd.isna(high):
        return None
    return f"{low:.{digits}f}", f"{high:.{digits}f}"


def _rank(board: Leaderboard, method: str) -> str:
    return str(board.rank[method]) if board.rank is not None else "-"


def _p_value(board: Leaderboard, method: str) -> str:
    return stats.format_p(board.p_value[method]) if board.p_value is not None else "-"


def formatted(board: Leaderboard, fmt: str, digits: int = 3, ranked: bool = True
              ) -> pd.DataFrame:
    """The string table as papers print it (``fmt``: markdown, latex or html), index method:
    rank, mean ± std per column (best bold, second underlined), runs, and the paired test's
    p-value (``ranked=False``: without rank and p, for a table of one metric that is not the
    one ranked on, which would only repeat them)."""
    bold, underline, pm, interval = STYLES[fmt]
    best, second = board.best(), board.second()
    out = pd.DataFrame(index=board.table.index)
    if ranked:
        out[("", "rank")] = [_rank(board, m) for m in board.table.index]
    for col in board.metric_columns():
        cells = []
        for method in board.table.index:
            text = cell_text(board, method, col, digits, pm)
            if method in best.get(col, ()):
                text = bold.format(text)
            elif method in second.get(col, ()):
                text = underline.format(text)
            bounds = interval_text(board, method, col, digits)
            if interval and bounds:
                text += interval.format(*bounds)
            cells.append(text)
        out[col] = cells
    out[("", "runs")] = board.table[("", "runs")].astype(int).astype(str)
    if ranked:
        out[("", "p")] = [_p_value(board, m) for m in board.table.index]
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.index.name = "method"
    return out


def _flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [f"{c} {m.upper()}" if c else m for c, m in frame.columns]
    return frame


def numeric_table(board: Leaderboard) -> pd.DataFrame:
    """Every number of a board, one row per method: rank, then per column the mean, std and
    CI bounds, then runs and p_value (what the CSV export holds)."""
    columns: dict[str, object] = {"rank": board.rank}  # built as a dict: one frame at once
    for col in board.metric_columns():
        name = f"{col[0]} {col[1].upper()}"
        columns[name] = board.table[col]
        for suffix, frame in (("std", board.std), ("ci_low", board.ci_low),
                              ("ci_high", board.ci_high)):
            columns[f"{name} {suffix}"] = frame[col] if frame is not None else np.nan
    columns["runs"] = board.table[("", "runs")].astype(int)
    columns["p_value"] = board.p_value if board.p_value is not None else np.nan
    columns["sort_by"] = "/".join(board.sort_by)
    out = pd.DataFrame(columns, index=board.table.index)
    guidance = guidance_numbers(board)
    if guidance is not None:  # NaN in rows without unguided estimates (no guidance)
        out = out.join(guidance)
    contrast = contrast_numbers(board)
    if contrast is not None:  # NaN in rows with no control of the same first estimates
        out = out.join(contrast)
    out.index.name = "method"
    return out


# LaTeX's special characters in text; one pass, so that an escape is never escaped again.
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#",
                  "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


def _latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (a backslash as \\textbackslash)."""
    return re.sub(r"[\\_%&#${}~^]", lambda m: _LATEX_SPECIAL[m.group()], text)


def to_csv(board: Leaderboard) -> str:
    """Every number of the board (:func:`numeric_table`), with the CIs."""
    return numeric_table(board).to_csv(float_format="%.6g")


def to_markdown(board: Leaderboard) -> str:
    """The title, the table (mean ± std, best in bold, second underlined) and the caption."""
    return (f"**{board.title()}**\n\n" + _flat_columns(formatted(board, "markdown")).to_markdown()
            + f"\n\n{board.caption()}\n" + differences_markdown(board))


def to_latex(board: Leaderboard) -> str:
    """A ``tabular`` with multicolumn channel headers, the title and caption as its caption."""
    table = formatted(board, "latex")
    table.index = [_latex_escape(str(m)) for m in table.index]
    table[("", "p")] = table[("", "p")].str.replace("<", "$<$", regex=False)
    table = table.reset_index()
    table.columns = pd.MultiIndex.from_tuples(
        [("", "method"), *((c, m.upper() if c else m) for c, m in table.columns[1:])])
    caption = _latex_escape(f"{board.title()}. {board.caption()}").replace("±", "$\\pm$")
    text = table.to_latex(escape=False, index=False, multicolumn=True,
                          multicolumn_format="c", caption=caption,
                          column_format="l" + "r" * (table.shape[1] - 1))
    text += differences_latex(board, _latex_escape)
    return text


def to_html(board: Leaderboard) -> str:
    """An ``<h3>`` title, the table (CIs below each value) and the caption."""
    table = formatted(board, "html")
    table.index = [html.escape(str(m)) for m in table.index]
    table.index.name = "method"
    return (f"<h3>{html.escape(board.title())}</h3>\n" + table.to_html(escape=False)
            + f"\n<p class=\"caption\">{html.escape(board.caption())}</p>\n"
            + guidance_html(board))


RENDERERS: dict[str, Callable[[Leaderboard], str]] = {
    "markdown": to_markdown, "csv": to_csv, "latex": to_latex, "html": to_html,
    "json": lambda board: to_json([board])}


def render(board: Leaderboard, fmt: str) -> str:
    """The table as markdown, csv, latex or html: mean ± std, best value per column in bold,
    the second underlined, a rank and a p-value column (csv: every number, with the CIs)."""
    if fmt not in RENDERERS:
        raise LeaderboardError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    return RENDERERS[fmt](board)


def export(boards: list[Leaderboard], fmt: str, path: Path) -> Path:
    """Write every leaderboard in ``fmt`` to ``path`` (atomically)."""
    if fmt == "csv":
        parts = []
        for board in boards:
            frame = numeric_table(board)
            # the board's key in front, joined at once (inserting column by column fragments
            # the frame)
            keys = pd.DataFrame({k: [v] * len(frame) for k, v in board.key.items()},
                                index=frame.index)
            parts.append(pd.concat([keys, frame], axis=1).reset_index())
        text = pd.concat(parts).to_csv(index=False, float_format="%.6g")
    elif fmt == "json":  # one document: a list of boards
        text = to_json(boards)
    else:
        text = "\n".join(render(board, fmt) for board in boards)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, text)
    return path


# ---- the terminal -------------------------------------------------------------------------

def print_board(console: Console, board: Leaderboard) -> None:
    """Print a leaderboard. Each cell is mean ± std over runs with the hierarchical bootstrap confidence
    interval below it. Layout by terminal width: one wide table; else one table per metric
    (channels and Average as columns); else, on narrow terminals, one table per metric with
    methods as columns (rank and p as the last rows). Every label, title and caption is
    escaped: a row ``unet [lr=0.01]`` is printed as written, not read as Rich markup."""
    marks = board.best(), board.second()  # computed once, read by every cell
    channels = board.channels()
    cell_width, fixed = 17, 40  # a cell "[0.123, 0.456]" plus borders; rank, method, runs, p
    # one table per metric: rank and p only in the table of the metric ranked on
    by_metric = [(escape(f"{metric.upper()} - {board.title()}"),
                  [(c, metric) for c in channels if (c, metric) in board.table.columns],
                  metric == board.sort_by[1])
                 for metric in dict.fromkeys(m for _, m in board.metric_columns())]
    if console.width < cell_width * len(channels) + fixed:
        for title, columns, ranked in by_metric:
            console.print(_methods_as_columns(board, marks, title, columns, ranked))
    else:
        wide = console.width >= cell_width * len(board.metric_columns()) + fixed
        groups = ([(escape(board.title()), board.metric_columns(), True)] if wide
                  else by_metric)
        for title, columns, ranked in groups:
            console.print(_methods_as_rows(board, marks, title, columns, ranked, wide))
    console.print(escape(board.caption()).replace("Best value per column in bold, second underlined.",
                                          "Best value per column in [bold green]green[/], "
                                          "second underlined; [dim][CI][/] below."),
                  highlight=False)
    for table in differences_rich(board, console.width):
        console.print(table)


def _rich_cell(board: Leaderboard, marks: tuple[dict, dict], method: str,
               col: tuple[str, str]) -> str:
    """A cell in Rich markup: best green, second underlined (``marks``), the CI dim below."""
    text = cell_text(board, method, col, pm="±")
    if method in marks[0].get(col, ()):
        text = f"[bold green]{text}[/]"
    elif method in marks[1].get(col, ()):
        text = f"[underline]{text}[/]"
    bounds = interval_text(board, method, col)
    return text + (f"\n[dim][{bounds[0]}, {bounds[1]}][/]" if bounds else "")


def _methods_as_columns(board: Leaderboard, marks: tuple[dict, dict], title: str,
                        columns: list[tuple[str, str]], ranked: bool) -> Table:
    """The narrow layout: a row per channel, a column per method; rank, runs, p last."""
    methods, runs = list(board.table.index), board.table[("", "runs")]
    table = Table(title=title)
    table.add_column("channel", style="bold")
    for method in methods:
        table.add_column(escape(str(method)), justify="right", overflow="fold")
    for col in columns:
        table.add_row(escape(col[0]), *(_rich_cell(board, marks, m, col) for m in methods))
    table.add_section()
    if ranked:
        table.add_row("rank", *(_rank(board, m) for m in methods))
    table.add_row("runs", *(str(int(runs[m])) for m in methods))
    if ranked:
        table.add_row("p", *(_p_value(board, m) for m in methods))
    return table


def _methods_as_rows(board: Leaderboard, marks: tuple[dict, dict], title: str,
                     columns: list[tuple[str, str]], ranked: bool, wide: bool) -> Table:
    """A row per method: rank, method, a column per (channel, metric), runs and p."""
    table = Table(title=title)
    if ranked:
        table.add_column("rank", justify="right")
    table.add_column("method", style="bold")
    for channel, metric in columns:
        table.add_column(escape(f"{channel}\n{metric.upper()}" if wide else channel),
                         justify="right", overflow="fold")
    table.add_column("runs", justify="right")
    if ranked:
        table.add_column("p", justify="right")
    for method in board.table.index:
        cells = [escape(str(method)), *(_rich_cell(board, marks, method, c) for c in columns),
                 str(int(board.table[("", "runs")][method]))]
        table.add_row(*([_rank(board, method), *cells, _p_value(board, method)] if ranked
                        else cells))
    return table
