"""Noise-free stain densities of a synthetic field: DNA, ER, RNA, AGP and Mito, each supported
exactly on its structure mask. Part of :mod:`.render` (see its docstring
for each channel's definition); numpy and scipy.ndimage only.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from vsbench.data.sources.synthetic.geometry import Layout
from vsbench.data.sources.synthetic.perturbations import Morphology



def smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit standard deviation (analytic, size-independent)."""
    white = rng.standard_normal((size, size), dtype=np.float32)
    # The std of 2D white noise blurred with sigma is 1 / (2 sqrt(pi) sigma).
    return ndimage.gaussian_filter(white, sigma, mode="wrap") * (2 * np.sqrt(np.pi) * sigma)


def _membrane(lay: Layout) -> np.ndarray:
    """Cell rim: the outermost ~1.5 px of each cell plus every cell-cell border pixel."""
    lab = lay.label
    border = np.zeros(lab.shape, bool)
    dv = lab[1:] != lab[:-1]
    border[1:] |= dv
    border[:-1] |= dv
    dh = lab[:, 1:] != lab[:, :-1]
    border[:, 1:] |= dh
    border[:, :-1] |= dh
    cell = lab > 0
    rim = lay.rc > 1.0 - 1.5 / np.maximum(lay.radius[lab], 1.0)
    return cell & (border | rim)


def _fibres(rng: np.random.Generator, lay: Layout, allowed: np.ndarray,
            strength: float) -> np.ndarray:
    """Stress fibres: thin, slightly wavy, broken parallel lines along each cell's long axis."""
    size = lay.label.shape[0]
    lab = lay.label
    yy = np.arange(size, dtype=np.float32)[:, None]
    xx = np.arange(size, dtype=np.float32)[None, :]
    theta = lay.fibre_angle[lab]
    across = -(xx - lay.cx[lab]) * np.sin(theta) + (yy - lay.cy[lab]) * np.cos(theta)
    warp = 0.9 * smooth_noise(rng, size, 5.0)
    gate = smooth_noise(rng, size, 3.0) > 0.0  # fibres are finite segments
    wave = np.cos(2 * np.pi * across / 4.5 + warp)
    frac = min(0.3, 0.14 * strength)            # fraction of the period covered by a fibre
    return allowed & gate & (lay.rc < 0.93) & (wave > np.cos(np.pi * frac))


def _mitochondria(rng: np.random.Generator, lay: Layout, allowed: np.ndarray,
                  morph: Morphology) -> np.ndarray:
    """Mitochondrial density: curved tubules and swollen puncta, denser near the nucleus."""
    size = lay.label.shape[0]
    dens = np.zeros((size, size), np.float32)
    idx = np.flatnonzero(allowed)
    if idx.size == 0:
        return dens
    w = np.exp(-(lay.rn.ravel()[idx] - 1.0) / 1.0)
    n = int(rng.poisson(morph.mito_density * idx.size))
    start = rng.choice(idx, size=n, p=w / w.sum())
    sy, sx = np.divmod(start, size)
    bright = rng.uniform(0.55, 1.0, n).astype(np.float32)
    swollen = rng.random(n) < morph.mito_swelling
    length = morph.mito_length * rng.gamma(2.0, 0.5, n) * ~swollen
    ang = rng.uniform(0.0, np.pi, n)
    bend = rng.normal(0.0, 0.25, n) * length
    # Sample each tubule at 12 points along a bent segment centred on its start pixel.
    t = np.linspace(-0.5, 0.5, 12)[None, :]
    along = t * length[:, None]
    sag = bend[:, None] * np.cos(np.pi * t)
    py = np.rint(sy[:, None] + along * np.sin(ang)[:, None] + sag * np.cos(ang)[:, None])
    px = np.rint(sx[:, None] + along * np.cos(ang)[:, None] - sag * np.sin(ang)[:, None])
    py, px = py.astype(np.int64), px.astype(np.int64)
    ok = (py >= 0) & (py < size) & (px >= 0) & (px < size)
    py, px = np.where(ok, py, sy[:, None]), np.where(ok, px, sx[:, None])
    same_cell = lay.label[py, px] == lay.label[sy, sx][:, None]
    keep = ok & same_cell & allowed[py, px]
    dens[py[keep], px[keep]] = np.broadcast_to(bright[:, None], py.shape)[keep]
    if swollen.any():
        puncta = np.zeros_like(dens)
        puncta[sy[swollen], sx[swollen]] = 1.15 * bright[swollen]
        puncta = ndimage.grey_dilation(puncta, footprint=ndimage.generate_binary_structure(2, 1))
        dens = np.maximum(dens, puncta)
    return dens * allowed


def stain_densities(rng: np.random.Generator, lay: Layout,
                     morph: Morphology) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Noise-free stain densities [5, H, W], their supports, and the parts needed for the OPL."""
    size = lay.label.shape[0]
    cell = lay.label > 0
    nucleus = cell & (lay.rn < 1.0)
    membrane = _membrane(lay) & ~nucleus
    cyto = cell & ~nucleus
    free = cyto & ~membrane            # cytoplasm interior where organelles sit
    rn = np.where(cell, lay.rn, 1e3)   # finite everywhere so that exp() is well behaved

    # DNA: smooth nucleus, thicker (brighter) centre, chromatin texture, DNA-poor nucleoli.
    tex = smooth_noise(rng, size, 1.0)
    cond = morph.condensation
    dome = np.sqrt(np.clip(1.0 - rn * rn, 0.0, 1.0))
    dna = (1.0 + 0.5 * cond) * (0.75 + 0.2 * dome + (0.08 + 0.12 * cond) * tex)
    dna = np.clip(dna, 0.05, None) * (1.0 - 0.45 * lay.nucleolus) * nucleus

    # ER: the zero set of smoothed noise is a net of tubules; perinuclear, plus the envelope.
    bp = smooth_noise(rng, size, 1.1)
    net = np.exp(-(bp / (0.45 * morph.er_width)) ** 2)
    er_w = np.exp(-(rn - 1.0) / morph.er_extent) * (1.0 - np.clip(lay.rc, 0.0, 1.0) ** 6)
    er_region = (cyto & (er_w > 0.15)) | (nucleus & (rn > 0.86))
    er = np.where(cyto, er_w, 0.7) * (0.25 + 0.75 * net) * er_region

    # RNA: nucleoli plus diffuse RNA-rich perinuclear cytoplasm.
    rna_w = np.exp(-(rn - 1.0) / 1.1)
    rna_region = cyto & (rna_w > 0.3)
    rna_tex = smooth_noise(rng, size, 1.5)
    rna = np.where(lay.nucleolus, 1.0, 0.38 * rna_w * (0.8 + 0.2 * rna_tex) * rna_region)
    rna_mask = lay.nucleolus | rna_region

    # AGP: membrane rim, stress fibres, Golgi.
    fibres = _fibres(rng, lay, free & ~lay.golgi, morph.fibres)
    golgi = lay.golgi & cyto
    agp = np.maximum.reduce([membrane * (0.85 + 0.1 * tex), 0.7 * fibres, 0.95 * golgi])

    mito = _mitochondria(rng, lay, free & ~golgi, morph)

    dens = np.stack([dna, er, rna, np.clip(agp, 0, None), mito]).astype(np.float32)
    masks = np.stack([nucleus, er_region, rna_mask, membrane | fibres | golgi, mito > 0])
    parts = {"cell": cell, "cyto": cyto, "free": free, "nucleus": nucleus,
             "membrane": membrane, "fibres": fibres, "golgi": golgi, "mito": mito}
    return dens, masks, parts

