"""The report's section on the biological tiers of one leaderboard's runs.

For the runs of a pixel leaderboard that have the tiers: their instance and feature boards
(:mod:`vsbench.leaderboard.tiers`), the nuclei of the same test field outlined on every
method's predicted DNA stain (ground truth from the data root's cache, the prediction's
re-segmented with the recorded settings), and real-vs-predicted scatter plots of the best
method's best-predicted features (from ``cell_features.csv.gz``). Methods are taken in the pixel
leaderboard's rank order, and every figure names the methods it shows.
"""

from __future__ import annotations

import html
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from vsbench.layout import (CELL_FEATURES_FILE, FEATURE_SCORES_FILE, TEST_PREDICTIONS_FILE,
                            dataset_folder)
from vsbench.leaderboard import Leaderboard, formatted
from vsbench.leaderboard.tiers import build_tier_boards
from vsbench.report.images import Image, figure_image
from vsbench.report.methods import Palette, first_runs
from vsbench.store import RunFolder

N_SCATTER = 4  # features shown per method
PANEL_INCHES = 2.2  # one method's outlined nuclei
PANELS_PER_ROW = 5  # so that ten methods' outlines fit the page in two rows


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


def board_tier_tables(board: Leaderboard, tier_runs: dict[str, pd.DataFrame]) -> list[dict]:
    """Every tier board made from ``board``'s runs: its ``title``, its HTML ``tables`` and its
    ``caption`` (kept together, so that each caption sits under its own tables)."""
    folders = set(board.runs["folder"])
    groups = []
    for tier, runs in tier_runs.items():
        mine = runs[runs["folder"].isin(folders)]
        for tier_board in build_tier_boards(mine, tier):
            groups.append({"title": tier_board.title(), "tables": tier_tables(tier_board),
                           "caption": tier_board.caption()})
    return groups


def tier_section(board: Leaderboard, tier_runs: dict[str, pd.DataFrame],
                 data_root: Path, palette: Palette) -> dict | None:
    """The tiers' tables, outlines and scatter plots for ``board``'s runs (None: none has
    the tiers). ``tier_runs``: the long tables of :func:`load_tier_runs` per tier."""
    boards = board_tier_tables(board, tier_runs)
    if not boards:
        return None
    first = first_runs(board)  # one run per row, in ranked order
    figures = [f for f in (_outlines(first, data_root, palette), _scatter(first, palette)) if f]
    return {"boards": boards, "figures": figures}


def _outlines(runs: pd.DataFrame, data_root: Path, palette: Palette) -> Image | None:
    """The first test field: each method's predicted DNA (rank order, titled in its colour)
    with the true nuclei (green) and the nuclei found in the prediction (magenta)."""
    from skimage.segmentation import find_boundaries

    from vsbench.biometrics.ground_truth import load
    from vsbench.biometrics.segmentation import NUCLEAR_CHANNELS, channel_index
    from vsbench.biometrics.segmenters import segmenter_for
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
            image, channels, sample_id = _first_prediction(folder.path)
            truth = load(cache / f"{key}.npz")
            segmenter = segmenter_for((summary.get("segmenter") or {}).get("name",
                                                                          "watershed"))
        except (VsbenchError, OSError, ValueError, KeyError, IndexError, EOFError,
                zipfile.BadZipFile):
            continue
        dna = channel_index(channels, NUCLEAR_CHANNELS)
        found = segmenter.segment(image, channels).nuclei
        panels.append((row.label, image[dna], find_boundaries(truth.nuclei[0]),
                       find_boundaries(found), sample_id))
    if not panels:
        return None
    import textwrap

    plt = pyplot()
    ncols = min(len(panels), PANELS_PER_ROW)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(PANEL_INCHES * ncols, (PANEL_INCHES + 0.35) * nrows))
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, dna, true_edge, found_edge, sample) in zip(axes.flat, panels):
        rgb = np.stack([dna] * 3, axis=-1).clip(0, 1)
        rgb[true_edge] = (0.1, 0.9, 0.1)
        rgb[found_edge] = (0.9, 0.1, 0.9)
        ax.imshow(rgb)
        ax.set_title(textwrap.shorten(label, 30, placeholder="..."), fontsize=8,
                     color=palette.color(label))
    fig.tight_layout(pad=0.3)
    shown = [p[0] for p in panels]
    return figure_image(fig, "nuclei outlines",
                        f"Test field {panels[0][4]}: predicted DNA stain of each method, in "
                        "rank order; green: the nuclei of the real stain, magenta: those found "
                        "in the prediction.", shown, palette.colors(shown))


def _first_prediction(folder: Path) -> tuple[np.ndarray, tuple[str, ...], str]:
    """The first test image's prediction in a run's ``test_predictions.npz`` (float32), its
    channels and sample id. Read here, not with :mod:`vsbench.engine.predictions`, whose
    package imports torch: the report is torch-free."""
    with np.load(Path(folder) / TEST_PREDICTIONS_FILE) as data:
        return (data["prediction"][0].astype(np.float32),
                tuple(str(c) for c in data["channels"]), str(data["sample_ids"][0]))


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
