"""NSC's batched spectral step against the one-graph-at-a-time ARPACK path."""

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.nsc import batched
from vsbench.nsc import weights as nsc_weights
from vsbench.nsc.config import NSCConfig
from vsbench.nsc.masks import NSC
from vsbench.nsc.spectral import (augmented_affinity, kmeans_labels, normalized_laplacian,
                                  spectral_embedding)

PROTOTYPES = torch.eye(4, 16) * 3 + 0.5


def graphs(count: int, half: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchors and fields ``[count, half, 16]``: noisy copies of four prototypes."""
    gen = torch.Generator().manual_seed(seed)
    which = torch.randint(0, 4, (count, 2, half), generator=gen)
    feats = PROTOTYPES[which] + 0.6 * torch.randn(count, 2, half, 16, generator=gen)
    return feats[:, 0], feats[:, 1]


def canonical(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered by first occurrence (equal partitions give equal arrays)."""
    _, first = np.unique(labels, return_index=True)
    order = {lab: i for i, lab in enumerate(labels[np.sort(first)])}
    return np.array([order[lab] for lab in labels])


def check_equal_to_arpack(anchors, fields, r=4, k=4):
    values, vectors, used = batched.spectral_embeddings(anchors, fields, r, seed=0)
    for a, f, v, e in zip(anchors, fields, values, vectors):
        ref_values, ref_vectors = spectral_embedding(augmented_affinity(a, f), r, "eigsh", 0)
        np.testing.assert_allclose(v, ref_values, atol=1e-9)
        # the same subspace: projections agree (eigenvectors are defined up to sign)
        np.testing.assert_allclose(e @ e.T, ref_vectors @ ref_vectors.T, atol=1e-7)
        assert np.array_equal(canonical(kmeans_labels(e, k, 0, 3)),
                              canonical(kmeans_labels(ref_vectors, k, 0, 3)))
    return used


def test_adjacency_is_the_papers_normalised_affinity():
    anchors, fields = graphs(2, 20)
    m = batched.batched_adjacency(anchors, fields)
    laplacian = normalized_laplacian(augmented_affinity(anchors[1], fields[1]))
    np.testing.assert_allclose(np.eye(40) - m[1].numpy(), laplacian, atol=1e-12)


def test_dense_and_krylov_equal_arpack_one_graph_at_a_time():
    assert check_equal_to_arpack(*graphs(3, 40)) == {"dense"}  # 80 nodes
    assert check_equal_to_arpack(*graphs(3, 150, seed=1)) == {"krylov"}  # 300 nodes


def test_unconverged_graphs_fall_back_to_arpack_and_chunks_do_not_matter(monkeypatch):
    anchors, fields = graphs(3, 150, seed=2)
    monkeypatch.setattr(batched, "MAX_RESTARTS", 1)
    monkeypatch.setattr(batched, "TOLERANCE", 0.0)  # nothing converges
    monkeypatch.setattr(batched, "MAX_GRAPH_BYTES", 8 * 300 * 300 * 2)  # two graphs a chunk
    assert batched.graph_chunk(300) == 2
    assert check_equal_to_arpack(anchors, fields) == {"krylov+eigsh"}


def test_nsc_masks_batched_equal_the_cpu_path():
    source = SyntheticSource()
    images = torch.stack([torch.from_numpy(source.load(r).fluorescence[:2])
                          for r in source.records()[:2]])
    images = F.interpolate(images, size=48, mode="area")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nsc_weights.NSCWeightsWarning)
        # 2 x 2 fields, 288-node graphs; batched forced (the default batches on a GPU only)
        nsc = NSC(NSCConfig(input_size=96, fov=32, n_init=2), batched=True)
        fast = nsc.masks(images)
        fast_labels = nsc.cluster(images)
        assert "block Krylov" in nsc.record()["eigensolver"]
        nsc.batched = False
        slow = nsc.masks(images)
        slow_labels = nsc.cluster(images)
    assert nsc.eigensolver() == "eigsh: one graph at a time"
    assert fast.shape == (2, 2, 48, 48) and fast.any() and not fast.all()
    assert torch.equal(fast, slow)
    for per_fast, per_slow in zip(fast_labels, slow_labels):
        for a, b in zip(per_fast, per_slow):
            assert all(np.array_equal(x, y) for x, y in zip(a["labels"], b["labels"]))
            assert np.array_equal(a["anchor"], b["anchor"])
