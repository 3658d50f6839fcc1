"""The built-in ``synthetic`` datasets: procedural Cell-Painting-like plates, offline.

Plates of wells of sites, each well treated with one perturbation (a class label, with its target
as a second label kind), rendered by :mod:`.render`. Every field is a pure
function of its id, so the dataset needs no download and is identical on every machine.

Registered: ``synthetic-graded``, the benchmark's default
(:data:`vsbench.data.sources.DEFAULT_DATASET`; the graded panel,
:data:`.perturbations.GRADED_PANEL`, on 3 plates x 56 wells x 3 sites): a dataset on which the
profile tier's mAP means something, with 8 actives of graded effect, 2 inactive compounds and 4
replicate wells each on the test plate; ``synthetic`` (the default until 2026-12-07: 6
perturbations, 6 plates x 12 wells x 2 sites, 4 treated perturbations in 2 wells each on the
test plate) and ``synthetic-hard`` (its plates with imaging faults).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from vsbench.data.source import DatasetInfo, DatasetSource, Sample, SampleRecord
from vsbench.errors import DataError
from vsbench.spec import DatasetSpec, hookimpl

# Bump when the renderer changes what it draws: it is part of the dataset fingerprint.
GENERATOR_VERSION = 1


class SyntheticSource(DatasetSource):
    """Procedural plates; the layout is a parameter, the defaults are ``synthetic``'s.

    That layout, 6 plates x 12 wells x 2 sites, puts every perturbation in two wells of each
    plate, so the test plate has replicate wells and well-level profiles can be retrieved by
    mAP (an earlier layout, 6 wells x 4 sites, had one well per perturbation: same fields
    count, different fingerprint and split hash). ``panel="graded"`` with
    :data:`GRADED_LAYOUT` is the ``synthetic-graded`` dataset.
    """

    def __init__(self, n_plates: int = 6, wells_per_plate: int = 12, sites_per_well: int = 2,
                 field_size: int = 128, seed: int = 0, regime: str = "default",
                 contrast: str = "widefield", symmetry: str | None = None,
                 panel: str = "default") -> None:
        """``regime``: ``default`` (clean fields) or ``hard`` (imaging faults).
        ``contrast``: ``widefield`` brightfield (the benchmark's; its symmetry is
        ``dihedral``) or ``oblique``, a directional contrast (oblique illumination, DIC-like)
        whose symmetry is ``none``. ``symmetry`` overrides the declared group (to show what a
        wrong one does). ``panel``: the perturbation set (a name in
        :data:`.render.PANELS`): ``default``, the benchmark's six, or
        ``graded`` (12, of graded effect size, two of them inactive; the ``synthetic-graded``
        dataset). A plate's wells repeat the panel's plate-map cycle, so ``wells_per_plate``
        should be a multiple of its length (6; 14 for ``graded``) for every perturbation to
        have the same number of wells on every plate."""
        from vsbench.data.sources.synthetic import render
        from vsbench.data.symmetry import check_symmetry
        from vsbench.data.sources.synthetic.faults import REGIMES

        if regime not in REGIMES:
            raise DataError(f"synthetic regime {regime!r}: use one of {', '.join(REGIMES)}.")
        if panel not in render.PANELS:
            raise DataError(f"synthetic panel {panel!r}: use one of {', '.join(render.PANELS)}.")
        if contrast not in render.CONTRASTS:
            raise ValueError(f"contrast must be one of {render.CONTRASTS}, got {contrast!r}")
        self.contrast = contrast
        self.symmetry = check_symmetry(symmetry or ("dihedral" if contrast == "widefield"
                                                    else "none"), "symmetry")
        self._render = render
        self.regime, self.panel = regime, panel
        self.n_plates, self.wells_per_plate = n_plates, wells_per_plate
        self.sites_per_well, self.field_size, self.seed = sites_per_well, field_size, seed
        self._cycle = render.PANELS[panel].cycle
        perts = render.PANELS[panel].perturbations
        self._perturbations = {p.name: p for p in perts}
        name = "synthetic" + "".join(f"-{v}" for v, d in ((panel, "default"), (regime, "default"))
                                     if v != d)
        self._info = DatasetInfo(
            name=name,
            channels=tuple(render.CHANNELS),
            planes=tuple(render.BRIGHTFIELD_PLANES),
            label_kinds={"perturbation": tuple(sorted(p.name for p in perts)),
                         "target": tuple(sorted({p.target for p in perts}))},
        )

    @property
    def info(self) -> DatasetInfo:
        return self._info

    def records(self) -> list[SampleRecord]:
        perts = self._cycle
        out = []
        for p in range(self.n_plates):
            plate = f"SYN-P{p + 1:02d}"
            for w in range(self.wells_per_plate):
                # Rotate the plate map so that no perturbation is tied to one well position.
                pert = perts[(w + p) % len(perts)]
                well = f"{'ABCDEFGH'[w // 12]}{w % 12 + 1:02d}"
                for s in range(self.sites_per_well):
                    out.append(SampleRecord(
                        sample_id=f"{plate}_{well}_s{s + 1}", plate=plate, well=well,
                        site=str(s + 1), labels={"perturbation": pert.name,
                                                 "target": pert.target}))
        return out

    def _field_seed(self, sample_id: str) -> int:
        digest = hashlib.sha256(f"{self.seed}:{sample_id}".encode()).digest()
        return int.from_bytes(digest[:8], "little")

    def load(self, record: SampleRecord) -> Sample:
        field = self._render.render_field(self._field_seed(record.sample_id), self.field_size,
                                          self._perturbations[record.labels["perturbation"]],
                                          self.regime, self.contrast)
        return Sample(record, field.brightfield, field.fluorescence)

    def structure(self, record: SampleRecord):
        """The ground-truth structure masks (bool [channels, H, W]) of a sample."""
        return self._render.render_field(self._field_seed(record.sample_id), self.field_size,
                                         self._perturbations[record.labels["perturbation"]],
                                         self.regime, self.contrast).structure

    def fingerprint(self) -> str:
        fields = {"generator": GENERATOR_VERSION, "plates": self.n_plates,
                  "wells": self.wells_per_plate, "sites": self.sites_per_well,
                  "size": self.field_size, "seed": self.seed}
        # The default dataset's fingerprint stays what it was.
        if self.regime != "default":
            fields["regime"] = self.regime
        if self.contrast != "widefield":
            fields["contrast"] = self.contrast
        if self.panel != "default":
            fields["panel"] = self.panel
        key = json.dumps(fields, sort_keys=True)
        return "synthetic-" + hashlib.sha256(key.encode()).hexdigest()[:12]


@lru_cache(maxsize=1)
def _default_source() -> SyntheticSource:
    return SyntheticSource()


# The harder regime: imaging faults (vsbench.data.sources.synthetic.faults) on 256 px fields, which
# NSC splits into several fields of view when they are predicted whole or in large tiles.
HARD_FIELD_SIZE = 256


@lru_cache(maxsize=1)
def _hard_source() -> SyntheticSource:
    return SyntheticSource(field_size=HARD_FIELD_SIZE, regime="hard")


# The graded panel's plates (``synthetic-graded``): the layout the profile tier needs. Three
# plates (train, val, test by the split's rule) of 56 wells, four cycles of the panel's 14-well
# plate map: on the test plate every treatment has 4 replicate wells and each control 8 (16
# control wells, the profiles' reference); 3 sites a well, about 16 cells. Two sites (about
# 11 cells a well) leave the weakest active (oligomycin-like) unretrieved on 3 of 4 dataset
# seeds and retrieve an inactive compound on one (measured 2026-12-03).
GRADED_LAYOUT = dict(n_plates=3, wells_per_plate=56, sites_per_well=3)


@lru_cache(maxsize=1)
def _graded_source() -> SyntheticSource:
    return SyntheticSource(**GRADED_LAYOUT, panel="graded")


@hookimpl
def vsbench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(
        name="synthetic",
        description="Procedural Cell-Painting-like fields, 6 plates x 12 wells x 2 sites, offline.",
        reference="built-in (vsbench.data.sources.synthetic.render)",
        factory=lambda data_root: _default_source(),
    ), DatasetSpec(
        name="synthetic-hard",
        description="The synthetic plates with imaging faults (Poisson-Gaussian noise, uneven "
                    "illumination, autofluorescence, out-of-focus cells, debris), 256 px fields.",
        reference="built-in (vsbench.data.sources.synthetic.faults)",
        factory=lambda data_root: _hard_source(),
    ), DatasetSpec(
        name="synthetic-graded",
        description="Synthetic plates for the profile tier: 12 perturbations (2 controls, 8 "
                    "actives of graded effect on 5 targets, 2 inactive), 3 plates x 56 wells x "
                    "3 sites; 4 replicate wells a treatment on the test plate.",
        reference="built-in (vsbench.data.sources.synthetic.perturbations.GRADED_PANEL)",
        factory=lambda data_root: _graded_source(),
    )]
