"""The feature tier's figure in ``vsbench report`` (:data:`vsbench.tiers.features.TIER`'s
``figures``): real-vs-predicted scatter plots of the best method's best-predicted features (from
``cell_features.csv.gz``), the method named in the caption.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vsbench.layout import CELL_FEATURES_FILE, FEATURE_SCORES_FILE
from vsbench.leaderboard import Leaderboard
from vsbench.report.images import Image, figure_image
from vsbench.report.methods import Palette, first_runs

N_SCATTER = 4  # features shown per method


def figures(board: Leaderboard, runs: pd.DataFrame, data_root: Path,
            palette: Palette) -> list[Image]:
    """The feature scatter of the best-ranked of ``board``'s runs that measured cell
    features (none where no run did). ``runs`` and ``data_root``: unused (the contract's)."""
    scatter = _scatter(first_runs(board), palette)
    return [scatter] if scatter else []


def _scatter(runs: pd.DataFrame, palette: Palette) -> Image | None:
    """Real against predicted values of the best-predicted features of the best-ranked method
    (``runs`` in rank order) that measured cell features."""
    from vsbench.report.images import pyplot

    for rank, row in enumerate(runs.itertuples(), start=1):
        try:
            scores = pd.read_csv(Path(row.folder) / FEATURE_SCORES_FILE)
            cells = pd.read_csv(Path(row.folder) / CELL_FEATURES_FILE)
        except (OSError, ValueError):
            continue
        scores = scores[~scores["channel"].str.contains("|", regex=False)]
        top = scores.dropna(subset=["pearson"]).nlargest(N_SCATTER, "pearson")
        if top.empty:
            continue
        plt = pyplot()
        fig, axes = plt.subplots(1, len(top), figsize=(2.6 * len(top), 2.6), squeeze=False)
        for ax, item in zip(axes[0], top.itertuples()):
            pick = cells[(cells["channel"] == item.channel) & (cells["feature"] == item.feature)]
            ax.scatter(pick["real"], pick["predicted"], s=8, alpha=0.7,
                       color=palette.color(row.label))
            ax.set_title(f"{item.channel} {item.feature}\nr = {item.pearson:.2f}", fontsize=7)
            ax.set_xlabel("real", fontsize=7)
            ax.set_ylabel("predicted", fontsize=7)
            ax.tick_params(labelsize=6)
        fig.tight_layout(pad=0.4)
        which = ("the best-ranked method" if rank == 1 else
                 f"ranked {rank}, the best-ranked method with cell features")
        return figure_image(fig, "feature scatter",
                            f"{row.label} ({which}): real against predicted values over the "
                            f"test cells of its {len(top)} best-predicted features.",
                            [row.label], [palette.color(row.label)])
    return None
