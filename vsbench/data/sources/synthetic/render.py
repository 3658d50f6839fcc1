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

Perturbations change the morphology parameters of
:class:`.perturbations.Morphology`; two perturbations that share a target apply
the same effect at slightly different strengths. :data:`PERTURBATIONS` is the default panel;
:data:`PANELS` names the others (``graded``: more targets, graded strengths, inactive compounds).

The steps live in :mod:`.perturbations` (perturbations, morphology), :mod:`.geometry` (step
1), :mod:`.stains` (step 2) and :mod:`.optics` (steps 3 and 4); this module puts them
together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsbench.data.sources.synthetic.faults import (HARD_PHOTONS, HARD_READ_NOISE, REGIMES,
                                                   apply_faults, fault_rng)
from vsbench.data.sources.synthetic.geometry import layout
from vsbench.data.sources.synthetic.perturbations import (PANELS, PERTURBATIONS, Perturbation,
                                                         morphology)
from vsbench.data.sources.synthetic.optics import acquire_brightfield, acquire_fluorescence
from vsbench.data.sources.synthetic.stains import stain_densities

__all__ = [
    "BRIGHTFIELD_PLANES",
    "CHANNELS",
    "PANELS",
    "PERTURBATIONS",
    "Perturbation",
    "SyntheticField",
    "render_field",
]

CHANNELS: tuple[str, ...] = ("DNA", "ER", "RNA", "AGP", "Mito")
#: Transmitted-light contrasts: ``widefield`` (the default, symmetric) and ``oblique``
#: (directional: the relief lit from one side, as in oblique illumination or DIC).
CONTRASTS: tuple[str, ...] = ("widefield", "oblique")
BRIGHTFIELD_PLANES: tuple[str, ...] = ("LowZBF", "Brightfield", "HighZBF")  # below/in/above focus


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


def render_field(seed: int, size: int, perturbation: Perturbation,
                 regime: str = "default", contrast: str = "widefield") -> SyntheticField:
    """Render one square field of view.

    A pure function of its arguments: the same ``(seed, size, perturbation)`` gives
    bit-identical arrays.

    Args:
        seed: seed of the field's ``np.random.default_rng``.
        size: side length in pixels (32 to 512 are supported; the pixel size is fixed, so
            larger fields hold more cells: 3 to 8 at 128).
        perturbation: the treatment, whose target sets the cells' phenotype.
        regime: ``default`` (clean fields) or ``hard`` (the imaging faults of
            :mod:`.faults`, from their own random stream: the default
            regime's arrays are unchanged by its existence).
        contrast: ``widefield`` or ``oblique`` (:data:`CONTRASTS`; see
            :func:`.optics.acquire_brightfield`).

    Returns:
        The brightfield planes, the normalised fluorescence channels and the structure masks.
    """
    if not 16 <= int(size) <= 4096:
        raise ValueError(f"size must be between 16 and 4096, got {size}")
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {', '.join(REGIMES)}, got {regime!r}")
    size = int(size)
    morph = morphology(perturbation)
    rng = np.random.default_rng(seed)
    lay = layout(rng, size, morph)
    dens, masks, parts = stain_densities(rng, lay, morph)
    if regime == "hard":
        dens = apply_faults(fault_rng(seed), dens, lay, masks)
        fluorescence = acquire_fluorescence(rng, dens, HARD_PHOTONS, HARD_READ_NOISE)
    else:
        fluorescence = acquire_fluorescence(rng, dens)
    brightfield = acquire_brightfield(rng, lay, parts, contrast)
    return SyntheticField(brightfield=brightfield, fluorescence=fluorescence, structure=masks)
