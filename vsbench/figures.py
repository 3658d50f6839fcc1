"""Every figure grid vsbench draws (matplotlib, Agg): predictions beside ground truth, the masks
of mask guidance, the report's test fields of every method and its mask arrays, and the atomic
writer they share.

:func:`prediction_grid` and :func:`mask_grid` write a run folder's pictures; :func:`field_grid`
and :func:`array_grid` return the figure, which the report embeds in its page."""

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

    if title:
        fig.suptitle(title, fontsize=9)
    try:
        fig.tight_layout()
        with atomic.replacing(path, fsync=False) as tmp:
            fig.savefig(tmp, dpi=dpi, format=Path(path).suffix.lstrip(".") or "png")
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


def field_grid(sample_id: str, truth: Mapping[str, np.ndarray],
               predictions: Mapping[str, Mapping[str, np.ndarray]], channels: Sequence[str]):
    """One test field predicted by several methods: the ground truth (top row, with the
    brightfield's middle plane) then one row per entry of ``predictions``, one column per
    channel, all on the [0, 1] scale. Returns the figure.

    ``truth`` and every value of ``predictions`` are the arrays of a ``predictions.npz``
    (``sample_ids``, ``brightfield``, ``target``, ``prediction``) holding ``sample_id``.
    """
    plt = pyplot()
    rows = [("ground truth", truth, "target"),
            *((name, arrays, "prediction") for name, arrays in predictions.items())]
    size = 1.5
    fig, axes = plt.subplots(len(rows), len(channels) + 1, squeeze=False,
                             figsize=(size * (len(channels) + 1), size * len(rows)))
    for r, (row_name, arrays, key) in enumerate(rows):
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
