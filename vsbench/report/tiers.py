"""The report's section on the biological tiers of one leaderboard's runs.

For the runs of a pixel leaderboard that have the tiers: their instance and feature boards
(:mod:`vsbench.leaderboard.tiers`), the nuclei of the same test field outlined on every
method's predicted DNA stain (ground truth from the data root's cache, the prediction's
re-segmented with the recorded settings), and real-vs-predicted scatter plots of the best
method's best-predicted features (from ``cell_features.csv.gz``).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from vsbench.layout import CELL_FEATURES_FILE, FEATURE_SCORES_FILE, dataset_folder
from vsbench.leaderboard import Leaderboard, formatted
from vsbench.leaderboard.tiers import build_tier_boards
from vsbench.report.images import Image, png_uri
from vsbench.store import RunFolder

N_SCATTER = 4  # features shown per method


def tier_tables(board: Leaderboard) -> list[dict]:
    """A tier board as one HTML table per metric."""
    tables = []
    for metric in dict.fromkeys(m for _, m in board.metric_columns()):
        frame = formatted(board.select(metrics=[metric]), "html")
        frame.index = [html.escape(str(m)) for m in frame.index]
        frame.columns = [c if c else m for c, m in frame.columns]
        tables.append({"metric": f"{board.tier}: {metric}",
                       "html": frame.reset_index(names="method").to_html(
                           escape=False, index=False, border=0, classes="leaderboard")})
    return tables


def board_tier_tables(board: Leaderboard, tier_runs: dict[str, pd.DataFrame]
                      ) -> tuple[list[dict], list[str]]:
    """The HTML tables and captions of every tier board made from ``board``'s runs."""
    folders = set(board.runs["folder"])
    tables, captions = [], []
    for tier, runs in tier_runs.items():
        mine = runs[runs["folder"].isin(folders)]
        for tier_board in build_tier_boards(mine, tier):
            tables += tier_tables(tier_board)
            captions.append(tier_board.caption())
    return tables, captions


def tier_section(board: Leaderboard, tier_runs: dict[str, pd.DataFrame],
                 data_root: Path) -> dict | None:
    """The tiers' tables, outlines and scatter plots for ``board``'s runs (None: none has
    the tiers). ``tier_runs``: the long tables of :func:`load_tier_runs` per tier."""
    tables, captions = board_tier_tables(board, tier_runs)
    if not tables:
        return None
    first = board.runs.drop_duplicates("label")  # one run per row, in ranked order
    figures = [f for f in (_outlines(first, data_root), *_scatter(first.iloc[:1])) if f]
    return {"tables": tables, "captions": captions, "figures": figures}


def _outlines(runs: pd.DataFrame, data_root: Path) -> Image | None:
    """The first test field: each method's predicted DNA with the true nuclei (green) and
    the nuclei found in the prediction (magenta)."""
    from skimage.segmentation import find_boundaries

    from vsbench.biometrics.ground_truth import load
    from vsbench.biometrics.segmentation import NUCLEAR_CHANNELS, channel_index
    from vsbench.biometrics.segmenters import segmenter_for
    from vsbench.engine.predictions import load_test_predictions
    from vsbench.errors import VsbenchError
    from vsbench.report.images import pyplot

    panels = []
    for row in runs.itertuples():
        folder = RunFolder(Path(row.folder))
        try:
            summary = folder.read_metrics().biometrics or {}
            key = (summary.get("ground_truth") or {}).get("cache_key")
            cache = dataset_folder(data_root, folder.read_metrics().dataset).biometrics_cache
            if not key or not (cache / f"{key}.npz").is_file():
                continue
            saved = load_test_predictions(folder.path)
            truth = load(cache / f"{key}.npz")
            segmenter = segmenter_for((summary.get("segmenter") or {}).get("name",
                                                                          "watershed"))
        except (VsbenchError, OSError, ValueError, KeyError):
            continue
        dna = channel_index(saved.channels, NUCLEAR_CHANNELS)
        image = saved.prediction[0].astype(np.float32)
        found = segmenter.segment(image, saved.channels).nuclei
        panels.append((row.label, image[dna], find_boundaries(truth.nuclei[0]),
                       find_boundaries(found), saved.sample_ids[0]))
    if not panels:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.2), squeeze=False)
    for ax, (label, dna, true_edge, found_edge, sample) in zip(axes[0], panels):
        rgb = np.stack([dna] * 3, axis=-1).clip(0, 1)
        rgb[true_edge] = (0.1, 0.9, 0.1)
        rgb[found_edge] = (0.9, 0.1, 0.9)
        ax.imshow(rgb)
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    return Image(png_uri(fig), "nuclei outlines",
                 f"Test field {panels[0][4]}: predicted DNA stain of each method; green: the "
                 "nuclei of the real stain, magenta: those found in the prediction.")


def _scatter(runs: pd.DataFrame) -> list[Image]:
    """Real against predicted values of the best-predicted features of the first run."""
    from vsbench.report.images import pyplot

    out = []
    for row in runs.itertuples():
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
        fig, axes = plt.subplots(1, len(top), figsize=(3 * len(top), 3), squeeze=False)
        for ax, item in zip(axes[0], top.itertuples()):
            pick = cells[(cells["channel"] == item.channel) & (cells["feature"] == item.feature)]
            ax.scatter(pick["real"], pick["predicted"], s=8, alpha=0.7)
            ax.set_title(f"{item.channel} {item.feature}\nr = {item.pearson:.2f}", fontsize=7)
            ax.set_xlabel("real", fontsize=7)
            ax.set_ylabel("predicted", fontsize=7)
        out.append(Image(png_uri(fig), "feature scatter",
                         f"{row.label}: real against predicted values over the test cells of "
                         f"its {len(top)} best-predicted features."))
    return out
