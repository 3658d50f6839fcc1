"""Hand-made fields for the biometrics tests: disks of nuclei inside ring-stained cells."""

from __future__ import annotations

import numpy as np

CHANNELS = ("DNA", "ER", "RNA", "AGP", "Mito")


def disk(shape: tuple[int, int], y: float, x: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return (yy - y) ** 2 + (xx - x) ** 2 <= r * r


def field(seed: int, size: int = 64, n_cells: int = 4) -> np.ndarray:
    """A ``(5, size, size)`` field in [0, 1]: per cell a bright nucleus (DNA), a cytoplasm
    (ER, RNA) and a membrane ring (AGP) of random brightness, textured Mito; cells placed on
    a grid so that they do not touch."""
    rng = np.random.default_rng(seed)
    image = np.full((5, size, size), 0.02, np.float64)
    step = size // 2
    for k in range(n_cells):
        cy, cx = step // 2 + step * (k // 2), step // 2 + step * (k % 2)
        cy, cx = cy + rng.uniform(-2, 2), cx + rng.uniform(-2, 2)
        nucleus = disk(image.shape[1:], cy, cx, rng.uniform(3.5, 5))
        body = disk(image.shape[1:], cy, cx, rng.uniform(10, 12))
        ring = body & ~disk(image.shape[1:], cy, cx, 9)
        image[0][nucleus] = rng.uniform(0.5, 1.0)
        image[1][body] = rng.uniform(0.2, 0.6)
        image[2][body] = rng.uniform(0.2, 0.6)
        image[3][ring] = rng.uniform(0.5, 1.0)
        image[4][body] = rng.uniform(0.1, 0.5) * (rng.random(body.sum()) > 0.6)
    return np.clip(image + rng.normal(0, 0.01, image.shape), 0, 1)


def fields(n: int = 6, size: int = 64) -> np.ndarray:
    """``n`` fields ``(n, 5, size, size)``."""
    return np.stack([field(seed, size) for seed in range(n)])
