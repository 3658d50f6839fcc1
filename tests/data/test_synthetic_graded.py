"""The graded panel (``synthetic-graded``): its perturbations, its layout, its inactive
compounds, and the default dataset left as it was."""

import hashlib
from collections import Counter

import numpy as np
import pytest

from vsbench.data.splits import assign_parts
from vsbench.data.sources.synthetic.source import GRADED_LAYOUT, SyntheticSource
from vsbench.data.sources.synthetic.perturbations import (GRADED_PANEL, PANELS, PERTURBATIONS,
                                                          Perturbation, morphology)
from vsbench.data.sources.synthetic.render import render_field
from vsbench.errors import DataError
from vsbench.plugins import build_registry

# The default dataset, as before panels existed: its fingerprint and a digest of its records
# (sample id, plate, well, site, labels), which committed reference results depend on.
DEFAULT_FINGERPRINT = "synthetic-2386ef25f722"
DEFAULT_RECORDS_DIGEST = "8ad28242a732e789"
GRADED = {p.name: p for p in GRADED_PANEL.perturbations}
CONTROLS = {"DMSO", "untreated"}
INACTIVE = {"inactive-1", "inactive-2"}


def _records_digest(source: SyntheticSource) -> str:
    rows = [(r.sample_id, r.plate, r.well, r.site, sorted(r.labels.items()))
            for r in source.records()]
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def graded() -> SyntheticSource:
    return build_registry().datasets["synthetic-graded"].spec.factory(None)


def test_the_default_dataset_is_untouched():
    source = SyntheticSource()
    assert source.panel == "default" and PANELS["default"].perturbations == PERTURBATIONS
    assert source.info.name == "synthetic"
    assert source.fingerprint() == DEFAULT_FINGERPRINT
    assert _records_digest(source) == DEFAULT_RECORDS_DIGEST
    assert source.info.label_kinds["perturbation"] == tuple(sorted(p.name for p in PERTURBATIONS))
    registered = build_registry().datasets["synthetic"].spec.factory(None)
    assert registered.fingerprint() == DEFAULT_FINGERPRINT


def test_the_graded_panel_names_and_counts():
    names = [p.name for p in GRADED_PANEL.perturbations]
    assert len(names) == len(set(names)) == 12
    targets = Counter(p.target for p in GRADED_PANEL.perturbations)
    assert targets == {"control": 2, "microtubule": 3, "mitochondria": 2, "nucleus": 1,
                       "golgi": 1, "actin": 1, "inactive": 2}
    assert {n for n, p in GRADED.items() if p.target == "control"} == CONTROLS
    assert {n for n, p in GRADED.items() if p.target == "inactive"} == INACTIVE
    # the default panel's four actives are in it as they are (same name, target, strength)
    assert set(PERTURBATIONS[:4]) <= set(GRADED_PANEL.perturbations)
    # graded: the microtubule target at three strengths, the mitochondria target at two
    assert morphology(GRADED["nocodazole-like"]).cell_scale < morphology(
        GRADED["colchicine-like"]).cell_scale < morphology(GRADED["vinblastine-like"]).cell_scale
    # (above the default panel's FCCP-like, whose phenotype the profile tier cannot see)
    fccp = morphology(Perturbation("FCCP-like", "mitochondria"))
    assert morphology(GRADED["antimycin-like"]).mito_swelling > morphology(
        GRADED["oligomycin-like"]).mito_swelling > fccp.mito_swelling
    # a strength above 1 keeps the parameters in range
    strong = morphology(GRADED["antimycin-like"])
    assert strong.mito_length == 0.0 and 0.0 < strong.mito_swelling <= 1.0
    # one cycle of the plate map: each treatment once, each control twice
    cycle = Counter(p.name for p in GRADED_PANEL.cycle)
    assert all(cycle[n] == (2 if n in CONTROLS else 1) for n in names)


def test_the_graded_layout(graded):
    assert graded.info.name == "synthetic-graded" and graded.panel == "graded"
    assert graded.fingerprint() not in (DEFAULT_FINGERPRINT, SyntheticSource().fingerprint())
    assert graded.info.label_kinds == {
        "perturbation": tuple(sorted(GRADED)),
        "target": tuple(sorted({p.target for p in GRADED.values()}))}
    records = graded.records()
    plates = sorted({r.plate for r in records})
    assert len(plates) == GRADED_LAYOUT["n_plates"] == 3
    assert len(records) == 3 * 56 * 3
    parts = assign_parts(records)
    # no well is split across parts; one plate per part
    well_parts: dict = {}
    for r in records:
        well_parts.setdefault((r.plate, r.well), set()).add(parts[r.sample_id])
    assert all(len(v) == 1 for v in well_parts.values())
    assert Counter(parts.values()) == {"train": 168, "val": 168, "test": 168}
    # every plate: 4 wells of each treatment, 8 of each control, 3 sites a well
    for plate in plates:
        wells = {(r.well, r.labels["perturbation"]) for r in records if r.plate == plate}
        per_pert = Counter(p for _, p in wells)
        assert per_pert == {n: 8 if n in CONTROLS else 4 for n in GRADED}, plate
        sites = Counter(r.well for r in records if r.plate == plate)
        assert set(sites.values()) == {3}
    test = {r.sample_id for r in records if parts[r.sample_id] == "test"}
    assert {r.plate for r in records if r.sample_id in test} == {plates[-1]}
    # a perturbation's replicate wells are not one column of the plate
    cols = {}
    for r in records:
        if r.plate == plates[-1]:
            cols.setdefault(r.labels["perturbation"], set()).add(r.well[1:])
    assert all(len(c) > 1 for c in cols.values())


def test_inactive_compounds_render_the_control_phenotype():
    for seed in (0, 1):
        control = render_field(seed, 64, GRADED["DMSO"])
        for name in sorted(INACTIVE):
            field = render_field(seed, 64, GRADED[name])
            for kind in ("brightfield", "fluorescence", "structure"):
                np.testing.assert_array_equal(getattr(field, kind), getattr(control, kind))
        # an active one does not
        active = render_field(seed, 64, GRADED["etoposide-like"])
        assert not np.array_equal(active.fluorescence, control.fluorescence)


def test_the_new_targets_change_their_structures():
    """Nuclei grow under the nucleus target and the ER region spreads under the Golgi target
    (fractions of the field in the DNA and ER structure masks)."""
    def stats(name):
        fields = [render_field(s, 128, GRADED[name]) for s in range(300, 304)]
        return np.array([[f.structure[0].mean(), f.structure[1].mean()] for f in fields]).mean(0)

    control, nucleus, golgi = stats("DMSO"), stats("etoposide-like"), stats("brefeldin-like")
    assert nucleus[0] > 1.3 * control[0]
    assert golgi[1] > 1.2 * control[1]


def test_an_unknown_panel_is_refused():
    with pytest.raises(DataError, match="synthetic panel 'nope'"):
        SyntheticSource(panel="nope")
