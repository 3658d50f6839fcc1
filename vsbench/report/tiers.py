"""The report's tier sections: one per tier of the registry (:mod:`vsbench.tiers.registry`,
built-in or a plugin's) that a run of the leaderboard has, in the registry's order.

Every tier but the pixel one, whose board is the section's own leaderboard: the tier's boards
over the leaderboard's runs (:mod:`vsbench.leaderboard.tiers`, the same as ``vsbench compare
--tier NAME``), one HTML table per metric with each board's caption under its own tables, and
the figures the tier declares (:attr:`vsbench.tiers.TierSpec.figures`; the built-in tiers' are
drawn by :mod:`~vsbench.report.instance_figures`, :mod:`~vsbench.report.feature_figures`,
:mod:`~vsbench.report.profile_figures` and :mod:`~vsbench.report.posterior_figures`). The
template renders every section with one block.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from vsbench.leaderboard import Leaderboard, formatted
from vsbench.leaderboard.tiers import board_tiers, build_tier_boards, load_tier_runs
from vsbench.report.images import Image
from vsbench.report.methods import Palette
from vsbench.tiers.contract import TierSpec
from vsbench.tiers.registry import all_tiers


def load_board_tiers(results_dir: Path) -> dict[str, pd.DataFrame]:
    """Every board tier's long table of the counted runs that have it
    (:func:`~vsbench.leaderboard.tiers.load_tier_runs`), by tier name in the registry's
    order; the runs lacking a tier are named by ``vsbench compare --tier``, not here."""
    return {name: load_tier_runs(results_dir, name)[0] for name in board_tiers()}


def tier_tables(board: Leaderboard) -> list[dict]:
    """A tier board as one HTML table per metric."""
    tables = []
    for metric in dict.fromkeys(m for _, m in board.metric_columns()):
        frame = formatted(board.select(metrics=[metric]), "html",
                          ranked=metric == board.sort_by[1])
        frame.index = [html.escape(str(m)) for m in frame.index]
        frame.columns = [c if c else m for c, m in frame.columns]
        tables.append({"metric": f"{board.tier}: {metric}",
                       "html": frame.reset_index(names="method").to_html(
                           escape=False, index=False, border=0, classes="leaderboard")})
    return tables


def board_tier_tables(board: Leaderboard, tier: str, runs: pd.DataFrame) -> list[dict]:
    """The boards of ``tier`` made from ``board``'s rows of the tier's long table ``runs``:
    each one's ``title``, HTML ``tables`` and ``caption`` (kept together, so that each caption
    sits under its own tables)."""
    return [{"title": tier_board.title(), "tables": tier_tables(tier_board),
             "caption": tier_board.caption()}
            for tier_board in build_tier_boards(runs, tier)]


def tier_sections(board: Leaderboard, tier_runs: dict[str, pd.DataFrame], data_root: Path,
                  palette: Palette) -> tuple[list[dict], list[str]]:
    """The sections of the tiers that ``board``'s runs have (``tier_runs``: the long tables
    of :func:`load_board_tiers`), and the names of the tiers none of them has (the page says
    how to score them)."""
    specs, sections, missing = all_tiers(), [], []
    for name, runs in tier_runs.items():
        section = tier_section(board, specs[name], runs, data_root, palette)
        if section is None:
            missing.append(name)
        else:
            sections.append(section)
    return sections, missing


def tier_section(board: Leaderboard, spec: TierSpec, runs: pd.DataFrame, data_root: Path,
                 palette: Palette) -> dict | None:
    """One tier's section for ``board``'s runs: ``title``, ``description``, ``boards`` (as
    :func:`board_tier_tables`), ``figures`` and ``problem`` (why its figures are missing);
    None where no run of ``board`` has the tier."""
    mine = runs[runs["folder"].isin(set(board.runs["folder"]))]
    boards = board_tier_tables(board, spec.name, mine)
    if not boards:
        return None
    figures, problem = tier_figures(spec, board, mine, data_root, palette)
    return {"name": spec.name, "title": f"{spec.name[:1].upper()}{spec.name[1:]} tier",
            "description": _sentence(spec.description), "boards": boards, "figures": figures,
            "problem": problem}


def tier_figures(spec: TierSpec, board: Leaderboard, runs: pd.DataFrame, data_root: Path,
                 palette: Palette) -> tuple[list[Image], str | None]:
    """The figures ``spec`` declares for ``board``'s runs, and what went wrong drawing them
    (None: nothing). A tier's failing figures (a plugin's bug, say) are named on the page
    instead of ending the report."""
    if spec.figures is None:
        return [], None
    try:
        drawn = spec.figures(board, runs, data_root, palette)
    except Exception as exc:  # noqa: BLE001 - any tier's code; named on the page
        return [], (f"The {spec.name} tier's figures could not be drawn: "
                    f"{type(exc).__name__}: {exc}")
    return [figure for figure in drawn or () if figure is not None], None



def _sentence(text: str) -> str:
    """A tier's one-line description as a sentence (capitalised, with a full stop)."""
    text = text.strip()
    return f"{text[:1].upper()}{text[1:]}" + ("" if text.endswith((".", "!", "?")) else ".")
