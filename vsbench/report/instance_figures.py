"""The instance tier's figure in ``vsbench report`` (:data:`vsbench.tiers.instance.TIER`'s
``figures``): the nuclei of the same test field outlined on every method's predicted DNA stain
(ground truth from the data root's cache, the prediction's re-segmented with the recorded
settings). Methods are taken in the pixel leaderboard's rank order, and the figure names the
methods it shows.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from vsbench.layout import TEST_PREDICTIONS_FILE, dataset_folder
from vsbench.leaderboard import Leaderboard
from vsbench.report.images import Image, figure_image
from vsbench.report.methods import Palette, first_runs
from vsbench.store import RunFolder

PANEL_INCHES = 2.2  # one method's outlined nuclei
PANELS_PER_ROW = 5  # so that ten methods' outlines fit the page in two rows


def figures(board: Leaderboard, runs: pd.DataFrame, data_root: Path,
            palette: Palette) -> list[Image]:
    """The nuclei outlines of ``board``'s runs (one run per row, rank order; none where no
    run's ground truth is cached under ``data_root``). ``runs``: unused (the contract's)."""
    outlines = _outlines(first_runs(board), data_root, palette)
    return [outlines] if outlines else []


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
