"""Every figure grid vsbench draws (matplotlib, Agg): predictions beside ground truth, the masks
of mask guidance, the report's test fields of every method and its mask arrays, and the atomic
writer they share.

:func:`prediction_grid` and :func:`mask_grid` write a run folder's pictures; :func:`field_grid`
and :func:`array_grid` (and :func:`mask_rows`) return the figure, which the report embeds in its
page."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from vsbench import atomic


def prediction_grid(path: Path, brightfield: np.ndarray, prediction: np.ndarray,
                    target: np.ndarray, channels: Sequence[str], sample_ids: Sequence[str],
                    title: str = "") -> None:
    """Save a PNG: per test image, two rows, the brightfield then each channel's prediction
    (upper row) above its ground truth (lower row).

    Args:
        brightfield: ``[N, planes, H, W]``; the middle plane is shown.
        prediction, target: ``[N, channels, H, W]`` in [0, 1].
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, c = prediction.shape[:2]
    fig, axes = plt.subplots(2 * n, c + 1, figsize=(1.6 * (c + 1), 1.6 * 2 * n), squeeze=False)
    for i in range(n):
        bf = brightfield[i, brightfield.shape[1] // 2]
        for row, (images, kind) in enumerate(((prediction, "prediction"), (target, "truth"))):
            ax_row = axes[2 * i + row]
            if row == 0:
                ax_row[0].imshow(bf, cmap="gray")
                ax_row[0].set_title(f"{sample_ids[i]}", fontsize=6)
            for j in range(c):
                ax_row[j + 1].imshow(images[i, j], cmap="magma", vmin=0, vmax=1)
                if i == 0 and row == 0:
                    ax_row[j + 1].set_title(channels[j], fontsize=8)
            ax_row[1].set_ylabel(kind, fontsize=7)
            for ax in ax_row:
                ax.set_xticks([])
                ax.set_yticks([])
            if row == 1:
                ax_row[0].axis("off")
    save_figure(fig, path, title, dpi=110)


def save_figure(fig, path: Path, title: str | None = None, dpi: int = 100) -> None:
    """Title, lay out and write a matplotlib figure to ``path`` atomically (a temporary file
    renamed into place, so a reader never sees half a PNG), then close it."""
    import matplotlib.pyplot as plt

    import textwrap

    if title:  # wrapped to the figure's width: a narrow grid would clip a long title
        chars = max(int(fig.get_figwidth() * 72 / 9 * 1.6), 12)
        fig.suptitle(textwrap.fill(title, chars), fontsize=9)
    try:
        fig.tight_layout()
        with atomic.replacing(path, fsync=False) as tmp:
            # tight: the saved picture holds every artist, so nothing is cut at its edge
            fig.savefig(tmp, dpi=dpi, format=Path(path).suffix.lstrip(".") or "png",
                        bbox_inches="tight")
    finally:
        plt.close(fig)


def mask_grid(path: Path, masks: np.ndarray, predictions: Any, channels, sample_ids,
              title: str = "") -> None:
    """A PNG: per image, one row per guidance round (the masks that round used), then the final
    prediction; one column per channel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    preds = [p.numpy() if hasattr(p, "numpy") else np.asarray(p) for p in predictions]
    preds = np.concatenate(preds) if preds and preds[0].ndim == 4 else np.asarray(preds)
    n, rounds, c = masks.shape[:3]
    rows = n * (rounds + 1)
    fig, axes = plt.subplots(rows, c, figsize=(1.5 * c, 1.5 * rows), squeeze=False)
    for i in range(n):
        for r in range(rounds + 1):
            row = axes[i * (rounds + 1) + r]
            for j in range(c):
                image = masks[i, r, j] if r < rounds else preds[i, j]
                row[j].imshow(image, cmap="gray" if r < rounds else "magma", vmin=0, vmax=1)
                row[j].set_xticks([])
                row[j].set_yticks([])
                if i == 0 and r == 0:
                    row[j].set_title(channels[j], fontsize=8)
            label = f"round {r + 1} mask" if r < rounds else "prediction"
            row[0].set_ylabel(f"{sample_ids[i]}\n{label}" if r == 0 else label, fontsize=6)
    save_figure(fig, path, title, dpi=100)


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


LABEL_WIDTH = 1.3  # inches of the row-label column of the report's grids
LABEL_CHARS = 18  # characters per line of a row label (wrapped at spaces and hyphens)


def row_label(ax, text: str, fontsize: int = 8) -> None:
    """Write a row's name horizontally, wrapped, right-aligned in the blank cell ``ax`` (a
    rotated label taller than its row would run into the neighbouring rows)."""
    import textwrap

    ax.axis("off")
    # "seed 0" stays on one line: a no-break space, which textwrap does not split at
    text = str(text).replace("seed ", "seed\u00a0")
    ax.text(0.97, 0.5, textwrap.fill(text, LABEL_CHARS), ha="right", va="center",
            fontsize=fontsize, transform=ax.transAxes)


def plane_note(brightfield: np.ndarray) -> str:
    """How a brightfield stack ``[planes, H, W]`` is shown: its middle plane (said only where
    there is more than one)."""
    planes = int(brightfield.shape[0])
    return f"plane {planes // 2 + 1} of {planes}" if planes > 1 else ""


def field_grid(sample_id: str, truth: Mapping[str, np.ndarray],
               predictions: Mapping[str, Mapping[str, np.ndarray]], channels: Sequence[str]):
    """One test field predicted by several methods: the ground truth (top row, with the
    brightfield's middle plane) then one row per entry of ``predictions`` (in its order), one
    column per channel, all on the [0, 1] scale; each row named in a label column on the left.
    Returns the figure.

    ``truth`` and every value of ``predictions`` are the arrays of a ``predictions.npz``
    (``sample_ids``, ``brightfield``, ``target``, ``prediction``) holding ``sample_id``.
    """
    plt = pyplot()
    rows = [("ground truth", truth, "target"),
            *((name, arrays, "prediction") for name, arrays in predictions.items())]
    size = 1.4
    ncols = len(channels) + 2  # label, brightfield, channels
    fig, axes = plt.subplots(
        len(rows), ncols, squeeze=False,
        figsize=(LABEL_WIDTH + size * (ncols - 1), size * len(rows) + 0.3),
        gridspec_kw={"width_ratios": [LABEL_WIDTH / size] + [1] * (ncols - 1)})
    for r, (row_name, arrays, key) in enumerate(rows):
        i = [str(s) for s in arrays["sample_ids"]].index(sample_id)
        row_label(axes[r, 0], row_name)
        if r == 0:
            bf = arrays["brightfield"][i].astype(np.float32)
            axes[r, 1].imshow(bf[bf.shape[0] // 2], cmap="gray")
            note = plane_note(bf)
            axes[r, 1].set_title("brightfield" + (f"\n{note}" if note else ""), fontsize=8)
        for c, channel in enumerate(channels):
            axes[r, c + 2].imshow(arrays[key][i, c].astype(np.float32), cmap="magma", vmin=0,
                                  vmax=1)
            if r == 0:
                axes[r, c + 2].set_title(channel, fontsize=8)
        for ax in axes[r, 1:]:
            ax.set_xticks([])
            ax.set_yticks([])
        if r > 0:
            axes[r, 1].axis("off")
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1 - 0.3 / fig.get_figheight(),
                        wspace=0.05, hspace=0.05)
    return fig


def mask_rows(rows: Mapping[str, np.ndarray], channels: Sequence[str]):
    """Masks of several runs, one row each (named in a label column), one column per channel:
    ``rows`` maps a row name to a ``[C, H, W]`` mask. Returns the figure."""
    plt = pyplot()
    size = 1.1
    ncols = max(a.shape[0] for a in rows.values()) + 1
    fig, axes = plt.subplots(
        len(rows), ncols, squeeze=False,
        figsize=(LABEL_WIDTH + size * (ncols - 1), size * len(rows) + 0.25),
        gridspec_kw={"width_ratios": [LABEL_WIDTH / size] + [1] * (ncols - 1)})
    for r, (name, masks) in enumerate(rows.items()):
        row_label(axes[r, 0], name)
        for j, ax in enumerate(axes[r, 1:]):
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(masks):
                ax.axis("off")
                continue
            ax.imshow(np.asarray(masks[j], np.float32), cmap="gray", vmin=0, vmax=1)
            if r == 0 and len(masks) == len(channels):
                ax.set_title(channels[j], fontsize=8)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1 - 0.25 / fig.get_figheight(),
                        wspace=0.05, hspace=0.05)
    return fig


def array_grid(array: np.ndarray, channels: Sequence[str], max_images: int = 4):
    """A mask array as a figure: [H, W], [C, H, W] (one panel per channel) or [N, C, H, W]
    (the first ``max_images`` images, one row each); channel titles when ``channels`` names
    every panel of a row. Returns the figure."""
    plt = pyplot()
    a = np.asarray(array, dtype=np.float32)
    while a.ndim > 4:
        a = a[0]
    a = a.reshape((1,) * (4 - a.ndim) + a.shape)[:max_images]
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
    return fig
