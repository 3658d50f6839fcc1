"""The built-in ``synthetic`` dataset: procedural Cell-Painting-like plates, offline.

Plates of wells of sites, each well treated with one perturbation (a class label, with its target
as a second label kind), rendered by :mod:`vsbench.data.synthetic_render`. Every field is a pure
function of its id, so the dataset needs no download and is identical on every machine.
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
    """Procedural plates; the layout is a parameter, the default is the benchmark's.

    The default, 6 plates x 12 wells x 2 sites, puts every perturbation in two wells of each
    plate, so the test plate has replicate wells and well-level profiles can be retrieved by
    mAP (an earlier layout, 6 wells x 4 sites, had one well per perturbation: same fields
    count, different fingerprint and split hash).
    """

    def __init__(self, n_plates: int = 6, wells_per_plate: int = 12, sites_per_well: int = 2,
                 field_size: int = 128, seed: int = 0, regime: str = "default",
                 contrast: str = "widefield", symmetry: str | None = None) -> None:
        """``regime``: ``default`` (clean fields) or ``hard`` (imaging faults).
        ``contrast``: ``widefield`` brightfield (the benchmark's; its symmetry is
        ``dihedral``) or ``oblique``, a directional contrast (oblique illumination, DIC-like)
        whose symmetry is ``none``. ``symmetry`` overrides the declared group (to show what a
        wrong one does)."""
        from vsbench.data import synthetic_render as render
        from vsbench.data.symmetry import check_symmetry
        from vsbench.data.synthetic_faults import REGIMES

        if regime not in REGIMES:
            raise DataError(f"synthetic regime {regime!r}: use one of {', '.join(REGIMES)}.")
        if contrast not in render.CONTRASTS:
            raise ValueError(f"contrast must be one of {render.CONTRASTS}, got {contrast!r}")
        self.contrast = contrast
        self.symmetry = check_symmetry(symmetry or ("dihedral" if contrast == "widefield"
                                                    else "none"), "symmetry")
        self._render = render
        self.regime = regime
        self.n_plates, self.wells_per_plate = n_plates, wells_per_plate
        self.sites_per_well, self.field_size, self.seed = sites_per_well, field_size, seed
        perts = render.PERTURBATIONS
        self._perturbations = {p.name: p for p in perts}
        self._info = DatasetInfo(
            name="synthetic" if regime == "default" else f"synthetic-{regime}",
            channels=tuple(render.CHANNELS),
            planes=tuple(render.BRIGHTFIELD_PLANES),
            label_kinds={"perturbation": tuple(sorted(p.name for p in perts)),
                         "target": tuple(sorted({p.target for p in perts}))},
        )

    @property
    def info(self) -> DatasetInfo:
        return self._info

    def records(self) -> list[SampleRecord]:
        perts = self._render.PERTURBATIONS
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
        key = json.dumps(fields, sort_keys=True)
        return "synthetic-" + hashlib.sha256(key.encode()).hexdigest()[:12]


@lru_cache(maxsize=1)
def _default_source() -> SyntheticSource:
    return SyntheticSource()


# The harder regime: imaging faults (vsbench.data.synthetic_faults) on 256 px fields, which
# NSC splits into several fields of view when they are predicted whole or in large tiles.
HARD_FIELD_SIZE = 256


@lru_cache(maxsize=1)
def _hard_source() -> SyntheticSource:
    return SyntheticSource(field_size=HARD_FIELD_SIZE, regime="hard")


@hookimpl
def vsbench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(
        name="synthetic",
        description="Procedural Cell-Painting-like fields, 6 plates x 12 wells x 2 sites, offline.",
        reference="built-in (vsbench.data.synthetic_render)",
        factory=lambda data_root: _default_source(),
    ), DatasetSpec(
        name="synthetic-hard",
        description="The synthetic plates with imaging faults (Poisson-Gaussian noise, uneven "
                    "illumination, autofluorescence, out-of-focus cells, debris), 256 px fields.",
        reference="built-in (vsbench.data.synthetic_faults)",
        factory=lambda data_root: _hard_source(),
    )]
