"""The order and the colour of the report's methods.

Every section shows its methods in its leaderboard's rank order (:func:`ranked_runs`), and a
method (a configuration label) has one colour in every figure of the page (:class:`Palette`),
whichever board or tier the figure belongs to.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from vsbench.figures import pyplot
from vsbench.leaderboard import Leaderboard

REAL_STAIN = "real stain"  # the reference bar / line of the tier figures: always grey
REAL_STAIN_COLOR = "#4d4d4d"


def ranked_runs(board: Leaderboard) -> pd.DataFrame:
    """``board``'s runs (one row per run, ``label`` the configuration) in the board's rank
    order, then by seed and run folder; its ``method`` column is the label, which is what the
    figures name."""
    methods = list(board.table.index)
    runs = board.runs.assign(method=board.runs["label"],
                             order=board.runs["label"].map(methods.index))
    return runs.sort_values(["order", "seed", "run"], kind="stable").drop(columns="order")


def first_runs(board: Leaderboard) -> pd.DataFrame:
    """One run per configuration of ``board`` (its lowest seed), in rank order."""
    return ranked_runs(board).drop_duplicates("label")


class Palette:
    """One colour per method label across the page: labels get tab10's colours in the order
    they first appear (boards in page order, each in rank order), then tab20's lighter shades,
    so that up to 20 methods never share a colour."""

    def __init__(self, labels: Iterable[str] = ()):
        self._colors: dict[str, str] = {}
        for label in labels:
            self.color(label)

    def color(self, label: str) -> str:
        """The label's colour as ``#rrggbb`` (a new label gets the next free colour)."""
        if label == REAL_STAIN:
            return REAL_STAIN_COLOR
        if label not in self._colors:
            self._colors[label] = _nth_color(len(self._colors))
        return self._colors[label]

    def colors(self, labels: Iterable[str]) -> tuple[str, ...]:
        """The colours of ``labels``, in their order."""
        return tuple(self.color(label) for label in labels)


def _nth_color(n: int) -> str:
    from matplotlib.colors import to_hex

    plt = pyplot()
    if n < 10:
        return to_hex(plt.get_cmap("tab10")(n))
    return to_hex(plt.get_cmap("tab20")((2 * (n - 10) + 1) % 20))
