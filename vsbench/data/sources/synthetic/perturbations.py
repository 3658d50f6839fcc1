"""The synthetic perturbations and what they do to cells: each perturbation's target and
strength (:class:`Perturbation`, the panels of the synthetic layouts) and the morphology
parameters it moves from the control's towards its target's full phenotype
(:class:`Morphology`, :func:`morphology`). Part of :mod:`.render`; no arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

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
