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
from vsbench.report.images import Image, figure_image
from vsbench.report.methods import Palette


PAGE_INCHES = 11.0  # widest figure (at 100 dpi, legend included) the page shows unscaled
BAR_INCHES = 0.14  # one bar
LEGEND_CHAR_INCHES = 0.055  # a legend character at font size 7 (to budget its width)


def legend_outside(ax, labels: Sequence[str], handles: Sequence | None = None) -> None:
    """The axes' legend (or one of ``handles``, e.g. another panel's) to the right of the
    axes, never over what is plotted; two columns when a column would be taller than the
    axes."""
    columns = 1 if len(labels) <= 14 else 2
    args = (handles, labels) if handles is not None else ()
    ax.legend(*args, fontsize=7, ncols=columns, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0, frameon=False)


def legend_inches(labels: Sequence[str]) -> float:
    """About how wide :func:`legend_outside`'s legend of ``labels`` is."""
    columns = 1 if len(labels) <= 14 else 2
    return columns * (0.45 + LEGEND_CHAR_INCHES * max((len(str(x)) for x in labels), default=0))


def grouped_axes_inches(n_groups: int, n_bars: int, labels: Sequence[str]) -> float:
    """The width of a grouped bar chart's axes: each bar its own width, so a one-channel chart
    is narrow and ten methods widen it, but never past the page with the legend beside it."""
    room = PAGE_INCHES - 1.0 - legend_inches(labels)
    return float(np.clip(n_groups * max(0.6, n_bars * BAR_INCHES / 0.8), 1.6, room))


def bar_charts(board: Leaderboard, palette: Palette) -> list[Image]:
    """One grouped bar chart per metric: channels (and the Average) on the x axis, one bar per
    method in rank order, error bars the 95% interval (hierarchical bootstrap over seeds and wells)."""
    plt = pyplot()
    channels, methods = board.channels(), list(board.table.index)
    colors = palette.colors(methods)
    width = 0.8 / max(len(methods), 1)
    charts = []
    for metric in [m for m in METRICS if any(c[1] == m for c in board.metric_columns())]:
        fig, ax = plt.subplots(figsize=(grouped_axes_inches(len(channels), len(methods),
                                                            methods) + 1.0, 3.0))
        fig.subplots_adjust(left=0.9 / fig.get_figwidth(), right=0.99)  # legend: beyond
        x = np.arange(len(channels))
        for i, method in enumerate(methods):
            cols = [(c, metric) for c in channels]
            means = np.array([board.table.loc[method, col] for col in cols], dtype=float)
            bars = ax.bar(x + (i - (len(methods) - 1) / 2) * width, means, width,
                          label=method, color=colors[i])
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
        ax.set_ylabel(f"{metric.upper()} ({direction} is better)", fontsize=8)
        ax.axhline(0, color="gray", linewidth=0.5)
        legend_outside(ax, methods)
        ax.grid(axis="y", alpha=0.3)
        what = (f"95% CI resampling {board.interval_note}" if board.n_images
                else "no per-image metrics, so no intervals")
        charts.append(figure_image(
            fig, f"{metric.upper()} per channel",
            f"{metric.upper()} per channel: mean over runs, methods in rank order; error bars: "
            f"{what}.", methods, colors))
    return charts


def _read_log(folder: Path) -> pd.DataFrame | None:
    """A run's numeric epoch, loss (and val_loss) rows; None without any."""
    try:
        log = pd.read_csv(folder / TRAIN_LOG_FILE)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not {"epoch", "loss"} <= set(log.columns):
        return None
    # A hand-edited or truncated log: keep its numeric rows only.
    columns = ["epoch", "loss", *(["val_loss"] if "val_loss" in log.columns else [])]
    log = log[columns].apply(pd.to_numeric, errors="coerce")
    log = log[log["epoch"].notna() & np.isfinite(log["loss"])]
    return None if log.empty else log


def loss_curves(runs: pd.DataFrame, palette: Palette) -> Image | None:
    """Training loss per epoch of every run (``runs`` in rank order, ``method`` the label): one
    colour per method, one line style per seed; beside it, where runs logged one, the loss on
    validation fields (``val_loss``) in the same colours and styles."""
    logs = [(row, log) for _, row in runs.iterrows()
            if (log := _read_log(Path(row["folder"]))) is not None]
    if not logs:
        return None
    with_val = any("val_loss" in log and log["val_loss"].notna().any() for _, log in logs)
    plt = pyplot()
    styles = ["-", "--", ":", "-."]
    fig, axes = plt.subplots(1, 2 if with_val else 1, figsize=(8.0 if with_val else 5.5, 3.0),
                             squeeze=False)
    panels = [("loss", "training loss (mean over the epoch)")]
    if with_val:
        panels.append(("val_loss", "validation loss (after the epoch)"))
    shown, last_epoch = [], 1
    for ax, (column, label) in zip(axes[0], panels):
        positive = True
        for row, log in logs:
            if column not in log or log[column].isna().all():
                continue
            values = log[["epoch", column]].dropna()
            seeds = sorted(runs[runs["method"] == row["method"]]["seed"])
            style = styles[seeds.index(row["seed"]) % len(styles)]
            ax.plot(values["epoch"], values[column], style, marker="o", markersize=3,
                    color=palette.color(row["method"]),
                    label=f"{row['method']} seed {row['seed']}")
            shown.append(row["method"])
            positive &= bool((values[column] > 0).all())
            last_epoch = max(last_epoch, int(values["epoch"].max()))
        if positive:
            ax.set_yscale("log")
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    from matplotlib.ticker import MaxNLocator

    for ax in axes[0]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(0.5, last_epoch + 0.5)  # whole epochs, even for a one-epoch run
    if with_val:
        fig.subplots_adjust(wspace=0.35)
    handles, labels = axes[0][0].get_legend_handles_labels()  # every run has a training loss
    legend_outside(axes[0][-1], labels, handles)
    methods = list(dict.fromkeys(shown))
    drawn = len(logs)
    return figure_image(
        fig, "training loss curves",
        f"Training loss of {drawn} run{'s' if drawn != 1 else ''}"
        + (" and, right, the loss on the validation fields after each epoch" if with_val
           else "")
        + ", methods in rank order (each method's own loss, so the levels of different "
        "methods are not comparable).",
        methods, palette.colors(methods))
