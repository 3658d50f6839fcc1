"""A board's tables of paired differences, in every format: guided minus unguided (the same
runs' first estimates, :func:`vsbench.leaderboard.statistics.guidance`) and guided minus each
control restarted from the same first estimates (:mod:`vsbench.leaderboard.contrasts`)."""

from __future__ import annotations

import html
from typing import Callable

import pandas as pd
from rich.markup import escape
from rich.table import Table

from vsbench import stats
from vsbench.leaderboard import contrasts
from vsbench.leaderboard.board import Leaderboard

GUIDANCE_TITLE = "Guided minus unguided (the same runs' unguided first estimates, same noise)"
# How the guidance table's p is made (each run paired with its own first estimates).
GUIDANCE_TEST = ("p: hierarchical bootstrap over seeds and wells, each run paired with its "
                 "own first estimates")


def _difference_cells(frame: pd.DataFrame, board: Leaderboard, digits: int) -> pd.DataFrame:
    """Per row of ``frame`` (columns ``(channel, metric, "diff" | "p")``): for each channel
    and the Average, the mean paired difference of the board's sort metric and SSIM with
    its p, as text."""
    metrics = list(dict.fromkeys([board.sort_by[1], "ssim"]))
    out = pd.DataFrame(index=frame.index)
    for channel in board.channels():
        for metric in metrics:
            if (channel, metric, "diff") not in frame.columns:
                continue
            diff, p = frame[(channel, metric, "diff")], frame[(channel, metric, "p")]
            out[f"{channel} {metric.upper()}"] = [
                "-" if pd.isna(d) else f"{d:+.{digits}f} (p {stats.format_p(q)})"
                for d, q in zip(diff, p)]
    return out


def guidance_table(board: Leaderboard, digits: int = 3) -> pd.DataFrame | None:
    """Per guided row: for each channel and the Average, the mean paired difference of the
    board's sort metric (and SSIM), guided minus unguided, with its bootstrap p; or None."""
    if board.guidance is None:
        return None
    out = _difference_cells(board.guidance, board, digits)
    out.index.name = "method"
    return out


CONTRAST_TITLE = ("Guided minus each control restarted from the same first estimates (same "
                  "network, same noise: only the masks differ)")
CONTRAST_TEST = ("p: hierarchical bootstrap over seeds and wells, each seed's run paired with "
                 "the control's run of that seed (one seed: over wells only); seeds: the pairs "
                 "whose first estimates are equal (others left out)")


def contrast_table(board: Leaderboard, digits: int = 3) -> pd.DataFrame | None:
    """Per (guided row, control) sharing first estimates: the mean paired difference,
    guided minus control, of the sort metric and SSIM per channel, with p; or None."""
    if board.contrasts is None:
        return None
    out = _difference_cells(board.contrasts, board, digits)
    out["seeds"] = board.contrasts[contrasts.SEEDS].astype(int).to_numpy()
    out.index = [f"{method} - {control}" for method, control in board.contrasts.index]
    out.index.name = "method - control"
    return out


def guidance_numbers(board: Leaderboard) -> pd.DataFrame | None:
    """:func:`guidance_table`'s numbers (for the CSV): per guided row and channel, the mean
    guided-minus-unguided difference of every metric recorded and its bootstrap p."""
    if board.guidance is None:
        return None
    out = pd.DataFrame(index=board.guidance.index)
    for channel, metric, kind in board.guidance.columns:
        name = "guided-unguided" if kind == "diff" else "guided-unguided p"
        out[f"{channel} {metric.upper()} {name}"] = board.guidance[(channel, metric, kind)]
    return out


def contrast_numbers(board: Leaderboard) -> pd.DataFrame | None:
    """:func:`contrast_table`'s numbers (for the CSV): per guided row, per control it pairs
    with and channel, the mean guided-minus-control difference of every metric and its p."""
    if board.contrasts is None:
        return None
    columns: dict[str, pd.Series] = {}
    for control, part in board.contrasts.groupby(level="control", sort=False):
        part = part.droplevel("control")
        for channel, metric, kind in part.columns:
            if (channel, metric, kind) == contrasts.SEEDS:
                continue
            name = f"minus {control}" + (" p" if kind == "p" else "")
            columns[f"{channel} {metric.upper()} {name}"] = part[(channel, metric, kind)]
    return pd.DataFrame(columns)


def _tables(board: Leaderboard):
    """The board's tables of paired differences that it has: (table, title, how its p is
    made, the name of its index)."""
    for table, title, test, name in (
            (guidance_table(board), GUIDANCE_TITLE, GUIDANCE_TEST, "method"),
            (contrast_table(board), CONTRAST_TITLE, CONTRAST_TEST, "method - control")):
        if table is not None:
            yield table, title, test, name


def differences_markdown(board: Leaderboard) -> str:
    """The guidance and contrast tables in markdown, each under its title ("" if neither)."""
    return "".join(f"\n{title}; {test}:\n\n" + table.to_markdown() + "\n"
                   for table, title, test, _ in _tables(board))


def differences_latex(board: Leaderboard, escape_latex: Callable[[str], str]) -> str:
    """The guidance and contrast tables as LaTeX ``tabular`` s ("" if neither)."""
    text = ""
    for extra, title, test, name in _tables(board):
        extra.index = [escape_latex(str(m)) for m in extra.index]
        extra = extra.map(lambda v: v.replace("<", "$<$") if isinstance(v, str) else v)
        caption = escape_latex(f"{title} - {board.title()}; {test}")
        text += "\n" + extra.reset_index(names=name).to_latex(
            escape=False, index=False, caption=caption,
            column_format="l" + "r" * extra.shape[1])
    return text


def guidance_html(board: Leaderboard) -> str:
    """The guidance table (:func:`guidance_table`) and the contrasts against controls
    (:func:`contrast_table`), each as an ``<h4>`` and a table; "" if neither."""
    text = ""
    for extra, title, test, name in _tables(board):
        extra.index = [html.escape(str(m)) for m in extra.index]
        text += (f"<h4>{html.escape(title)}</h4>\n<p class=\"caption\">"
                 f"{html.escape(test)}.</p>\n"
                 + extra.reset_index(names=name).to_html(index=False, border=0,
                                                         classes="leaderboard"))
    return text


def differences_rich(board: Leaderboard, width: int) -> list[Table]:
    """The guidance and contrast tables for a terminal of ``width`` columns."""
    out = []
    for extra, title, _, _ in _tables(board):
        if "seeds" in extra.columns:  # the terminal's tables have CHANNEL METRIC columns only
            extra.index = [f"{row} ({n} seeds)" for row, n in zip(extra.index, extra["seeds"])]
            extra = extra.drop(columns="seeds")
        out.append(_rich(f"{title} - {board.title()}", extra, width))
    return out


def _rich(title: str, guidance: pd.DataFrame, width: int) -> Table:
    """A table of paired differences for the terminal: one row per method where it fits
    ``width``, else one row per method and channel with a column per metric (which fits 80
    columns whatever the channel count)."""
    table = Table(title=escape(title))
    cell = 19  # "+0.004 (p <0.001)" plus borders
    label = max(len(str(m)) for m in guidance.index) + 3
    if label + cell * len(guidance.columns) <= width:
        table.add_column("method", style="bold")
        for column in guidance.columns:
            table.add_column(escape(column), justify="right", overflow="fold")
        for method_name, values in guidance.iterrows():
            table.add_row(escape(str(method_name)), *map(escape, values))
        return table
    # columns are "CHANNEL METRIC": split them into rows per channel, columns per metric
    pairs = [tuple(column.rsplit(" ", 1)) for column in guidance.columns]
    metrics = list(dict.fromkeys(m for _, m in pairs))
    table.add_column("method", style="bold", overflow="fold")
    table.add_column("channel")
    for metric in metrics:
        table.add_column(escape(metric), justify="right", no_wrap=True)
    for method_name, values in guidance.iterrows():
        for k, channel in enumerate(dict.fromkeys(c for c, _ in pairs)):
            table.add_row(escape(str(method_name)) if k == 0 else "", escape(channel),
                          *(escape(values.get(f"{channel} {m}", "-")) for m in metrics))
        table.add_section()
    return table
