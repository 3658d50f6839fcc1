"""Acquisition of a synthetic field: the fluorescence camera (PSF, gain, shot and read noise,
percentile normalisation) and transmitted light (the cells' optical path length seen at three
focal planes). Part of :mod:`.render`; numpy and scipy.ndimage only.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from vsbench.data.sources.synthetic.geometry import Layout
from vsbench.data.sources.synthetic.stains import smooth_noise



_PSF_SIGMA = 0.8          # px, fluorescence point-spread function
_PHOTONS = 250.0          # expected photons at unit density and unit gain


def acquire_fluorescence(rng: np.random.Generator, dens: np.ndarray, photons: float = _PHOTONS,
                         read_noise: float = 2.0) -> np.ndarray:
    """PSF blur, random gain and background, shot and read noise, percentile normalisation
    (``photons`` and ``read_noise``: the default regime's unless the hard regime sets them)."""
    clean = ndimage.gaussian_filter(dens, sigma=(0, _PSF_SIGMA, _PSF_SIGMA), mode="nearest")
    gain = rng.uniform(0.6, 1.5, (5, 1, 1)) * photons
    background = rng.uniform(0.02, 0.12, (5, 1, 1))
    counts = rng.poisson(gain * (np.clip(clean, 0, None) + background)).astype(np.float32)
    counts += rng.normal(0.0, read_noise, counts.shape).astype(np.float32)
    lo, hi = np.percentile(counts.reshape(5, -1), [0.5, 99.5], axis=1)
    lo, hi = lo[:, None, None], hi[:, None, None]
    out = (np.clip(counts, lo, hi) - lo) / np.maximum(hi - lo, 1e-6)
    return out.astype(np.float32)


# (name, LoG sigma in px, phase gain, absorption gain): sign of the phase term flips through focus.
_PLANES = (
    ("LowZBF", 1.6, 0.45, 0.05),
    ("Brightfield", 0.7, 0.04, 0.25),
    ("HighZBF", 2.4, -0.55, 0.05),
)


_OBLIQUE_GAIN = 0.6  # contrast of the directional shading


def acquire_brightfield(rng: np.random.Generator, lay: Layout,
                         parts: dict[str, np.ndarray], contrast: str = "widefield"
                         ) -> np.ndarray:
    """Optical path length of the same cells, imaged at three focal planes.

    ``widefield``: the transport-of-intensity contrast, the Laplacian of the blurred path
    length (rotation- and flip-invariant). ``oblique``: light from one side, as in oblique
    illumination or DIC: the derivative of the blurred path length along x, so that a cell's
    left flank is bright and its right flank dark; rotated or flipped, a field shows relief lit
    from another side. Both draw the same random numbers."""
    size = lay.label.shape[0]
    cell, cyto = parts["cell"], parts["cyto"]
    rc = np.where(cell, lay.rc, 1.0)
    rn = np.where(cell, lay.rn, 1e3)
    thickness = np.sqrt(np.clip(1.0 - rc * rc, 0.0, 1.0))         # dome-shaped cell body
    bulge = np.sqrt(np.clip(1.0 - rn * rn, 0.0, 1.0))              # the nucleus sticks up

    # Lipid droplets: phase-dense and absorbing but unstained, a nuisance for any stain model.
    cyto_idx = np.flatnonzero(cyto)
    droplets = np.zeros((size, size), np.float32)
    if cyto_idx.size:
        n = int(rng.poisson(0.002 * cyto_idx.size))
        droplets.ravel()[rng.choice(cyto_idx, size=n)] = 1.0
        droplets = ndimage.gaussian_filter(droplets, 0.9) * (2 * np.pi * 0.9 ** 2)
    vesicles = 0.06 * smooth_noise(rng, size, 0.8) * cell

    opl = (1.0 * thickness + 0.45 * bulge + 0.5 * lay.nucleolus + 0.3 * (parts["mito"] > 0)
           + 0.25 * parts["membrane"] + 0.1 * parts["fibres"] + 0.2 * parts["golgi"]
           + 1.4 * droplets + vesicles).astype(np.float32)
    absorb = ndimage.gaussian_filter(
        (0.8 * droplets + 0.25 * lay.nucleolus + 0.08 * (parts["mito"] > 0)
         + 0.03 * thickness).astype(np.float32), 0.7)

    # Uneven illumination: a tilt plus vignetting, shared by the planes up to small differences.
    yy = np.linspace(-1.0, 1.0, size, dtype=np.float32)[:, None]
    xx = np.linspace(-1.0, 1.0, size, dtype=np.float32)[None, :]
    tilt = rng.normal(0.0, 0.06, 2)
    vignette = rng.uniform(0.03, 0.15)
    cy, cx = rng.uniform(-0.5, 0.5, 2)
    base = rng.uniform(0.45, 0.6)
    illum = base * (1.0 + tilt[0] * yy + tilt[1] * xx
                    - vignette * ((yy - cy) ** 2 + (xx - cx) ** 2))

    planes = []
    for _, sigma, phase_gain, absorb_gain in _PLANES:
        # Scale-normalised LoG (sigma^2 factor) keeps the contrast comparable across planes.
        gain = rng.uniform(0.95, 1.05)
        if contrast == "oblique":
            # Shear along x; scaled by sigma like the LoG, and of one sign through focus.
            shade = ndimage.gaussian_filter(opl, sigma, order=(0, 1), mode="nearest") * sigma
            planes.append(illum * gain * (1.0 + _OBLIQUE_GAIN * shade - absorb_gain * absorb))
            continue
        log = ndimage.gaussian_laplace(opl, sigma, mode="nearest") * sigma ** 2
        planes.append(illum * gain * (1.0 - phase_gain * log - absorb_gain * absorb))
    bf = np.stack(planes)
    bf += rng.normal(0.0, 0.01, bf.shape).astype(np.float32)
    return bf.astype(np.float32)

