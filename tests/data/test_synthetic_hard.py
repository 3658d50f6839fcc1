"""The harder synthetic regime: faults on the same cells, and the default dataset unchanged."""

import hashlib

import numpy as np
import pytest

from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.errors import DataError
from vsbench.plugins import build_registry

# The fingerprint and a digest of five fields (brightfield, fluorescence, structure) of the
# 6 x 6 x 4 layout as rendered before the hard regime existed (commit c873436's tree): the
# renderer must not drift. The default layout is 6 x 12 x 2 since 2026-12-01.
OLD_LAYOUT = dict(wells_per_plate=6, sites_per_well=4)
OLD_FINGERPRINT = "synthetic-191e127a5354"
DEFAULT_FINGERPRINT = "synthetic-2386ef25f722"
# The renders' bytes under the dependency set this suite resolves today (2026-12-03: numpy
# 2.4.6, scipy 1.17.1, scikit-image 0.26.0); the digest of 2026-12-01 was 79262f7aaad1ee87
# and the library that moved the bytes (not scipy 1.17.0, not numpy 2.4.5) is not yet found.
DEFAULT_DIGEST = "eb8f40369880c9ab"


def test_the_default_layout_has_replicate_wells_on_every_plate():
    source = SyntheticSource()
    assert source.fingerprint() == DEFAULT_FINGERPRINT
    records = source.records()
    assert len(records) == 6 * 12 * 2
    wells = {}
    for r in records:
        wells.setdefault((r.plate, r.labels["perturbation"]), set()).add(r.well)
    assert len(wells) == 6 * 6 and all(len(w) == 2 for w in wells.values())


def test_the_renderer_renders_bit_identically():
    source = SyntheticSource(**OLD_LAYOUT)
    assert source.fingerprint() == OLD_FINGERPRINT
    digest = hashlib.sha256()
    for record in source.records()[:3] + source.records()[-2:]:
        sample = source.load(record)
        for array in (sample.brightfield, sample.fluorescence, source.structure(record)):
            digest.update(array.tobytes())
    assert digest.hexdigest()[:16] == DEFAULT_DIGEST


def test_the_hard_regime_has_faults_on_the_same_cells():
    easy = SyntheticSource(field_size=64)
    hard = SyntheticSource(field_size=64, regime="hard")
    assert hard.info.name == "synthetic-hard" and hard.info.channels == easy.info.channels
    assert hard.fingerprint() != easy.fingerprint()
    record = easy.records()[0]
    a, b = easy.load(record), hard.load(record)
    truth = easy.structure(record)
    assert np.array_equal(truth, hard.structure(record))  # the same cells and structures
    # (the brightfield planes show the same cells; their illumination and noise draws differ,
    # since the fluorescence camera's Poisson draws, which come first, consume a data-dependent
    # amount of the field's random stream)
    assert b.brightfield.shape == a.brightfield.shape
    assert b.fluorescence.shape == a.fluorescence.shape and b.fluorescence.min() >= 0
    assert b.fluorescence.max() <= 1
    # the faults make structure and background harder to tell apart: the contrast between
    # structure and background pixels falls in every channel
    def contrast(image):
        return np.array([image[c][truth[c]].mean() - image[c][~truth[c]].mean()
                         for c in range(5)])
    assert (contrast(b.fluorescence) < contrast(a.fluorescence)).all()
    with pytest.raises(DataError, match="synthetic regime 'blurry'"):
        SyntheticSource(regime="blurry")


def test_the_hard_dataset_is_registered_with_large_fields():
    registry = build_registry()
    source = registry.datasets["synthetic-hard"].spec.factory(None)
    assert source.field_size == 256 and source.regime == "hard"
    assert registry.datasets["synthetic"].spec.factory(None).fingerprint() == DEFAULT_FINGERPRINT
