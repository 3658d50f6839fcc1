"""The posterior tier's figures in ``vsbench report`` (:data:`vsbench.tiers.posterior.TIER`'s
``figures``): the calibration curve of every sampler (nominal against empirical coverage of
central per-pixel intervals: an honest ensemble lies on the diagonal, a point mass at zero) and
a sample gallery of one test field (the real stain, each of a stochastic method's samples, their
mean and per-pixel standard deviation). Methods are taken in the pixel leaderboard's rank
order, in their colours of the whole page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vsbench.layout import POSTERIOR_SAMPLES_FILE
from vsbench.leaderboard import Leaderboard
from vsbench.report.charts import PAGE_INCHES, legend_outside
from vsbench.report.images import Image, figure_image
from vsbench.report.methods import Palette, first_runs
from vsbench.store import RunFolder

GALLERY_PANEL_INCHES = 2.0  # one panel of the sample gallery, narrower when many samples


def figures(board: Leaderboard, runs: pd.DataFrame, data_root: Path,
            palette: Palette) -> list[Image]:
    """The calibration curves and the sample gallery of ``board``'s runs (each left out where
    no run has what it draws). ``runs`` and ``data_root``: unused (the contract's arguments)."""
    first = first_runs(board)
    return [f for f in (_calibration(first, palette), _gallery(first)) if f]


def _calibration(runs: pd.DataFrame, palette: Palette) -> Image | None:
    """Nominal against empirical coverage of every sampler (a point mass covers nothing:
    left out, and no figure at all where every method is deterministic)."""
    curves = []
    for row in runs.itertuples():
        try:
            posterior = RunFolder(Path(row.folder)).read_metrics().posterior or {}
        except Exception:  # an unreadable run is named elsewhere
            continue
        calibration = posterior.get("calibration")
        if calibration and posterior.get("stochastic", True) and posterior.get("n_samples", 2) > 1:
            curves.append((row.label, calibration["nominal"],
                           calibration["empirical"]["Average"], calibration.get("calibrated")))
    if not curves:
        return None
    from vsbench.report.images import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(3.4, 3.2))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="nominal")
    expected = {tuple(c[3]) for c in curves if c[3] and any(c[3])}
    for k, line in enumerate(sorted(expected)):  # per ensemble size (usually one)
        ax.plot(curves[0][1], line, color="0.3", linestyle=":",
                label="calibrated, this ensemble size" if k == 0 else None)
    for label, nominal, empirical, _ in curves:
        ax.plot(nominal, empirical, marker="o", markersize=3, label=label,
                color=palette.color(label))
    ax.set_xlabel("nominal coverage", fontsize=8)
    ax.set_ylabel("empirical coverage", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    legend_outside(ax, ax.get_legend_handles_labels()[1])
    methods = [c[0] for c in curves]
    return figure_image(fig, "calibration",
                 "Calibration: the fraction of test pixels inside each method's central "
                 "per-pixel interval of the nominal level (Average over channels). A "
                 "calibrated ensemble of S samples lies on the dotted line, level x (S - 1) / "
                 "(S + 1), not on the diagonal (reached as S grows); below it, the spread is "
                 "too narrow. Deterministic methods (a point mass covers nothing) are left out. "
                 "Methods in rank order.", methods, palette.colors(methods))


def _gallery(runs: pd.DataFrame) -> Image | None:
    """The samples of one test field drawn by the best-ranked method (``runs`` in rank
    order) that kept at least two."""
    for rank, row in enumerate(runs.itertuples(), start=1):
        path = Path(row.folder) / POSTERIOR_SAMPLES_FILE
        try:
            with np.load(path) as saved:
                if "samples" not in saved.files or len(saved["samples"]) < 2:
                    continue
                samples = saved["samples"].astype(np.float32)
                target = saved["target"].astype(np.float32)
                sample_id, channel = str(saved["sample_id"]), str(saved["channels"][0])
        except (OSError, ValueError, KeyError):
            continue
        from vsbench.report.images import pyplot

        panels = [("real stain", target[0])]
        panels += [(f"sample {i + 1}", s[0]) for i, s in enumerate(samples)]
        panels += [("sample mean", samples[:, 0].mean(0)), ("std", samples[:, 0].std(0))]
        plt = pyplot()
        size = min(GALLERY_PANEL_INCHES, PAGE_INCHES / len(panels))
        fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size + 0.3),
                                 squeeze=False)
        for ax, (title, image) in zip(axes[0], panels):
            ax.imshow(image, cmap="gray", vmin=0, vmax=None if title == "std" else 1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
        fig.tight_layout(pad=0.3)
        which = ("the best-ranked method" if rank == 1
                 else f"ranked {rank}, the best-ranked method with samples")
        return figure_image(fig, "sample gallery",
                            f"{row.label} ({which}) on test field {sample_id} ({channel}): the "
                            f"real stain, its {len(samples)} samples (the first is the run's "
                            "prediction), their mean and per-pixel standard deviation.",
                            [row.label])
    return None
