"""Deterministic procedural Cell-Painting-like fields: 5 stains and 3 brightfield planes.

Every field is a pure function of ``(seed, size, perturbation)``: one
``np.random.default_rng(seed)`` drives all randomness, so the same inputs give bit-identical
arrays on every machine. Only numpy and scipy.ndimage are used.

Image-formation model
---------------------
The pixel size is fixed (a control cell has a radius of about 16 px); ``size`` only sets the
field of view, so the number of cells scales with the field's area (3 to 8 at 128 x 128).

1. **Geometry.** Cell centres are placed with a minimum spacing. Each cell is a star-shaped blob
   whose radius is ``R * exp(sum_k a_k cos(k theta - phi_k))`` (k = 2..5), so outlines are smooth,
   irregular and never self-intersecting. Pixels claimed by several cells go to the cell in whose
   normalised radius they lie deepest, which yields shared, touching boundaries as in a confluent
   monolayer; cells may be cut by the field border. Each cell holds an eccentric nucleus (same
   kind of blob), 1-4 nucleoli, a Golgi apparatus hugging the nucleus and a stress-fibre
   orientation along its long axis.
2. **Stain densities.** Each channel is the sum of non-negative densities, each supported
   exactly on its ``structure`` mask:

   - DNA: the nucleus, smooth with mild chromatin texture, dimmer in the nucleoli;
   - ER: a reticular network (the zero set of smoothed noise) over the perinuclear cytoplasm,
     fading with distance from the nucleus, plus the nuclear envelope; the mask is the ER
     *region* (envelope and the cytoplasm where the ER density is non-zero);
   - RNA: bright nucleoli plus a diffuse RNA-rich perinuclear cytoplasm; the mask is
     nucleoli union that region (the nucleoplasm carries no RNA signal in this model);
   - AGP: the membrane rim (cell-background and cell-cell borders), actin stress fibres
     (thin oriented lines) and the Golgi;
   - Mito: short curved tubules (or round puncta when fragmented) scattered in the cytoplasm,
     denser near the nucleus.
3. **Fluorescence optics and camera.** Densities are blurred by a Gaussian PSF, given a random
   per-field gain and background per channel, sampled with Poisson shot noise plus Gaussian
   read noise, and then normalised as real preprocessing does: clipped at the 0.5th and 99.5th
   percentiles of the channel and rescaled to [0, 1].
4. **Transmitted light.** The same cells define an optical path length (OPL) map: cell
   thickness (a dome per cell), a nuclear bulge, nucleoli, mitochondria, Golgi, stress fibres,
   membrane ridges, unstained lipid droplets (phase-dense, absorbing, invisible to every stain)
   and fine vesicular texture. Following the transport-of-intensity equation, a defocused plane
   sees ``I = I0 (1 -/+ k * LoG_sigma(OPL))``: the Laplacian of the path length after a blur that
   grows with defocus, with opposite signs below and above focus. The in-focus plane mostly sees
   weak absorption plus a faint residual phase term. Uneven illumination (tilt and vignetting) and
   Gaussian camera noise are added. Brightfield therefore encodes *edges and curvature*
   of the cells' contents, so a per-pixel linear map of the planes predicts the stains poorly,
   whereas a convolutional network that sees the neighbourhood can recover them.

Perturbations change the morphology parameters of :class:`_Morphology`; two perturbations that
share a target apply the same effect at slightly different strengths.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy import ndimage

__all__ = [
    "BRIGHTFIELD_PLANES",
    "CHANNELS",
    "PERTURBATIONS",
    "Perturbation",
    "SyntheticField",
    "render_field",
]

CHANNELS: tuple[str, ...] = ("DNA", "ER", "RNA", "AGP", "Mito")
BRIGHTFIELD_PLANES: tuple[str, ...] = ("LowZBF", "Brightfield", "HighZBF")  # below/in/above focus


@dataclass(frozen=True)
class Perturbation:
    """A treatment applied to a well.

    Attributes:
        name: the treatment's name, e.g. ``"DMSO"`` or ``"nocodazole-like"``.
        target: the class of the treatment's target, e.g. ``"control"`` or ``"microtubule"``;
            several perturbations share a target and then have similar phenotypes.
    """

    name: str
    target: str


# The two controls share one phenotype (as vehicle and untreated wells do): for the same seed
# they render the same field. Within a target, the second perturbation is a weaker version.
PERTURBATIONS: tuple[Perturbation, ...] = (
    Perturbation("DMSO", "control"),
    Perturbation("untreated", "control"),
    Perturbation("nocodazole-like", "microtubule"),
    Perturbation("colchicine-like", "microtubule"),
    Perturbation("FCCP-like", "mitochondria"),
    Perturbation("rotenone-like", "mitochondria"),
)


@dataclass
class SyntheticField:
    """One rendered field of view.

    Attributes:
        brightfield: float32 ``[3, H, W]``, the planes of :data:`BRIGHTFIELD_PLANES`, roughly in
            [0, 1] (not clipped).
        fluorescence: float32 ``[5, H, W]``, the channels of :data:`CHANNELS`, each in [0, 1].
        structure: bool ``[5, H, W]``, per channel the support of the stain density that
            generated its signal (see the module docstring for each channel's definition).
    """

    brightfield: np.ndarray
    fluorescence: np.ndarray
    structure: np.ndarray


# --------------------------------------------------------------------------------------------
# Morphology parameters and perturbation effects
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Morphology:
    cell_scale: float = 1.0      # mean cell radius, relative to _CELL_RADIUS
    irregularity: float = 1.0    # amplitude of the outline's harmonics
    nucleus_scale: float = 1.0   # nucleus/cell radius ratio, relative to _NUCLEUS_RATIO
    condensation: float = 0.0    # chromatin condensation: brighter, more textured DNA
    er_extent: float = 0.55      # decay length of the ER away from the nucleus (nucleus radii)
    er_width: float = 1.0        # thickness of the ER tubules, i.e. density of the network
    fibres: float = 1.0          # density of actin stress fibres
    golgi_blobs: float = 1.0     # number of Golgi fragments
    mito_length: float = 4.0     # mean mitochondrion length (px)
    mito_density: float = 0.03   # mitochondria per free cytoplasm pixel
    mito_swelling: float = 0.0   # fraction of mitochondria that are swollen round puncta


_CONTROL = _Morphology()
# Full-strength phenotype of each target.
_TARGET_EFFECTS: dict[str, _Morphology] = {
    "control": _CONTROL,
    # Microtubule depolymerisation: cells round up and shrink, chromatin condenses (mitotic
    # arrest), the ER collapses around the nucleus, the Golgi fragments, stress fibres increase.
    "microtubule": _Morphology(cell_scale=0.82, irregularity=0.35, nucleus_scale=0.9,
                               condensation=1.0, er_extent=0.3, er_width=1.5, fibres=1.8,
                               golgi_blobs=4.0),
    # Uncoupling / complex-I inhibition: the mitochondrial network fragments into more, shorter,
    # partly swollen objects.
    "mitochondria": _Morphology(mito_length=0.8, mito_density=0.055, mito_swelling=0.3),
}
_STRENGTH: dict[str, float] = {
    "nocodazole-like": 1.0, "colchicine-like": 0.8, "FCCP-like": 1.0, "rotenone-like": 0.8,
}


def _morphology(perturbation: Perturbation) -> _Morphology:
    """Interpolate between control and the target's phenotype by the perturbation's strength."""
    if perturbation.target not in _TARGET_EFFECTS:
        raise ValueError(f"unknown perturbation target {perturbation.target!r}; "
                         f"known: {sorted(_TARGET_EFFECTS)}")
    effect = _TARGET_EFFECTS[perturbation.target]
    s = _STRENGTH.get(perturbation.name, 1.0)
    return _Morphology(**{f.name: getattr(_CONTROL, f.name)
                          + s * (getattr(effect, f.name) - getattr(_CONTROL, f.name))
                          for f in fields(_Morphology)})


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------

_REF_SIZE = 128                  # field size at which there are 3..8 cells
_CELL_RADIUS = 16.0              # px, mean control cell radius
_NUCLEUS_RATIO = 0.42            # nucleus radius / cell radius for control cells
_CELL_HARMONIC_SD = np.array([0.2, 0.09, 0.06, 0.04], dtype=np.float32)  # k = 2..5
_NUCLEUS_HARMONIC_SD = np.array([0.08, 0.03], dtype=np.float32)           # k = 2, 3


@dataclass
class _Layout:
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


def _layout(rng: np.random.Generator, size: int, morph: _Morphology) -> _Layout:
    """Draw the cells and rasterise them, cell by cell, into bounding-box crops."""
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

    label = np.zeros((size, size), np.int16)
    rc = np.full((size, size), np.inf, np.float32)
    rn = np.full((size, size), np.inf, np.float32)
    nucleolus = np.zeros((size, size), bool)
    golgi = np.zeros((size, size), bool)
    for i in range(n):
        cy, cx = float(centres[i, 0]), float(centres[i, 1])
        reach = float(radius[i] * np.exp(np.abs(amp[i]).sum())) + 1.0
        y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 2, size)
        x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 2, size)
        # Per-cell draws happen before any early exit so the random stream does not depend on it.
        nucleoli = _nucleoli(rng, float(ny[i]), float(nx[i]), float(n_radius[i]))
        golgis = _golgi(rng, float(ny[i]), float(nx[i]), float(n_radius[i]), n_amp[i],
                        n_phase[i], morph.golgi_blobs)
        if y0 >= y1 or x0 >= x1:
            continue
        yy = np.arange(y0, y1, dtype=np.float32)[:, None]
        xx = np.arange(x0, x1, dtype=np.float32)[None, :]
        sl = (slice(y0, y1), slice(x0, x1))
        rc_i = _normalised_radius(yy - cy, xx - cx, float(radius[i]), amp[i], phase[i])
        win = (rc_i < 1.0) & (rc_i < rc[sl])  # z-buffer on normalised radius: touching cells
        if not win.any():
            continue
        rn_i = _normalised_radius(yy - float(ny[i]), xx - float(nx[i]), float(n_radius[i]),
                                  n_amp[i], n_phase[i])
        yy2, xx2 = np.broadcast_arrays(yy, xx)
        nl_i = _ellipses(yy2, xx2, *nucleoli) & (rn_i < 0.95)
        go_i = _ellipses(yy2, xx2, *golgis) & (rn_i > 1.08) & (rc_i < 0.9)
        for arr, val in ((rc, rc_i), (rn, rn_i), (nucleolus, nl_i), (golgi, go_i)):
            arr[sl][win] = val[win]
        label[sl][win] = i + 1

    def lut(values: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], values]).astype(np.float32)

    return _Layout(label=label, rc=rc, rn=rn, nucleolus=nucleolus, golgi=golgi,
                   cy=lut(centres[:, 0]), cx=lut(centres[:, 1]), radius=lut(radius),
                   fibre_angle=lut(fibre_angle))


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


# --------------------------------------------------------------------------------------------
# Stain densities
# --------------------------------------------------------------------------------------------

def _smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit standard deviation (analytic, size-independent)."""
    white = rng.standard_normal((size, size), dtype=np.float32)
    # The std of 2D white noise blurred with sigma is 1 / (2 sqrt(pi) sigma).
    return ndimage.gaussian_filter(white, sigma, mode="wrap") * (2 * np.sqrt(np.pi) * sigma)


def _membrane(lay: _Layout) -> np.ndarray:
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


def _fibres(rng: np.random.Generator, lay: _Layout, allowed: np.ndarray,
            strength: float) -> np.ndarray:
    """Stress fibres: thin, slightly wavy, broken parallel lines along each cell's long axis."""
    size = lay.label.shape[0]
    lab = lay.label
    yy = np.arange(size, dtype=np.float32)[:, None]
    xx = np.arange(size, dtype=np.float32)[None, :]
    theta = lay.fibre_angle[lab]
    across = -(xx - lay.cx[lab]) * np.sin(theta) + (yy - lay.cy[lab]) * np.cos(theta)
    warp = 0.9 * _smooth_noise(rng, size, 5.0)
    gate = _smooth_noise(rng, size, 3.0) > 0.0  # fibres are finite segments
    wave = np.cos(2 * np.pi * across / 4.5 + warp)
    frac = min(0.3, 0.14 * strength)            # fraction of the period covered by a fibre
    return allowed & gate & (lay.rc < 0.93) & (wave > np.cos(np.pi * frac))


def _mitochondria(rng: np.random.Generator, lay: _Layout, allowed: np.ndarray,
                  morph: _Morphology) -> np.ndarray:
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


def _stain_densities(rng: np.random.Generator, lay: _Layout,
                     morph: _Morphology) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Noise-free stain densities [5, H, W], their supports, and the parts needed for the OPL."""
    size = lay.label.shape[0]
    cell = lay.label > 0
    nucleus = cell & (lay.rn < 1.0)
    membrane = _membrane(lay) & ~nucleus
    cyto = cell & ~nucleus
    free = cyto & ~membrane            # cytoplasm interior where organelles sit
    rn = np.where(cell, lay.rn, 1e3)   # finite everywhere so that exp() is well behaved

    # DNA: smooth nucleus, thicker (brighter) centre, chromatin texture, DNA-poor nucleoli.
    tex = _smooth_noise(rng, size, 1.0)
    cond = morph.condensation
    dome = np.sqrt(np.clip(1.0 - rn * rn, 0.0, 1.0))
    dna = (1.0 + 0.5 * cond) * (0.75 + 0.2 * dome + (0.08 + 0.12 * cond) * tex)
    dna = np.clip(dna, 0.05, None) * (1.0 - 0.45 * lay.nucleolus) * nucleus

    # ER: the zero set of smoothed noise is a net of tubules; perinuclear, plus the envelope.
    bp = _smooth_noise(rng, size, 1.1)
    net = np.exp(-(bp / (0.45 * morph.er_width)) ** 2)
    er_w = np.exp(-(rn - 1.0) / morph.er_extent) * (1.0 - np.clip(lay.rc, 0.0, 1.0) ** 6)
    er_region = (cyto & (er_w > 0.15)) | (nucleus & (rn > 0.86))
    er = np.where(cyto, er_w, 0.7) * (0.25 + 0.75 * net) * er_region

    # RNA: nucleoli plus diffuse RNA-rich perinuclear cytoplasm.
    rna_w = np.exp(-(rn - 1.0) / 1.1)
    rna_region = cyto & (rna_w > 0.3)
    rna_tex = _smooth_noise(rng, size, 1.5)
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


# --------------------------------------------------------------------------------------------
# Acquisition: fluorescence camera and transmitted light
# --------------------------------------------------------------------------------------------

_PSF_SIGMA = 0.8          # px, fluorescence point-spread function
_PHOTONS = 250.0          # expected photons at unit density and unit gain


def _acquire_fluorescence(rng: np.random.Generator, dens: np.ndarray) -> np.ndarray:
    """PSF blur, random gain and background, shot and read noise, percentile normalisation."""
    clean = ndimage.gaussian_filter(dens, sigma=(0, _PSF_SIGMA, _PSF_SIGMA), mode="nearest")
    gain = rng.uniform(0.6, 1.5, (5, 1, 1)) * _PHOTONS
    background = rng.uniform(0.02, 0.12, (5, 1, 1))
    counts = rng.poisson(gain * (np.clip(clean, 0, None) + background)).astype(np.float32)
    counts += rng.normal(0.0, 2.0, counts.shape).astype(np.float32)
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


def _acquire_brightfield(rng: np.random.Generator, lay: _Layout,
                         parts: dict[str, np.ndarray]) -> np.ndarray:
    """Optical path length of the same cells, imaged at three focal planes."""
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
    vesicles = 0.06 * _smooth_noise(rng, size, 0.8) * cell

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
        log = ndimage.gaussian_laplace(opl, sigma, mode="nearest") * sigma ** 2
        gain = rng.uniform(0.95, 1.05)
        planes.append(illum * gain * (1.0 - phase_gain * log - absorb_gain * absorb))
    bf = np.stack(planes)
    bf += rng.normal(0.0, 0.01, bf.shape).astype(np.float32)
    return bf.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------

def render_field(seed: int, size: int, perturbation: Perturbation) -> SyntheticField:
    """Render one square field of view.

    A pure function of its arguments: the same ``(seed, size, perturbation)`` gives
    bit-identical arrays.

    Args:
        seed: seed of the field's ``np.random.default_rng``.
        size: side length in pixels (32 to 512 are supported; the pixel size is fixed, so
            larger fields hold more cells: 3 to 8 at 128).
        perturbation: the treatment, whose target sets the cells' phenotype.

    Returns:
        The brightfield planes, the normalised fluorescence channels and the structure masks.
    """
    if not 16 <= int(size) <= 4096:
        raise ValueError(f"size must be between 16 and 4096, got {size}")
    size = int(size)
    morph = _morphology(perturbation)
    rng = np.random.default_rng(seed)
    lay = _layout(rng, size, morph)
    dens, masks, parts = _stain_densities(rng, lay, morph)
    fluorescence = _acquire_fluorescence(rng, dens)
    brightfield = _acquire_brightfield(rng, lay, parts)
    return SyntheticField(brightfield=brightfield, fluorescence=fluorescence, structure=masks)
