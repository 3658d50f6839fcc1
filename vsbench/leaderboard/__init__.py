"""Leaderboards derived from run folders (pandas): load, build, render.

- :mod:`~vsbench.leaderboard.load`: the completed runs of a results folder, read through the
  results store, as one long table (and the run folders skipped, with why);
- :mod:`~vsbench.leaderboard.board`: the :class:`Leaderboard` object - runs grouped by
  comparability key, averaged over seeds, ranked, with bootstrap intervals and paired tests;
- :mod:`~vsbench.leaderboard.builder`: one builder of boards for every tier (the pixel
  boards: :func:`build_leaderboards`; the others: :mod:`~vsbench.leaderboard.tiers`);
- :mod:`~vsbench.leaderboard.render`: markdown, LaTeX, HTML, CSV and the terminal table, each a
  renderer of one board, and :func:`export`;
- :mod:`~vsbench.leaderboard.reproduction`: does a results folder reproduce a reference one
  (``vsbench compare --against``).

Torch-free: ``vsbench compare`` imports this package and never torch.
"""

from vsbench.errors import LeaderboardError
from vsbench.leaderboard.board import (DEFAULT_SORT, SORT_SYNTAX, Leaderboard, mark_stale,
                                       parse_metrics, parse_sort_by, select_columns)
from vsbench.leaderboard.builder import build_leaderboards
from vsbench.leaderboard.load import GROUP_KEYS, filter_runs, load_runs
from vsbench.leaderboard.render import (FORMATS, cell_text, export, formatted, interval_text,
                                        numeric_table, print_board, render)
from vsbench.leaderboard.reproduction import (CHECKED_METRICS, DEFAULT_TOLERANCE,
                                              check_reproduction)
from vsbench.protocol import AVERAGE

__all__ = ["AVERAGE", "CHECKED_METRICS", "DEFAULT_SORT", "DEFAULT_TOLERANCE", "FORMATS",
           "GROUP_KEYS", "SORT_SYNTAX", "Leaderboard", "LeaderboardError", "build_leaderboards",
           "cell_text", "check_reproduction", "export", "filter_runs", "formatted",
           "interval_text", "load_runs", "mark_stale", "numeric_table", "parse_metrics",
           "parse_sort_by", "print_board", "render", "select_columns"]
