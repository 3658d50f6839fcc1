"""Cells of the synthetic fields: each perturbation's morphology and the geometry of a field.

A perturbation moves the morphology parameters (:class:`Morphology`) from the control's towards
its target's full phenotype; :func:`layout` places star-shaped cells with a minimum spacing,
each with an eccentric nucleus, nucleoli, a Golgi apparatus and a stress-fibre orientation, and
rasterises them into per-pixel maps (:class:`Layout`). Part of
:mod:`vsbench.data.synthetic_render` (see its docstring for the image-formation model); numpy
only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


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


@dataclass(frozen=True)
class Panel:
    """A set of perturbations and the plate map that puts them in wells.

    Attributes:
        cycle: one cycle of the plate map: the perturbations of consecutive wells (a plate's
            wells repeat it, the start rotated by one well per plate). A perturbation listed
            k times has k wells per cycle, so controls can have more wells than treatments.
    """

    cycle: tuple[Perturbation, ...]

    @property
    def perturbations(self) -> tuple[Perturbation, ...]:
        """Each perturbation once, in the order of its first well."""
        return tuple(dict.fromkeys(self.cycle))


_P = Perturbation
# The graded panel (the ``synthetic-graded`` dataset), made so that the profile tier's mAP has
# something to tell apart: the two controls; the microtubule target at three strengths (1.0,
# 0.8, 0.5) and the mitochondria target at two (2.0, 3.0: at the default panel's 1.0 and 0.8
# its tubules-to-puncta phenotype keeps the mitochondrial mass and the profile tier cannot see
# it at the run's 64 px), see :data:`_STRENGTH`; three targets of their own phenotype (nucleus;
# Golgi and ER; actin); two inactive compounds, treated wells of the control phenotype (target
# ``inactive``: for the same seed they render the control's field), which the profile tier
# must not retrieve. A cycle of the plate map has one well of each treatment and two of each
# control (a plate's control wells are its profiles' reference: with few of them, the error of
# their median is an offset shared by every treated well, which makes even inactive wells look
# alike).
GRADED_PANEL = Panel(cycle=(
    _P("DMSO", "control"), _P("nocodazole-like", "microtubule"),
    _P("cytochalasin-like", "actin"), _P("etoposide-like", "nucleus"),
    _P("untreated", "control"), _P("inactive-1", "inactive"),
    _P("colchicine-like", "microtubule"), _P("antimycin-like", "mitochondria"),
    _P("DMSO", "control"), _P("brefeldin-like", "golgi"),
    _P("vinblastine-like", "microtubule"), _P("untreated", "control"),
    _P("oligomycin-like", "mitochondria"), _P("inactive-2", "inactive"),
))
del _P
#: The perturbation sets by name (``SyntheticSource(panel=...)``); ``default`` is the six
#: above, one well each per cycle of six.
PANELS: dict[str, Panel] = {"default": Panel(PERTURBATIONS), "graded": GRADED_PANEL}


# --------------------------------------------------------------------------------------------
# Morphology parameters and perturbation effects
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Morphology:
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


_CONTROL = Morphology()
# Full-strength phenotype of each target.
_TARGET_EFFECTS: dict[str, Morphology] = {
    "control": _CONTROL,
    # Microtubule depolymerisation: cells round up and shrink, chromatin condenses (mitotic
    # arrest), the ER collapses around the nucleus, the Golgi fragments, stress fibres increase.
    "microtubule": Morphology(cell_scale=0.82, irregularity=0.35, nucleus_scale=0.9,
                               condensation=1.0, er_extent=0.3, er_width=1.5, fibres=1.8,
                               golgi_blobs=4.0),
    # Uncoupling / complex-I inhibition: the mitochondrial network fragments into more, shorter,
    # partly swollen objects.
    "mitochondria": Morphology(mito_length=0.8, mito_density=0.055, mito_swelling=0.3),
    # (graded panel) DNA damage / G2 arrest: enlarged nuclei with condensed, textured chromatin.
    "nucleus": Morphology(nucleus_scale=1.35, condensation=0.7),
    # (graded panel) Golgi disassembly: the Golgi scatters into many fragments and the ER
    # swells and spreads through the cytoplasm.
    "golgi": Morphology(golgi_blobs=6.0, er_extent=0.9, er_width=1.4),
    # (graded panel) actin disruption: the stress fibres vanish, outlines grow irregular
    # (arborised) and cells spread a little.
    "actin": Morphology(fibres=0.0, irregularity=1.8, cell_scale=1.1),
    # (graded panel) a compound without effect: the control's cells.
    "inactive": _CONTROL,
}
_STRENGTH: dict[str, float] = {
    "nocodazole-like": 1.0, "colchicine-like": 0.8, "FCCP-like": 1.0, "rotenone-like": 0.8,
    # the graded panel's other doses (a strength above 1 goes past the target's phenotype)
    "vinblastine-like": 0.5, "oligomycin-like": 2.0, "antimycin-like": 3.0,
}


def morphology(perturbation: Perturbation) -> Morphology:
    """Interpolate between control and the target's phenotype by the perturbation's strength.

    A strength above 1 extrapolates past the target's phenotype; the parameters are then kept
    in range (none below 0, the swollen fraction of mitochondria at most 1). Strengths in
    [0, 1] never reach those bounds, so their parameters are the plain interpolation."""
    if perturbation.target not in _TARGET_EFFECTS:
        raise ValueError(f"unknown perturbation target {perturbation.target!r}; "
                         f"known: {sorted(_TARGET_EFFECTS)}")
    effect = _TARGET_EFFECTS[perturbation.target]
    s = _STRENGTH.get(perturbation.name, 1.0)
    values = {f.name: getattr(_CONTROL, f.name)
              + s * (getattr(effect, f.name) - getattr(_CONTROL, f.name))
              for f in fields(Morphology)}
    if s > 1.0:
        values = {k: max(0.0, v) for k, v in values.items()}
        values["mito_swelling"] = min(1.0, values["mito_swelling"])
    return Morphology(**values)



# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


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


def layout(rng: np.random.Generator, size: int, morph: Morphology) -> Layout:
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

    return Layout(label=label, rc=rc, rn=rn, nucleolus=nucleolus, golgi=golgi,
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

