"""The profile tier's figure in ``vsbench report`` (:data:`vsbench.tiers.profiles.TIER`'s
``figures``): the phenotypic-activity mAP per perturbation as bars, the real stain beside each
method (the pixel leaderboard's rank order, in their colours of the whole page).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from vsbench.leaderboard import Leaderboard
from vsbench.report.charts import grouped_axes_inches, legend_outside
from vsbench.report.images import Image, figure_image
from vsbench.report.methods import REAL_STAIN, Palette, ranked_runs


def figures(board: Leaderboard, palette: Palette,
            perturbation_table: Callable[[dict[str, list[str]]], pd.DataFrame]) -> list[Image]:
    """The mAP bars of ``board``'s runs (none where no run has the tier's table), from
    ``perturbation_table`` (:func:`vsbench.tiers.profiles.perturbation_table`, passed in by
    the tier: this module does not import the tier that names it)."""
    by_label = {label: list(g["folder"])
                for label, g in ranked_runs(board).groupby("label", sort=False)}
    bars = _map_bars(perturbation_table(by_label), palette)
    return [bars] if bars else []


def _map_bars(table: pd.DataFrame, palette: Palette) -> Image | None:
    """The mAP per perturbation (``table``: the tier's
    :func:`~vsbench.tiers.profiles.perturbation_table`): the real stain's bar, then each
    method's (rank order)."""
    if table.empty:
        return None
    from vsbench.report.images import pyplot

    table = table.drop(index="agreement r")
    labels = [str(c) for c in table.columns]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(grouped_axes_inches(len(table), len(labels), labels) + 1.0,
                                    3.0))
    fig.subplots_adjust(left=0.9 / fig.get_figwidth(), right=0.99)  # legend: beyond
    width = 0.8 / len(labels)
    x = np.arange(len(table))
    for k, column in enumerate(labels):
        ax.bar(x + (k - (len(labels) - 1) / 2) * width, table[column].to_numpy(), width,
               label=column, color=palette.color(column))
    ax.set_xticks(x, [str(p) for p in table.index], fontsize=7, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mAP (phenotypic activity)", fontsize=8)
    legend_outside(ax, labels)
    methods = [c for c in labels if c != REAL_STAIN]
    return figure_image(fig, "mAP per perturbation",
                        "Phenotypic activity mAP of each treated perturbation's replicate wells "
                        "against the control wells: profiles from the real stain (grey) and "
                        "from each method's prediction (mean over its runs), in rank order.",
                        methods, palette.colors(methods))
