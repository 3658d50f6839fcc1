"""Every figure grid vsbench draws (matplotlib, Agg): predictions beside ground truth, the masks
of mask guidance, and the atomic writer they share."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

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
