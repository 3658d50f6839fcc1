"""The geometry of a synthetic field: :func:`layout` places star-shaped cells with a minimum
spacing, each with an eccentric nucleus, nucleoli, a Golgi apparatus and a stress-fibre
orientation, shaped by a perturbation's :class:`~.perturbations.Morphology`, and rasterises
them into per-pixel maps (:class:`Layout`). Part of :mod:`.render` (see its docstring for the
image-formation model); numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsbench.data.sources.synthetic.perturbations import Morphology

_REF_SIZE = 128                  # field size at which there are 3..8 cells
_CELL_RADIUS = 16.0              # px, mean control cell radius
_NUCLEUS_RATIO = 0.42            # nucleus radius / cell radius for control cells
_CELL_HARMONIC_SD = np.array([0.2, 0.09, 0.06, 0.04], dtype=np.float32)  # k = 2..5
_NUCLEUS_HARMONIC_SD = np.array([0.08, 0.03], dtype=np.float32)           # k = 2, 3


@dataclass
class Layout:
    """Per-pixel geometry maps of one field (all [H, W]) and per-cell lookup tables."""

    label: np.ndarray       # int, 0 = background, i + 1 = cell i
    rc: np.ndarray          # normalised cell radius of the owning cell (inf outside cells)
    rn: np.ndarray          # normalised radius w.r.t. the owning cell's nucleus (inf outside)
    nucleolus: np.ndarray   # bool
    golgi: np.ndarray       # bool
    cy: np.ndarray          # per-label lookups (index 0 = background)
    cx: np.ndarray
    radius: np.ndarray
    fibre_angle: np.ndarray


def _radius_at(theta: np.ndarray, r0: float, amp: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Blob radius at angle ``theta``: ``r0 * exp(sum_k amp_k cos(k theta - phase_k))``, k >= 2."""
    shape = (-1,) + (1,) * theta.ndim  # harmonics along a new leading axis
    k = np.arange(2, 2 + amp.size, dtype=np.float32).reshape(shape)
    wobble = (amp.reshape(shape) * np.cos(k * theta - phase.reshape(shape))).sum(axis=0)
    return r0 * np.exp(wobble)


def _normalised_radius(dy: np.ndarray, dx: np.ndarray, r0: float, amp: np.ndarray,
                       phase: np.ndarray) -> np.ndarray:
    """Distance from the blob centre divided by the blob's radius in that direction."""
    return np.hypot(dy, dx) / _radius_at(np.arctan2(dy, dx), r0, amp, phase)


def _ellipses(yy: np.ndarray, xx: np.ndarray, cy: np.ndarray, cx: np.ndarray,
              angle: np.ndarray, semi_radial: np.ndarray, semi_tangent: np.ndarray) -> np.ndarray:
    """Union of ellipses; ``angle`` is the direction of each ellipse's ``semi_radial`` axis."""
    dy = yy[None] - cy[:, None, None]
    dx = xx[None] - cx[:, None, None]
    c, s = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = (dx * c + dy * s) / semi_radial[:, None, None]
    v = (-dx * s + dy * c) / semi_tangent[:, None, None]
    return (u * u + v * v < 1.0).any(axis=0)


def _place_centres(rng: np.random.Generator, size: int, n: int, min_dist: float) -> np.ndarray:
    """Greedy dart throwing: up to ``n`` centres at least ``min_dist`` apart (at least one)."""
    cand = rng.uniform(0.0, size, size=(40 * n, 2)).astype(np.float32)
    keep = [0]
    for i in range(1, len(cand)):
        if len(keep) == n:
            break
        if np.min(np.hypot(*(cand[keep] - cand[i]).T)) >= min_dist:
            keep.append(i)
    return cand[keep]


@dataclass
class _Cells:
    """The drawn parameters of a field's cells (one entry per cell)."""

    centres: np.ndarray
    radius: np.ndarray
    amp: np.ndarray
    phase: np.ndarray
    n_amp: np.ndarray
    n_phase: np.ndarray
    n_radius: np.ndarray
    ny: np.ndarray
    nx: np.ndarray
    fibre_angle: np.ndarray


def _draw_cells(rng: np.random.Generator, size: int, morph: Morphology) -> _Cells:
    """Draw the cells' centres, shapes, nuclei and fibre angles (the random stream's first
    part: the order of the draws is the dataset's, do not reorder)."""
    area = (size / _REF_SIZE) ** 2
    n = max(1, int(round(rng.uniform(3.0, 8.0) * area)))
    mean_r = _CELL_RADIUS * morph.cell_scale
    centres = _place_centres(rng, size, n, 1.4 * mean_r)
    n = len(centres)

    radius = (mean_r * np.exp(rng.normal(0.0, 0.12, n))).astype(np.float32)
    amp = (morph.irregularity * _CELL_HARMONIC_SD
           * np.clip(rng.normal(0.0, 1.0, (n, 4)), -2, 2)).astype(np.float32)
    phase = rng.uniform(0.0, 2 * np.pi, (n, 4)).astype(np.float32)
    n_amp = (_NUCLEUS_HARMONIC_SD * np.clip(rng.normal(0.0, 1.0, (n, 2)), -2, 2)).astype(np.float32)
    n_phase = rng.uniform(0.0, 2 * np.pi, (n, 2)).astype(np.float32)
    n_radius = radius * _NUCLEUS_RATIO * morph.nucleus_scale * np.exp(rng.normal(0.0, 0.08, n))
    # Keep the nucleus inside the cell: cap its offset by the cell's smallest radius.
    inner = radius * np.exp(-np.abs(amp).sum(axis=1))
    max_off = np.maximum(0.0, 0.85 * inner - n_radius * np.exp(np.abs(n_amp).sum(axis=1)))
    off = np.minimum(0.2 * radius * rng.random(n), max_off)
    off_angle = rng.uniform(0.0, 2 * np.pi, n)
    ny = centres[:, 0] + off * np.sin(off_angle)
    nx = centres[:, 1] + off * np.cos(off_angle)
    # Stress fibres run roughly along the long axis (the phase of the k = 2 harmonic).
    fibre_angle = (phase[:, 0] / 2 + rng.normal(0.0, 0.2, n)).astype(np.float32)
    return _Cells(centres, radius, amp, phase, n_amp, n_phase, n_radius, ny, nx, fibre_angle)


def layout(rng: np.random.Generator, size: int, morph: Morphology) -> Layout:
    """Draw the cells and rasterise them, cell by cell, into bounding-box crops."""
    c = _draw_cells(rng, size, morph)
    label = np.zeros((size, size), np.int16)
    rc = np.full((size, size), np.inf, np.float32)
    rn = np.full((size, size), np.inf, np.float32)
    nucleolus = np.zeros((size, size), bool)
    golgi = np.zeros((size, size), bool)
    for i in range(len(c.centres)):
        cy, cx = float(c.centres[i, 0]), float(c.centres[i, 1])
        reach = float(c.radius[i] * np.exp(np.abs(c.amp[i]).sum())) + 1.0
        y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 2, size)
        x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 2, size)
        # Per-cell draws happen before any early exit so the random stream does not depend on it.
        ny, nx, n_radius = float(c.ny[i]), float(c.nx[i]), float(c.n_radius[i])
        nucleoli = _nucleoli(rng, ny, nx, n_radius)
        golgis = _golgi(rng, ny, nx, n_radius, c.n_amp[i], c.n_phase[i], morph.golgi_blobs)
        if y0 >= y1 or x0 >= x1:
            continue
        yy = np.arange(y0, y1, dtype=np.float32)[:, None]
        xx = np.arange(x0, x1, dtype=np.float32)[None, :]
        sl = (slice(y0, y1), slice(x0, x1))
        rc_i = _normalised_radius(yy - cy, xx - cx, float(c.radius[i]), c.amp[i], c.phase[i])
        win = (rc_i < 1.0) & (rc_i < rc[sl])  # z-buffer on normalised radius: touching cells
        if not win.any():
            continue
        rn_i = _normalised_radius(yy - ny, xx - nx, n_radius, c.n_amp[i], c.n_phase[i])
        yy2, xx2 = np.broadcast_arrays(yy, xx)
        nl_i = _ellipses(yy2, xx2, *nucleoli) & (rn_i < 0.95)
        go_i = _ellipses(yy2, xx2, *golgis) & (rn_i > 1.08) & (rc_i < 0.9)
        for arr, val in ((rc, rc_i), (rn, rn_i), (nucleolus, nl_i), (golgi, go_i)):
            arr[sl][win] = val[win]
        label[sl][win] = i + 1
    return Layout(label=label, rc=rc, rn=rn, nucleolus=nucleolus, golgi=golgi,
                  cy=_lut(c.centres[:, 0]), cx=_lut(c.centres[:, 1]), radius=_lut(c.radius),
                  fibre_angle=_lut(c.fibre_angle))


def _lut(values: np.ndarray) -> np.ndarray:
    """Per-cell values indexed by label (0: background)."""
    return np.concatenate([[0.0], values]).astype(np.float32)


def _nucleoli(rng: np.random.Generator, ny: float, nx: float,
              n_radius: float) -> tuple[np.ndarray, ...]:
    """1-4 small round nucleoli well inside the nucleus (arguments for :func:`_ellipses`)."""
    k = 1 + min(int(rng.poisson(1.3)), 3)
    ang = rng.uniform(0.0, 2 * np.pi, k)
    dist = 0.45 * n_radius * np.sqrt(rng.random(k))
    r = np.maximum(0.9, n_radius * rng.uniform(0.14, 0.22, k))
    return ny + dist * np.sin(ang), nx + dist * np.cos(ang), ang, r, r


def _golgi(rng: np.random.Generator, ny: float, nx: float, n_radius: float, n_amp: np.ndarray,
           n_phase: np.ndarray, blobs: float) -> tuple[np.ndarray, ...]:
    """A crescent hugging the nucleus, or ``blobs`` scattered fragments (for :func:`_ellipses`)."""
    k = max(1, int(blobs) + int(rng.random() < blobs % 1))
    ang = rng.uniform(0.0, 2 * np.pi) + (rng.normal(0.0, 1.1, k) if k > 1 else np.zeros(1))
    gap = n_radius * (rng.uniform(0.3, 1.1, k) if k > 1 else np.array([0.38]))
    dist = _radius_at(ang, n_radius, n_amp, n_phase) + gap
    shrink = 1.0 / np.sqrt(k)
    semi_r = np.full(k, max(0.8, 0.3 * n_radius * shrink))
    semi_t = np.full(k, max(0.8, 0.62 * n_radius * shrink))
    return ny + dist * np.sin(ang), nx + dist * np.cos(ang), ang, semi_r, semi_t

