"""Joint spectral embedding of an anchor and a field of view (DiffStain section 2.2).

- :func:`augmented_affinity`: the patch features of the anchor (n_a patches) and of the field
  (n_s patches) stacked, F = [F_a; F_s], and A = cos(F_i, F_j) with negative values set to zero,
  which is the block matrix [[A_a, A_as], [A_as^T, A_s]] of the paper (self-affinities included).
- :func:`normalized_laplacian`: L = I - D^-1/2 A D^-1/2, D_ii = sum_j A_ij.
- :func:`spectral_embedding`: the eigenvectors of the r smallest eigenvalues of L after the
  first (the trivial eigenvector D^1/2 1, eigenvalue 0). For a connected graph, the case for the
  non-negative cosine affinities of real features, these are the paper's "first r non-zero
  eigenvalues". Solvers: ``eigsh`` (scipy's Lanczos, ARPACK, on the dense matrix: it needs only
  products with A, O(n^2) each), ``lobpcg`` (torch, also on a GPU) and ``dense`` (LAPACK
  ``eigh``, O(n^3): the reference the tests compare the others with). The iterative solvers
  work on M = D^-1/2 A D^-1/2, whose largest eigenvalues 1 - lambda are the Laplacian's
  smallest: well separated at the top of the spectrum, where Lanczos converges fast.
- :func:`kmeans_labels`: scikit-learn k-means on the embedding rows, seeded, ``n_init`` fixed.

NSC's CPU path (:mod:`vsbench.nsc.clustering`) builds M directly with
:func:`normalized_adjacency` (numpy's symmetric rank-k product for F F^T, the anchor's block
of it kept per channel, every later step in place: 1.7x faster than :func:`augmented_affinity`
then D^-1/2 A D^-1/2 with temporaries) and solves it with :func:`top_eigenvectors`: the same
ARPACK call, whose products with M are BLAS ``symv`` on one triangle (half the memory traffic
of the ``gemv`` that ``eigsh`` makes on a dense array: 2.8x faster per solve). Both give the
reference's numbers to rounding (4e-18 in M, 9e-16 in the eigenvalues, the same k-means
labels); ``benchmarks/diffstain_predict_cost.py`` measures it.

Eigenvectors are defined up to sign (and up to a rotation inside a repeated eigenvalue's
space); k-means on the rows is invariant to both, so only the spanned subspace matters.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from vsbench.nsc.config import SOLVERS

Solver = Literal["eigsh", "lobpcg", "dense"]


def augmented_affinity(anchor: torch.Tensor, field: torch.Tensor) -> np.ndarray:
    """[[A_a, A_as], [A_as^T, A_s]] from patch features ``[n_a, D]`` and ``[n_s, D]``:
    cosine similarity, negatives set to zero (float64, ``[n_a + n_s] x [n_a + n_s]``)."""
    feats = torch.cat([anchor, field]).double()
    feats = feats / feats.norm(dim=1, keepdim=True).clamp_min(1e-12)
    affinity = (feats @ feats.T).clamp_min_(0.0)
    return affinity.cpu().numpy()


def normalized_laplacian(affinity: np.ndarray) -> np.ndarray:
    """L = I - D^-1/2 A D^-1/2 (dense)."""
    return np.eye(len(affinity)) - _normalized_adjacency(affinity)


def _normalized_adjacency(affinity: np.ndarray) -> np.ndarray:
    inv_sqrt = 1.0 / np.sqrt(np.maximum(affinity.sum(axis=1), 1e-12))
    return affinity * inv_sqrt[:, None] * inv_sqrt[None, :]


def spectral_embedding(affinity: np.ndarray, r: int, solver: Solver = "eigsh",
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The first ``r`` non-trivial eigenpairs of the normalised Laplacian of ``affinity``.

    Returns:
        eigenvalues ``[r]`` (ascending) and eigenvectors ``[n, r]`` (orthonormal columns).
    """
    n = len(affinity)
    if not 1 <= r <= n - 2:
        raise ValueError(f"r={r}: need 1 <= r <= n - 2 for a graph of {n} nodes.")
    if solver == "dense":
        values, vectors = np.linalg.eigh(normalized_laplacian(affinity))
        return values[1:r + 1], vectors[:, 1:r + 1]
    m = _normalized_adjacency(affinity)
    if solver == "eigsh":
        from scipy.sparse.linalg import eigsh

        # A fixed start vector makes the result reproducible (ARPACK's default is random).
        v0 = np.random.default_rng(seed).standard_normal(n)
        top, vectors = eigsh(m, k=r + 1, which="LA", v0=v0, tol=1e-10, maxiter=20 * n)
    elif solver == "lobpcg":
        gen = torch.Generator().manual_seed(seed)
        mt = torch.from_numpy(m)
        start = torch.randn(n, r + 1, generator=gen, dtype=torch.float64)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        top, vectors = torch.lobpcg(mt.to(device), X=start.to(device), largest=True,
                                    tol=1e-9, niter=500)
        top, vectors = top.cpu().numpy(), vectors.cpu().numpy()
    else:
        raise ValueError(f"Unknown solver '{solver}'; use one of {', '.join(SOLVERS)}.")
    order = np.argsort(-top)  # largest of M first = smallest of L first
    values = 1.0 - top[order]
    vectors = vectors[:, order]
    return values[1:], vectors[:, 1:]


def unit_rows(features: torch.Tensor) -> np.ndarray:
    """Patch features ``[n, D]`` as float64 rows of unit length (numpy), as
    :func:`augmented_affinity` normalises them."""
    feats = features.double()
    return (feats / feats.norm(dim=1, keepdim=True).clamp_min(1e-12)).cpu().numpy()


def anchor_gram(anchor: torch.Tensor) -> np.ndarray:
    """The anchor's block of the cosine Gram matrix, ``[n_a, n_a]`` (before the clamp): the
    same for every field clustered with this anchor, so NSC computes it once per channel."""
    x = unit_rows(anchor)
    return x @ x.T


def normalized_adjacency(anchor: torch.Tensor, field: torch.Tensor,
                         gram: np.ndarray | None = None) -> np.ndarray:
    """M = D^-1/2 A D^-1/2 of the augmented affinity of patch features ``[n_a, D]`` and
    ``[n_s, D]`` (float64, ``[n, n]``, n = n_a + n_s): the matrix of
    ``_normalized_adjacency(augmented_affinity(anchor, field))`` to rounding, built in one
    buffer, every step in place. The Gram matrix comes from numpy's ``x @ x.T`` (a BLAS
    ``syrk``: half the products of a general ``gemm``), or, given the anchor's block
    (:func:`anchor_gram`), from that block, one ``gemm`` for the anchor-field block and one
    ``syrk`` for the field's (bit for bit the same matrix, measured)."""
    if gram is None:
        x = unit_rows(torch.cat([anchor, field]))
        m = x @ x.T
    else:
        xa, xf = unit_rows(anchor), unit_rows(field)
        h = len(xa)
        m = np.empty((h + len(xf),) * 2)
        m[:h, :h] = gram
        np.matmul(xa, xf.T, out=m[:h, h:])
        m[h:, :h] = m[:h, h:].T
        np.matmul(xf, xf.T, out=m[h:, h:])
    np.maximum(m, 0.0, out=m)
    inv_sqrt = 1.0 / np.sqrt(np.maximum(m.sum(axis=1), 1e-12))
    mt = torch.from_numpy(m)  # torch's in-place broadcasts: 1.6x faster than numpy's here
    scale = torch.from_numpy(inv_sqrt)
    mt.mul_(scale[:, None]).mul_(scale[None, :])
    return m


def top_eigenvectors(m: np.ndarray, r: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`spectral_embedding` with ``eigsh`` for a normalised adjacency M (from
    :func:`normalized_adjacency`; symmetric, C-ordered): the same ARPACK call (start vector,
    tolerance), its products with M made by BLAS ``symv`` on one triangle."""
    from scipy.linalg.blas import get_blas_funcs
    from scipy.sparse.linalg import LinearOperator, eigsh

    n = len(m)
    if not 1 <= r <= n - 2:
        raise ValueError(f"r={r}: need 1 <= r <= n - 2 for a graph of {n} nodes.")
    symv = get_blas_funcs("symv", (m,))
    m_f = m.T  # M is symmetric: its transpose is M in Fortran order, as BLAS takes it (no copy)

    def matvec(v: np.ndarray) -> np.ndarray:
        return symv(1.0, m_f, v.ravel())

    operator = LinearOperator((n, n), matvec=matvec, dtype=m.dtype)
    v0 = np.random.default_rng(seed).standard_normal(n)
    top, vectors = eigsh(operator, k=r + 1, which="LA", v0=v0, tol=1e-10, maxiter=20 * n)
    order = np.argsort(-top)
    return 1.0 - top[order][1:], vectors[:, order][:, 1:]


def kmeans_labels(embedding: np.ndarray, k: int, seed: int = 0, n_init: int = 10) -> np.ndarray:
    """k-means (scikit-learn, k-means++ initialisation, ``n_init`` seeded restarts) on the rows
    of ``embedding``; int labels in 0 .. k-1."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    return km.fit_predict(np.ascontiguousarray(embedding, dtype=np.float64)).astype(np.int64)
