"""Tests of the procedural Cell-Painting-like field generator."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from vsbench.data.sources.synthetic.render import (BRIGHTFIELD_PLANES, CHANNELS, PERTURBATIONS,
                                                   Perturbation, SyntheticField, render_field)

DMSO = PERTURBATIONS[0]
BY_NAME = {p.name: p for p in PERTURBATIONS}


@pytest.fixture(scope="module")
def fields_64() -> tuple[list[SyntheticField], list[SyntheticField]]:
    """20 training and 20 held-out 64 x 64 fields cycling through all perturbations."""
    train = [render_field(s, 64, PERTURBATIONS[s % 6]) for s in range(20)]
    test = [render_field(s, 64, PERTURBATIONS[s % 6]) for s in range(100, 120)]
    return train, test


def _pcc(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _fit_and_score(train_x: list[np.ndarray], train_y: list[np.ndarray],
                   test_x: list[np.ndarray], test_y: list[np.ndarray]) -> float:
    """Least-squares fit of per-pixel features [n_pix, n_feat] -> target; mean held-out PCC."""
    w, *_ = np.linalg.lstsq(np.concatenate(train_x), np.concatenate(train_y), rcond=None)
    return float(np.mean([_pcc(x @ w, y) for x, y in zip(test_x, test_y)]))


def _pixel_features(f: SyntheticField) -> np.ndarray:
    """The three planes per pixel plus an intercept."""
    bf = f.brightfield.reshape(3, -1).T.astype(np.float64)
    return np.concatenate([bf, np.ones((bf.shape[0], 1))], axis=1)


def _local_features(f: SyntheticField) -> np.ndarray:
    """Multi-scale neighbourhood features (smoothed planes, local |LoG|) and their squares."""
    feats = []
    for plane in f.brightfield.astype(np.float64):
        feats.append(plane)
        edges = np.abs(ndimage.gaussian_laplace(plane, 1.0))
        for s in (1, 2, 4):
            feats += [ndimage.gaussian_filter(plane, s), ndimage.gaussian_filter(edges, s)]
    x = np.stack([a.ravel() for a in feats], axis=1)
    return np.concatenate([x, x * x, np.ones((x.shape[0], 1))], axis=1)


def _cell_mask(f: SyntheticField) -> np.ndarray:
    """Cells = nuclei plus the area enclosed by the membrane rims (AGP structure)."""
    return ndimage.binary_fill_holes(f.structure[3]) | f.structure[0]


# ---------------------------------------------------------------------------------------------

def test_public_constants() -> None:
    assert CHANNELS == ("DNA", "ER", "RNA", "AGP", "Mito")
    assert BRIGHTFIELD_PLANES == ("LowZBF", "Brightfield", "HighZBF")
    assert len(PERTURBATIONS) == 6
    assert PERTURBATIONS[0] == Perturbation("DMSO", "control")
    targets = [p.target for p in PERTURBATIONS]
    assert len(set(targets)) == 3
    assert all(targets.count(t) == 2 for t in set(targets))
    assert len({p.name for p in PERTURBATIONS}) == 6


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_dtypes_ranges(size: int) -> None:
    for i, pert in enumerate(PERTURBATIONS):
        f = render_field(i, size, pert)
        assert f.brightfield.shape == (3, size, size) and f.brightfield.dtype == np.float32
        assert f.fluorescence.shape == (5, size, size) and f.fluorescence.dtype == np.float32
        assert f.structure.shape == (5, size, size) and f.structure.dtype == bool
        assert np.isfinite(f.brightfield).all() and np.isfinite(f.fluorescence).all()
        assert f.fluorescence.min() >= 0.0 and f.fluorescence.max() <= 1.0
        # Brightfield is roughly in [0, 1] (not clipped): check its bulk.
        lo, hi = np.percentile(f.brightfield, [1, 99])
        assert 0.0 < lo and hi < 1.0


def test_other_sizes_work() -> None:
    for size in (48, 100, 256):
        f = render_field(3, size, BY_NAME["FCCP-like"])
        assert f.fluorescence.shape == (5, size, size)


def test_structure_masks_non_empty_on_typical_fields() -> None:
    for seed in range(5):
        f = render_field(seed, 128, DMSO)
        assert f.structure.reshape(5, -1).any(axis=1).all(), seed


def test_deterministic() -> None:
    a = render_field(7, 64, BY_NAME["nocodazole-like"])
    b = render_field(7, 64, BY_NAME["nocodazole-like"])
    for name in ("brightfield", "fluorescence", "structure"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = render_field(8, 64, BY_NAME["nocodazole-like"])
    assert not np.array_equal(a.fluorescence, c.fluorescence)
    assert not np.array_equal(a.brightfield, c.brightfield)
    assert not np.array_equal(a.structure, c.structure)


def test_unknown_target_rejected() -> None:
    with pytest.raises(ValueError):
        render_field(0, 64, Perturbation("mystery", "no-such-target"))


def test_perturbations_change_morphology() -> None:
    """Nucleus area drops under the microtubule target; mitochondria fragment (shorter objects)
    under the mitochondria target; both perturbations of a target act in the same direction."""

    def nucleus_area(f: SyntheticField) -> float:
        _, n = ndimage.label(f.structure[0])
        return f.structure[0].sum() / max(n, 1)

    def mito_extent(f: SyntheticField) -> float:
        lab, _ = ndimage.label(f.structure[4], structure=np.ones((3, 3)))
        boxes = ndimage.find_objects(lab)
        return float(np.mean([max(b[0].stop - b[0].start, b[1].stop - b[1].start)
                              for b in boxes]))

    stats = {}
    for name in ("DMSO", "nocodazole-like", "colchicine-like", "FCCP-like", "rotenone-like"):
        fs = [render_field(s, 128, BY_NAME[name]) for s in range(200, 210)]
        stats[name] = (np.mean([nucleus_area(f) for f in fs]),
                       np.mean([mito_extent(f) for f in fs]))
    for name in ("nocodazole-like", "colchicine-like"):
        assert stats[name][0] < 0.8 * stats["DMSO"][0], stats
    for name in ("FCCP-like", "rotenone-like"):
        assert stats[name][1] < 0.85 * stats["DMSO"][1], stats
        # The mitochondria target leaves nuclei alone.
        assert stats[name][0] == pytest.approx(stats["DMSO"][0], rel=0.1)


def test_fluorescence_is_not_constant(fields_64) -> None:
    _, test = fields_64
    std = np.mean([f.fluorescence.reshape(5, -1).std(axis=1) for f in test], axis=0)
    assert (std > 0.05).all(), std


def test_per_pixel_linear_map_is_poor(fields_64) -> None:
    """A per-pixel linear map of the 3 planes predicts the stains badly (measured: PCC about
    DNA 0.36, ER 0.14, RNA 0.33, AGP 0.20, Mito 0.26; mean 0.26)."""
    train, test = fields_64
    pccs = [_fit_and_score([_pixel_features(f) for f in train],
                           [f.fluorescence[c].ravel() for f in train],
                           [_pixel_features(f) for f in test],
                           [f.fluorescence[c].ravel() for f in test]) for c in range(5)]
    assert max(pccs) < 0.5, dict(zip(CHANNELS, pccs))
    assert np.mean(pccs) < 0.4, dict(zip(CHANNELS, pccs))


def test_brightfield_is_informative(fields_64) -> None:
    """Defocused planes outline the cells, and neighbourhood features predict the stains much
    better than the per-pixel linear map (measured: mean PCC about 0.55 vs 0.26)."""
    train, test = fields_64
    corr_cell, corr_dna = [], []
    for f in test:
        edges = ndimage.gaussian_filter(np.abs(ndimage.gaussian_laplace(f.brightfield[2], 1.5)), 2)
        corr_cell.append(_pcc(edges, _cell_mask(f)))
        corr_dna.append(_pcc(edges, f.structure[0]))
    assert np.mean(corr_cell) > 0.3 and min(corr_cell) > 0.1, corr_cell  # measured 0.49, 0.30
    assert np.mean(corr_dna) > 0.15, corr_dna                                # measured 0.30

    linear, local = [], []
    for c in range(5):
        ys_train = [f.fluorescence[c].ravel() for f in train]
        ys_test = [f.fluorescence[c].ravel() for f in test]
        linear.append(_fit_and_score([_pixel_features(f) for f in train], ys_train,
                                     [_pixel_features(f) for f in test], ys_test))
        local.append(_fit_and_score([_local_features(f) for f in train], ys_train,
                                    [_local_features(f) for f in test], ys_test))
    assert np.mean(local) > np.mean(linear) + 0.15, (linear, local)


def test_signal_is_higher_inside_structure() -> None:
    for seed in range(4):
        f = render_field(seed, 128, PERTURBATIONS[seed % 6])
        for c, name in enumerate(CHANNELS):
            inside = f.fluorescence[c][f.structure[c]].mean()
            outside = f.fluorescence[c][~f.structure[c]].mean()
            assert inside > outside + 0.1, (seed, name, inside, outside)
