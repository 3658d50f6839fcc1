"""Preprocessing shared by every source: intensity normalisation and illumination correction
(numpy, torch-free)."""

from __future__ import annotations

import numpy as np

#: The value of a source's ``preprocessing()["brightfield"]`` that asks for the brightfield input
#: to be z-scored per plane once resized (the paper's public code does so; the cache keeps [0, 1]).
ZSCORE = "zscore"


def percentile_normalise(image: np.ndarray, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Clip each plane of ``image`` [planes, H, W] at its own percentiles and rescale to [0, 1].

    This is the per-image normalisation of the paper's public code (2nd / 98th percentile). A
    constant plane becomes all zeros rather than dividing by zero.
    """
    image = np.asarray(image, dtype=np.float32)
    lo, hi = np.percentile(image, [low, high], axis=(-2, -1), keepdims=True)
    scale = np.where(hi > lo, hi - lo, 1.0)
    return np.clip((image - lo) / scale, 0.0, 1.0).astype(np.float32)


def correct_illumination(image: np.ndarray, function: np.ndarray) -> np.ndarray:
    """Divide a raw plane by its illumination-correction function (CellProfiler's ``.npy``).

    Both must have the same shape; the function's non-positive pixels (none in a valid
    function) are treated as 1 so that no pixel becomes infinite.
    """
    function = np.asarray(function, dtype=np.float32)
    if function.shape != image.shape:
        raise ValueError(f"illumination function is {function.shape}, image is {image.shape}")
    safe = np.where(function > 0, function, 1.0).astype(np.float32)
    return np.asarray(image, dtype=np.float32) / safe


def zscore(image: np.ndarray) -> np.ndarray:
    """Standardise each plane of ``image`` [planes, H, W] to mean 0 and standard deviation 1
    (a constant plane becomes all zeros)."""
    image = np.asarray(image, dtype=np.float32)
    mean = image.mean(axis=(-2, -1), keepdims=True, dtype=np.float64)
    std = image.std(axis=(-2, -1), keepdims=True, dtype=np.float64)
    return ((image - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)
