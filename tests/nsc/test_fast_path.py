"""NSC's CPU fast path (issue 30) against the reference computations it replaces."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.nsc import weights as nsc_weights
from vsbench.nsc.clustering import cluster_fields
from vsbench.nsc.config import NSCConfig
from vsbench.nsc.masks import NSC
from vsbench.nsc.spectral import (_normalized_adjacency, anchor_gram, augmented_affinity,
                                  kmeans_labels, normalized_adjacency, normalized_laplacian,
                                  spectral_embedding, top_eigenvectors)

PROTOTYPES = torch.eye(5, 24) * 3 + 0.5  # five structures


def features(n: int, seed: int, noise: float = 1.0) -> torch.Tensor:
    """``n`` noisy copies of the prototypes (noisy enough for some negative cosines)."""
    gen = torch.Generator().manual_seed(seed)
    which = torch.randint(0, len(PROTOTYPES), (n,), generator=gen)
    return PROTOTYPES[which] + noise * torch.randn(n, PROTOTYPES.shape[1], generator=gen)


def canonical(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered by first occurrence (equal partitions give equal arrays)."""
    _, first = np.unique(labels, return_index=True)
    order = {lab: i for i, lab in enumerate(labels[np.sort(first)])}
    return np.array([order[lab] for lab in labels])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adjacency_in_place_equals_the_reference(seed):
    anchor, field = features(70, seed), features(90, seed + 10)
    reference = _normalized_adjacency(augmented_affinity(anchor, field))
    assert (augmented_affinity(anchor, field) == 0).any()  # the clamp is exercised
    whole = normalized_adjacency(anchor, field)
    blocks = normalized_adjacency(anchor, field, anchor_gram(anchor))  # the anchor's block kept
    for m in (whole, blocks):
        assert m.shape == (160, 160) and m.dtype == np.float64 and m.flags.c_contiguous
        np.testing.assert_allclose(m, reference, rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.eye(160) - whole, normalized_laplacian(
        augmented_affinity(anchor, field)), atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_symmetric_products_give_the_dense_eigenvectors_and_labels(seed):
    anchor, field = features(100, seed), features(100, seed + 10)
    affinity = augmented_affinity(anchor, field)
    dense_values, dense_vectors = spectral_embedding(affinity, 5, "dense")
    ref_values, ref_vectors = spectral_embedding(affinity, 5, "eigsh", seed=0)
    values, vectors = top_eigenvectors(normalized_adjacency(anchor, field), 5, seed=0)
    np.testing.assert_allclose(values, dense_values, atol=1e-9)
    np.testing.assert_allclose(values, ref_values, atol=1e-12)
    # eigenvectors are defined up to sign: compare the projections onto their subspace
    np.testing.assert_allclose(vectors @ vectors.T, dense_vectors @ dense_vectors.T, atol=1e-7)
    np.testing.assert_allclose(vectors @ vectors.T, ref_vectors @ ref_vectors.T, atol=1e-9)
    labels = kmeans_labels(vectors, 5, 0, 3)
    assert np.array_equal(canonical(labels), canonical(kmeans_labels(dense_vectors, 5, 0, 3)))
    assert np.array_equal(canonical(labels), canonical(kmeans_labels(ref_vectors, 5, 0, 3)))
    with pytest.raises(ValueError, match="r=199"):
        top_eigenvectors(normalized_adjacency(anchor, field), 199)


def test_cluster_fields_fast_equals_reference_and_dense():
    anchor = features(80, 0)
    fields = [features(80, s) for s in (1, 2, 3)]
    fast = cluster_fields(anchor, fields, r=4, k=5, seed=0, n_init=3)
    reference = cluster_fields(anchor, fields, r=4, k=5, seed=0, n_init=3, reference=True)
    dense = cluster_fields(anchor, fields, r=4, k=5, solver="dense", seed=0, n_init=3)
    given = cluster_fields(anchor, fields, r=4, k=5, seed=0, n_init=3,
                           gram=anchor_gram(anchor))
    for other in (reference, given):
        assert np.array_equal(fast.anchor, other.anchor)
        assert all(np.array_equal(a, b) for a, b in zip(fast.fields, other.fields))
        assert all(np.array_equal(a, b) for a, b in zip(fast.raw_fields, other.raw_fields))
        np.testing.assert_allclose(np.stack(fast.eigenvalues), np.stack(other.eigenvalues),
                                   atol=1e-12)
    # the dense solver's eigenvectors differ by rounding only: the same partitions
    assert all(np.array_equal(canonical(np.concatenate([fast.anchor, a])),
                              canonical(np.concatenate([dense.anchor, b])))
               for a, b in zip(fast.fields, dense.fields))


@pytest.mark.parametrize("anchors", [False, True])
def test_nsc_masks_fast_path_equal_the_reference_path(anchors):
    source = SyntheticSource()
    records = source.records()
    images = torch.stack([torch.from_numpy(source.load(r).fluorescence[:2])
                          for r in records[:2]])
    images = F.interpolate(images, size=48, mode="area")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nsc_weights.NSCWeightsWarning)
        nsc = NSC(NSCConfig(input_size=96, fov=32, n_init=2))  # 2 x 2 fields, 288 nodes
        if anchors:  # a set anchor per channel: its Gram block is kept
            anchor = torch.from_numpy(source.load(records[3]).fluorescence[:2])
            nsc.set_anchors(F.interpolate(anchor[None], size=48, mode="area")[0, :, :32, :32])
        fast, fast_labels = nsc.masks(images), nsc.cluster(images)
        assert set(nsc._anchor_grams) == ({0, 1} if anchors else set())
        nsc.reference = True
        slow, slow_labels = nsc.masks(images), nsc.cluster(images)
    assert fast.any() and not fast.all()
    assert torch.equal(fast, slow)
    for per_fast, per_slow in zip(fast_labels, slow_labels):
        for a, b in zip(per_fast, per_slow):
            assert all(np.array_equal(x, y) for x, y in zip(a["labels"], b["labels"]))
            assert all(np.array_equal(x, y) for x, y in zip(a["raw"], b["raw"]))
