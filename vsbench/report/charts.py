"""The report's charts: per-channel bar charts with confidence intervals, training loss curves."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from vsbench.figures import pyplot
from vsbench.layout import TRAIN_LOG_FILE
from vsbench.leaderboard import Leaderboard
from vsbench.protocol import HIGHER_IS_BETTER, METRICS
from vsbench.report.images import Image, png_uri


def method_colors(methods: Sequence[str]) -> dict[str, tuple]:
    """One tab10 colour per method, in ranked order (the same in every chart of a section)."""
    cmap = pyplot().get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(methods)}


def bar_charts(board: Leaderboard) -> list[Image]:
    """One grouped bar chart per metric: channels (and the Average) on the x axis, one bar per
    method, error bars the 95% bootstrap interval over test images."""
    plt = pyplot()
    channels, methods = board.channels(), list(board.table.index)
    colors = method_colors(methods)
    width = 0.8 / max(len(methods), 1)
    charts = []
    for metric in [m for m in METRICS if any(c[1] == m for c in board.metric_columns())]:
        fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(channels) * max(1, len(methods) / 3)),
                                        3.2))
        x = np.arange(len(channels))
        for i, method in enumerate(methods):
            cols = [(c, metric) for c in channels]
            means = np.array([board.table.loc[method, col] for col in cols], dtype=float)
            bars = ax.bar(x + (i - (len(methods) - 1) / 2) * width, means, width,
                          label=method, color=colors[method])
            if board.ci_low is not None:
                low = np.array([board.ci_low.loc[method, col] for col in cols], dtype=float)
                high = np.array([board.ci_high.loc[method, col] for col in cols], dtype=float)
                # Only intervals that contain their mean (a defined interval always does).
                ok = np.isfinite(low) & np.isfinite(high) & (low <= means) & (means <= high)
                if ok.any():
                    centers = np.array([b.get_x() + b.get_width() / 2 for b in bars])
                    ax.errorbar(centers[ok], means[ok], yerr=[means[ok] - low[ok],
                                                               high[ok] - means[ok]],
                                fmt="none", ecolor="black", elinewidth=1, capsize=2)
        ax.set_xticks(x, channels)
        direction = "higher" if HIGHER_IS_BETTER[metric] else "lower"
        ax.set_ylabel(f"{metric.upper()} ({direction} is better)")
        ax.axhline(0, color="gray", linewidth=0.5)
        ax.legend(fontsize=7, ncols=min(len(methods), 4), loc="best")
        ax.grid(axis="y", alpha=0.3)
        what = (f"95% bootstrap CI over {board.n_images} test images" if board.n_images
                else "no per-image metrics, so no intervals")
        charts.append(Image(png_uri(fig), f"{metric.upper()} per channel",
                            f"{metric.upper()} per channel: mean over runs; error bars: {what}."))
    return charts


def loss_curves(runs: pd.DataFrame, methods: list[str]) -> Image | None:
    """Training loss per epoch of every run: one colour per method, one line style per seed."""
    plt = pyplot()
    colors = method_colors(methods)
    styles = ["-", "--", ":", "-."]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    drawn, positive, last_epoch = 0, True, 1
    for _, row in runs.iterrows():
        try:
            log = pd.read_csv(Path(row["folder"]) / TRAIN_LOG_FILE)
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if not {"epoch", "loss"} <= set(log.columns):
            continue
        # A hand-edited or truncated log: keep its numeric rows only.
        log = log[["epoch", "loss"]].apply(pd.to_numeric, errors="coerce").dropna()
        log = log[np.isfinite(log["loss"])]
        if log.empty:
            continue
        seeds = sorted(runs[runs["method"] == row["method"]]["seed"])
        style = styles[seeds.index(row["seed"]) % len(styles)]
        ax.plot(log["epoch"], log["loss"], style, marker="o", markersize=3,
                color=colors[row["method"]], label=f"{row['method']} seed {row['seed']}")
        positive &= bool((log["loss"] > 0).all())
        last_epoch = max(last_epoch, int(log["epoch"].max()))
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    if positive:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(0.5, last_epoch + 0.5)  # whole epochs, even for a one-epoch run
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (mean over the epoch)")
    ax.legend(fontsize=7, ncols=2)
    ax.grid(alpha=0.3)
    return Image(png_uri(fig), "training loss curves",
                 f"Training loss of {drawn} run{'s' if drawn != 1 else ''} (each method's own "
                 "loss, so the levels of different methods are not comparable).")
