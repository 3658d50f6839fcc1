"""The report's section on the profile and posterior tiers of one leaderboard's runs.

Their boards (:mod:`vsbench.leaderboard.tiers`), the phenotypic-activity mAP per perturbation
as bars (the real stain beside each method), the calibration curve of every method (nominal
against empirical coverage of central per-pixel intervals: an honest ensemble lies on the
diagonal, a point mass at zero) and a sample gallery of one test field (the real stain, each
of a stochastic method's samples, their mean and per-pixel standard deviation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vsbench.layout import POSTERIOR_SAMPLES_FILE
from vsbench.leaderboard import Leaderboard
from vsbench.leaderboard.later_tiers import perturbation_table
from vsbench.report.images import Image, png_uri
from vsbench.report.tiers import board_tier_tables
from vsbench.store import RunFolder


def later_section(board: Leaderboard, tier_runs: dict[str, pd.DataFrame]) -> dict | None:
    """The tables and figures of the two tiers for ``board``'s runs (None: no run has them).
    ``tier_runs``: the long tables of :func:`load_tier_runs` for ``profiles`` and
    ``posterior``."""
    tables, captions = board_tier_tables(board, tier_runs)
    if not tables:
        return None
    first = board.runs.drop_duplicates("label")
    by_label = {label: list(g["folder"]) for label, g in board.runs.groupby("label", sort=False)}
    figures = [f for f in (_map_bars(by_label), _calibration(first), _gallery(first)) if f]
    return {"tables": tables, "captions": captions, "figures": figures}


def _map_bars(folders: dict[str, list[str]]) -> Image | None:
    table = perturbation_table(folders)
    if table.empty:
        return None
    from vsbench.report.images import pyplot

    table = table.drop(index="agreement r")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(table), 3.2))
    width = 0.8 / len(table.columns)
    for k, column in enumerate(table.columns):
        ax.bar(np.arange(len(table)) + k * width, table[column].to_numpy(), width,
               label=str(column), color="0.3" if column == "real stain" else None)
    ax.set_xticks(np.arange(len(table)) + 0.4 - width / 2)
    ax.set_xticklabels(table.index, fontsize=7, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mAP (phenotypic activity)", fontsize=8)
    ax.legend(fontsize=7)
    return Image(png_uri(fig), "mAP per perturbation",
                 "Phenotypic activity mAP of each treated perturbation's replicate wells "
                 "against the control wells: profiles from the real stain (grey) and from "
                 "each method's prediction (mean over its runs).")


def _calibration(runs: pd.DataFrame) -> Image | None:
    curves = []
    for row in runs.itertuples():
        try:
            posterior = RunFolder(Path(row.folder)).read_metrics().posterior or {}
        except Exception:  # an unreadable run is named elsewhere
            continue
        calibration = posterior.get("calibration")
        if calibration:
            curves.append((row.label, calibration["nominal"],
                           calibration["empirical"]["Average"], calibration.get("calibrated")))
    if not curves:
        return None
    from vsbench.report.images import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(3.6, 3.4))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="nominal")
    expected = {tuple(c[3]) for c in curves if c[3] and any(c[3])}
    for k, line in enumerate(sorted(expected)):  # per ensemble size (usually one)
        ax.plot(curves[0][1], line, color="0.3", linestyle=":",
                label="calibrated, this ensemble size" if k == 0 else None)
    for label, nominal, empirical, _ in curves:
        ax.plot(nominal, empirical, marker="o", markersize=3, label=label)
    ax.set_xlabel("nominal coverage", fontsize=8)
    ax.set_ylabel("empirical coverage", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=6)
    return Image(png_uri(fig), "calibration",
                 "Calibration: the fraction of test pixels inside each method's central "
                 "per-pixel interval of the nominal level (Average over channels). A "
                 "calibrated ensemble of S samples lies on the dotted line, level x (S - 1) / "
                 "(S + 1), not on the diagonal (reached as S grows); below it, the spread is "
                 "too narrow; a deterministic method (a point mass) covers nothing.")


def _gallery(runs: pd.DataFrame) -> Image | None:
    for row in runs.itertuples():
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
        fig, axes = plt.subplots(1, len(panels), figsize=(2 * len(panels), 2.3), squeeze=False)
        for ax, (title, image) in zip(axes[0], panels):
            ax.imshow(image, cmap="gray", vmin=0, vmax=None if title == "std" else 1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
        return Image(png_uri(fig), "sample gallery",
                     f"{row.label} on test field {sample_id} ({channel}): the real stain, "
                     f"its {len(samples)} samples (the first is the run's prediction), their "
                     "mean and per-pixel standard deviation.")
    return None
