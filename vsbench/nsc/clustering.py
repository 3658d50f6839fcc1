"""Cluster labels synchronised across fields of view through a shared anchor (paper 2.2).

Each field s is clustered jointly with the anchor a: k-means on the spectral embedding of the
augmented graph labels all 2 n_p patches, the anchor's first. k-means numbers its clusters
arbitrarily, so label 3 of one field need not mean what label 3 of another does. The anchor's
patches are labelled in every run, and the paper's mapping
theta_{i,j}(u) = argmax_v <[Q_i]_u, [Q_j]_v> (the anchor part of the assignment matrices, i.e.
the number of anchor patches that run i puts in cluster u and run j in cluster v) renames every
run's clusters into the reference run's. The reference run j is the first field's.

A cluster that holds no anchor patch has no overlap with any reference cluster (the argmax of
zeros is undefined; taking the first index would merge it with an unrelated cluster), so it gets
a label of its own, k + u, and stays separate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vsbench.nsc.spectral import (Solver, anchor_gram, augmented_affinity, kmeans_labels,
                                  normalized_adjacency, spectral_embedding, top_eigenvectors)


def label_mapping(labels: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """theta: for each cluster u of ``labels`` (0..k-1), the cluster v of ``reference`` that
    shares the most patches with it (both label the same anchor patches); k + u when u holds
    no anchor patch."""
    overlap = np.zeros((k, int(reference.max()) + 1), dtype=np.int64)
    np.add.at(overlap, (labels, reference), 1)
    theta = overlap.argmax(axis=1)
    empty = overlap.sum(axis=1) == 0
    theta[empty] = k + np.flatnonzero(empty)
    return theta


@dataclass
class JointClustering:
    """Synchronised labels of one anchor and several fields.

    Attributes:
        anchor: the reference run's labels of the anchor's patches ``[n_a]``.
        fields: per field, its patches' labels in the reference numbering ``[n_s]``.
        raw_fields: per field, its k-means labels before synchronisation (for diagnostics).
        eigenvalues: per field, the r eigenvalues of its augmented graph.
    """

    anchor: np.ndarray
    fields: list[np.ndarray]
    raw_fields: list[np.ndarray]
    eigenvalues: list[np.ndarray]


def cluster_fields(anchor: torch.Tensor, fields: list[torch.Tensor], r: int = 5, k: int = 5,
                   solver: Solver = "eigsh", seed: int = 0, n_init: int = 10,
                   reference: bool = False, gram: np.ndarray | None = None
                   ) -> JointClustering:
    """Joint spectral clustering of each field with the anchor, labels synchronised.

    Args:
        anchor: the anchor's patch features ``[n_a, D]``.
        fields: each field's patch features ``[n_s, D]``.
        r: eigenvectors of the embedding; k: clusters.
        solver: the eigensolver (see :func:`vsbench.nsc.spectral.spectral_embedding`).
        seed, n_init: k-means restarts and their seed (and the eigensolver's start vector).
        reference: for ``eigsh``, build the affinity and call ARPACK on the dense array as
            before issue 30 (:func:`~vsbench.nsc.spectral.spectral_embedding`), instead of
            :func:`~vsbench.nsc.spectral.normalized_adjacency` and
            :func:`~vsbench.nsc.spectral.top_eigenvectors` (the same numbers to rounding,
            2.3x faster per graph before k-means: ``benchmarks/diffstain_predict_cost.py``).
        gram: the anchor's Gram block (:func:`~vsbench.nsc.spectral.anchor_gram`), when the
            caller keeps it across calls (computed here otherwise, once for all fields).
    """
    n_a = len(anchor)
    values, embeddings = [], []
    fast = solver == "eigsh" and not reference
    if fast and gram is None and len(fields) > 1:
        gram = anchor_gram(anchor)
    for field in fields:
        if fast:
            eigvals, embedding = top_eigenvectors(normalized_adjacency(anchor, field, gram), r,
                                                  seed)
        else:
            eigvals, embedding = spectral_embedding(augmented_affinity(anchor, field), r,
                                                    solver, seed)
        values.append(eigvals)
        embeddings.append(embedding)
    return cluster_embeddings(n_a, embeddings, values, k, seed, n_init)


def cluster_embeddings(n_a: int, embeddings: list[np.ndarray], eigenvalues: list[np.ndarray],
                       k: int = 5, seed: int = 0, n_init: int = 10) -> JointClustering:
    """k-means of each field's joint spectral embedding ``[n_a + n_s, r]`` (anchor rows
    first), labels synchronised through the anchor: the part of :func:`cluster_fields` after
    the eigensolver (the batched solver of :mod:`vsbench.nsc.batched` feeds it too)."""
    reference = None
    synced, raw = [], []
    for embedding in embeddings:
        labels = kmeans_labels(embedding, k, seed, n_init)
        if reference is None:
            reference = labels[:n_a]
        theta = label_mapping(labels[:n_a], reference, k)
        synced.append(theta[labels[n_a:]])
        raw.append(labels[n_a:])
    return JointClustering(reference, synced, raw, list(eigenvalues))
