"""Pictures of predictions beside ground truth, for a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


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
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    tmp.replace(path)
