"""``vsbench report``: one self-contained HTML page about the runs of a results folder.

For every leaderboard (runs on the same data, split and settings): the table with its
uncertainty, per-channel bar charts with 95% bootstrap confidence intervals, a gallery of the
same test fields predicted by every method beside the ground truth (from each run's
``predictions.npz``), the masks mask-guided methods used (``masks.png`` / ``masks.npz``), the
training loss of every run and its speed. Images are PNGs embedded as data URIs, so the page is
one file that can be mailed or archived. Nothing here knows the channel set: it comes from the
runs.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from vsbench.leaderboard import (Leaderboard, build_leaderboards, formatted, load_runs,
                                 mark_stale)
from vsbench import atomic
from vsbench.errors import ReportError
from vsbench.layout import (CONFIG_FILE, MASKS_NPZ, MASKS_PNG, METRICS_FILE, PREDICTIONS_FILE,
                            PREVIEW_FILE, REPORT_FILE, TRAIN_LOG_FILE)

MASK_FILES = (MASKS_PNG, MASKS_NPZ)  # written by mask-guided methods into their run folder
MAX_MASK_IMAGES = 4  # leading entries of a masks.npz array that are drawn


@dataclass
class Image:
    """One embedded picture."""

    src: str  # data URI
    alt: str
    caption: str = ""


def build_report(results_dir: Path, out_dir: Path, data_root: Path = Path("datasets"),
                 n_fields: int = 3) -> Path:
    """Write ``out_dir/report.html`` about every completed run under ``results_dir`` and return
    its path. ``n_fields`` test fields are shown per leaderboard in the gallery."""
    from jinja2 import Environment

    runs, warnings = load_runs(results_dir)
    if runs.empty:
        raise ReportError(f"nothing to report: no completed runs under {results_dir}/runs. "
                          "Make some with `vsbench run --method unet` or `vsbench sweep`.")
    boards = mark_stale(build_leaderboards(runs), data_root)
    sections = [_section(board, i, n_fields) for i, board in enumerate(boards)]
    page = Environment(autoescape=True).from_string(_template()).render(
        sections=sections, warnings=warnings, results_dir=str(results_dir),
        n_runs=int(runs["folder"].nunique()), generated=time.strftime("%Y-%m-%d %H:%M"))
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"Cannot create the report folder {out_dir}: {exc.strerror}; pass "
                          "a writable folder with --out.") from None
    path = out_dir / REPORT_FILE
    atomic.write_text(path, page)
    return path


def _template() -> str:
    from vsbench.report_template import TEMPLATE

    return TEMPLATE


def _section(board: Leaderboard, index: int, n_fields: int) -> dict:
    """Everything the page shows about one leaderboard."""
    methods = list(board.table.index)  # ranked order
    runs = board.runs.assign(order=board.runs["method"].map(methods.index))
    runs = runs.sort_values(["order", "seed", "run"], kind="stable").drop(columns="order")
    gallery, previews = _gallery(board, runs, methods, n_fields)
    return {
        "anchor": f"board-{index}", "title": board.title(), "stale": board.stale,
        "channels": [c for c in board.channels() if c != "Average"], "methods": methods,
        "leaderboard": _leaderboard_tables(board), "caption": board.caption(),
        "charts": _bar_charts(board),
        "gallery": gallery, "previews": previews,
        "masks": [m for folder in runs["folder"] for m in _masks(Path(folder), runs)],
        "loss": _loss_curves(runs, methods),
        "speed": [_speed_row(Path(f)) for f in runs["folder"]],
    }


def _leaderboard_tables(board: Leaderboard) -> list[dict]:
    """The leaderboard as one HTML table per metric (channels as columns), which fits a page
    where one table of every channel and metric would not."""
    from vsbench.protocol import METRICS

    tables = []
    for metric in [m for m in METRICS if any(c[1] == m for c in board.metric_columns())]:
        frame = formatted(board.select(metrics=[metric]), "html")
        frame.index = [html.escape(str(m)) for m in frame.index]
        frame.columns = [c if c else m for c, m in frame.columns]
        frame = frame.reset_index(names="method")
        tables.append({"metric": metric.upper(),
                       "html": frame.to_html(escape=False, index=False, border=0,
                                             classes="leaderboard")})
    return tables


# ---- pictures --------------------------------------------------------------------------------

def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png_uri(fig) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return _uri(buffer.getvalue())


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _method_colors(methods: Sequence[str]) -> dict[str, tuple]:
    cmap = _pyplot().get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(methods)}


def _bar_charts(board: Leaderboard) -> list[Image]:
    """One grouped bar chart per metric: channels (and the Average) on the x axis, one bar per
    method, error bars the 95% bootstrap interval over test images."""
    from vsbench.protocol import HIGHER_IS_BETTER, METRICS

    plt = _pyplot()
    channels, methods = board.channels(), list(board.table.index)
    colors = _method_colors(methods)
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
                ok = np.isfinite(low) & np.isfinite(high)
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
        charts.append(Image(_png_uri(fig), f"{metric.upper()} per channel",
                            f"{metric.upper()} per channel: mean over runs; error bars: {what}."))
    return charts


def _load_predictions(folder: Path) -> dict | None:
    try:
        with np.load(folder / PREDICTIONS_FILE) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    needed = {"brightfield", "prediction", "target", "sample_ids"}
    return arrays if needed <= set(arrays) else None


def _gallery(board: Leaderboard, runs: pd.DataFrame, methods: list[str], n_fields: int
             ) -> tuple[list[Image], list[Image]]:
    """Figures of the same test fields: ground truth and every method's prediction, one column
    per channel. Methods whose runs have no ``predictions.npz`` get their ``predictions.png``
    instead (the second list)."""
    chosen, fallbacks = {}, []
    for method in methods:
        folders = [Path(f) for f in runs[runs["method"] == method]["folder"]]
        for folder in folders:
            arrays = _load_predictions(folder)
            if arrays is not None:
                seed = runs[runs["folder"] == str(folder)]["seed"].iloc[0]
                chosen[f"{method} (seed {seed})"] = (folder, arrays)
                break
        else:
            for folder in folders[:1]:
                if (folder / PREVIEW_FILE).is_file():
                    fallbacks.append(Image(
                        _uri((folder / PREVIEW_FILE).read_bytes()), f"{method} predictions",
                        f"{method} ({folder.name}): no readable predictions.npz in its run "
                        "folder, so its own preview picture is shown."))
    if not chosen:
        return [], fallbacks
    first = next(iter(chosen.values()))[1]
    common = [str(s) for s in first["sample_ids"]
              if all(str(s) in set(map(str, a["sample_ids"])) for _, a in chosen.values())]
    channels = [str(c) for c in first.get("channels", board.channels()[:-1])]
    figures = [_field_figure(sample_id, chosen, channels) for sample_id in common[:n_fields]]
    return figures, fallbacks


def _field_figure(sample_id: str, chosen: dict, channels: list[str]) -> Image:
    plt = _pyplot()
    rows = ["ground truth", *chosen]
    size = 1.5
    fig, axes = plt.subplots(len(rows), len(channels) + 1, squeeze=False,
                             figsize=(size * (len(channels) + 1), size * len(rows)))
    for r, row_name in enumerate(rows):
        if r == 0:
            arrays = next(iter(chosen.values()))[1]
            key = "target"
        else:
            arrays = chosen[row_name][1]
            key = "prediction"
        i = [str(s) for s in arrays["sample_ids"]].index(sample_id)
        if r == 0:
            bf = arrays["brightfield"][i].astype(np.float32)
            axes[r, 0].imshow(bf[bf.shape[0] // 2], cmap="gray")
            axes[r, 0].set_title("brightfield", fontsize=8)
        for c, channel in enumerate(channels):
            axes[r, c + 1].imshow(arrays[key][i, c].astype(np.float32), cmap="magma", vmin=0,
                                  vmax=1)
            if r == 0:
                axes[r, c + 1].set_title(channel, fontsize=8)
        axes[r, 1].set_ylabel(row_name, fontsize=8)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
        if r > 0:
            axes[r, 0].axis("off")
    fig.tight_layout(pad=0.3)
    return Image(_png_uri(fig), f"test field {sample_id}",
                 f"Test field {sample_id}: ground truth (top) and each method's prediction.")


def _masks(folder: Path, runs: pd.DataFrame) -> list[Image]:
    """The masks a run folder holds, as pictures: ``masks.png`` as the method drew it, else
    ``masks.npz`` drawn here (its ``masks`` array, or every image-like array)."""
    row = runs[runs["folder"] == str(folder)].iloc[0]
    label = f"{row['method']} seed {row['seed']} ({folder.name})"
    png, npz = folder / MASK_FILES[0], folder / MASK_FILES[1]
    if png.is_file():
        return [Image(_uri(png.read_bytes()), f"masks of {label}",
                      f"Masks used by {label} ({png.name}).")]
    if not npz.is_file():
        return []
    try:
        with np.load(npz) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        return [Image(_text_png(f"{npz.name} unreadable: {exc}"), f"unreadable masks of {label}",
                      f"{label}: {npz.name} is unreadable.")]
    channels = [str(c) for c in arrays.get("channels", _run_channels(folder))]
    images = {k: a for k, a in arrays.items()
              if a.ndim >= 2 and a.dtype.kind in "biuf" and a.size}
    if "masks" in images:
        images = {"masks": images["masks"]}
    return [Image(_array_grid(array, channels), f"masks {name} of {label}",
                  f"Masks used by {label}: {npz.name}['{name}'], shape {tuple(array.shape)}.")
            for name, array in images.items()]


def _run_channels(folder: Path) -> list[str]:
    try:
        return list(json.loads((folder / METRICS_FILE).read_text())["channels"])
    except (OSError, ValueError, KeyError):
        return []


def _array_grid(array: np.ndarray, channels: list[str]) -> str:
    """A mask array as a picture: [H, W], [C, H, W] (one panel per channel) or
    [N, C, H, W] (the first few images, one row each)."""
    plt = _pyplot()
    a = np.asarray(array, dtype=np.float32)
    while a.ndim > 4:
        a = a[0]
    a = a.reshape((1,) * (4 - a.ndim) + a.shape)[:MAX_MASK_IMAGES]
    n, c = a.shape[:2]
    fig, axes = plt.subplots(n, c, squeeze=False, figsize=(1.5 * c, 1.5 * n))
    for i in range(n):
        for j in range(c):
            axes[i, j].imshow(a[i, j], cmap="viridis")
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0 and c == len(channels):
                axes[i, j].set_title(channels[j], fontsize=8)
    fig.tight_layout(pad=0.3)
    return _png_uri(fig)


def _text_png(text: str) -> str:
    plt = _pyplot()
    fig = plt.figure(figsize=(6, 0.5))
    fig.text(0.01, 0.5, text, fontsize=8, va="center")
    return _png_uri(fig)


def _loss_curves(runs: pd.DataFrame, methods: list[str]) -> Image | None:
    """Training loss per epoch of every run: one colour per method, one line style per seed."""
    plt = _pyplot()
    colors = _method_colors(methods)
    styles = ["-", "--", ":", "-."]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    drawn, positive, last_epoch = 0, True, 1
    for k, (_, row) in enumerate(runs.iterrows()):
        try:
            log = pd.read_csv(Path(row["folder"]) / TRAIN_LOG_FILE)
        except (OSError, ValueError):
            continue
        if not {"epoch", "loss"} <= set(log.columns) or log.empty:
            continue
        seeds = sorted(runs[runs["method"] == row["method"]]["seed"])
        style = styles[seeds.index(row["seed"]) % len(styles)]
        ax.plot(log["epoch"], log["loss"], style, marker="o", markersize=3,
                color=colors[row["method"]], label=f"{row['method']} seed {row['seed']}")
        positive &= bool((log["loss"] > 0).all())
        last_epoch = max(last_epoch, int(log["epoch"].max()))
        drawn += 1
    if not drawn:
        _pyplot().close(fig)
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
    return Image(_png_uri(fig), "training loss curves",
                 f"Training loss of {drawn} run{'s' if drawn != 1 else ''} (each method's own "
                 "loss, so the levels of different methods are not comparable).")


def _speed_row(folder: Path) -> dict:
    metrics = json.loads((folder / METRICS_FILE).read_text())
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        config = {}
    per_image = metrics.get("predict_seconds_per_image")
    return {"method": metrics["method"], "seed": metrics["seed"], "run": folder.name,
            "device": config.get("device", "-"),
            "epochs": (config.get("run") or {}).get("epochs", "-"),
            "train_seconds": f"{metrics['train_seconds']:.1f}",
            "predict_seconds": f"{per_image:.4f}" if per_image is not None else "-",
            "n_test_images": metrics.get("n_test_images", "-")}
