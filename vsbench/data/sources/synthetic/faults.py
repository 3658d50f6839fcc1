"""Imaging faults of the harder synthetic regime (``regime="hard"``, dataset ``synthetic-hard``).

The default regime's fields are clean: even illumination, bright signal, every cell in focus,
nothing but the stains. Real Cell Painting fields are not, and that is where the DiffStain paper
says thresholded masks fail and neural spectral clustering helps. In the hard regime the stain
densities (step 2 of :mod:`.render`) pass through these faults before the
camera, and the camera gets fewer photons and more read noise (Poisson-Gaussian noise):

- out-of-focus cells: about a third of the cells are blurred (their densities replaced by a
  Gaussian blur of sigma 2-3.5 px, the same cell in every channel), so their edges are vague;
- uneven illumination: per channel a tilt and vignetting of the excitation (0.5-1 of the peak);
- autofluorescence: a smooth, positive background in every channel, stronger inside cells;
- debris: a few bright specks and blobs in random channels, outside every structure mask.

The structure masks stay the true structures (debris and autofluorescence are not structure),
so they measure how well a mask source sees through the faults. The faults draw from their own
random stream (``seed`` mixed with a constant), so the default regime's renders are unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from vsbench.data.sources.synthetic.geometry import Layout
from vsbench.data.sources.synthetic.stains import smooth_noise

REGIMES = ("default", "hard")
HARD_PHOTONS = 40.0      # expected photons at unit density and gain (default regime: 250)
HARD_READ_NOISE = 5.0    # camera read noise, counts (default regime: 2)
_STREAM = 0x5EED_FA17    # mixed into the field's seed for the faults' own random stream


def fault_rng(seed: int) -> np.random.Generator:
    """The faults' random stream of a field (independent of the field's own stream)."""
    return np.random.default_rng([seed, _STREAM])


def apply_faults(rng: np.random.Generator, dens: np.ndarray, lay: Layout,
                 structure: np.ndarray) -> np.ndarray:
    """The stain densities ``[5, H, W]`` as a faulty microscope sees them (see the module
    docstring); ``structure`` (bool ``[5, H, W]``) keeps debris off the true structures."""
    channels, size = dens.shape[0], dens.shape[-1]
    out = dens.astype(np.float32).copy()
    # Out-of-focus cells: a third of them, blurred in every channel.
    cells = np.arange(1, int(lay.label.max()) + 1)
    blurred = cells[rng.random(cells.size) < 0.35]
    for cell in blurred:
        inside = lay.label == cell
        grown = ndimage.binary_dilation(inside, iterations=3)
        sigma = rng.uniform(2.0, 3.5)
        for c in range(channels):
            soft = ndimage.gaussian_filter(np.where(inside, dens[c], 0.0).astype(np.float32),
                                           sigma)
            out[c] = np.where(grown, np.where(inside, 0.0, out[c]) + soft, out[c])
    # Autofluorescence: smooth, positive, stronger inside cells.
    cell_mask = ndimage.gaussian_filter((lay.label > 0).astype(np.float32), 2.0)
    for c in range(channels):
        level = rng.uniform(0.04, 0.12)
        texture = 1.0 + 0.5 * smooth_noise(rng, size, 6.0)
        out[c] += level * np.clip(texture, 0.2, None) * (0.4 + cell_mask)
    # Debris: bright specks and blobs, off the structures.
    for _ in range(int(rng.poisson(max(1.0, 4.0 * (size / 128) ** 2)))):
        c = int(rng.integers(channels))
        y, x = rng.integers(0, size, 2)
        radius = rng.uniform(0.8, 3.0)
        yy, xx = np.ogrid[:size, :size]
        blob = np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * radius ** 2)).astype(np.float32)
        out[c] += rng.uniform(0.8, 2.0) * blob * ~structure[c]
    # Uneven illumination of the excitation, per channel.
    yy = np.linspace(-1.0, 1.0, size, dtype=np.float32)[:, None]
    xx = np.linspace(-1.0, 1.0, size, dtype=np.float32)[None, :]
    for c in range(channels):
        tilt = rng.normal(0.0, 0.15, 2)
        cy, cx = rng.uniform(-0.6, 0.6, 2)
        field = 1.0 + tilt[0] * yy + tilt[1] * xx - rng.uniform(0.2, 0.4) * (
            (yy - cy) ** 2 + (xx - cx) ** 2)
        out[c] *= np.clip(field, 0.5, 1.0)
    return np.clip(out, 0.0, None)
