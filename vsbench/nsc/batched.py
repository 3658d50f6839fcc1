"""NSC's spectral step for many graphs at once, as torch tensors on the features' device.

:mod:`vsbench.nsc.spectral` solves one augmented graph (anchor + field) at a time with numpy and
ARPACK. A batch of B images with C channels and t fields per image is B C t graphs of the same
size n = 2 n_p (1568 nodes at the default 28 x 28 patch grid), so here they are stacked:

- :func:`batched_adjacency`: M = D^-1/2 A D^-1/2 of the augmented affinities
  A = max(cos(F_i, F_j), 0) of ``[G, n_a, D]`` anchors and ``[G, n_s, D]`` fields, ``[G, n, n]``
  float64 (the same matrix :func:`vsbench.nsc.spectral.augmented_affinity` builds, node order
  anchor first);
- :func:`top_eigenpairs`: the ``k`` largest eigenpairs of every M, by batched dense
  ``torch.linalg.eigh`` for graphs of at most :data:`DENSE_MAX_NODES` nodes (O(n^3), fast only
  when small) and above that by a restarted block Krylov method with Rayleigh-Ritz (a block of
  ``2 k`` vectors, :data:`KRYLOV_STEPS` products with M per restart, full reorthogonalisation).
  Products of all graphs with a block of vectors are one batched matrix product (BLAS-3 on the
  CPU, one kernel on a GPU), where ARPACK makes one matrix-vector product per iteration and
  graph. Residuals ||M v - lambda v|| below :data:`TOLERANCE` count as converged; a graph that
  does not converge is handed to ARPACK (``eigsh``), so the result never depends on a solver
  giving up. The benchmark ``benchmarks/nsc_batched.py`` measures both against ARPACK and the
  cluster IoU of the resulting k-means labels.

k-means stays scikit-learn's on the CPU (``kmeans_labels``): on graphs this size its k-means++
with three restarts takes a few milliseconds, and the labels must be those of the CPU path.
"""

from __future__ import annotations

import numpy as np
import torch

# Graphs up to this many nodes are solved by dense eigh (measured in benchmarks/nsc_batched.py:
# at 128 nodes dense eigh beats Krylov, at 1568 it is more than 10x slower).
DENSE_MAX_NODES = 256
KRYLOV_STEPS = 6
TOLERANCE = 1e-9
MAX_RESTARTS = 40
# Graphs solved together at most (memory: each is n x n float64, 19.7 MB at n = 1568).
MAX_GRAPH_BYTES = 256 * 2**20


def batched_adjacency(anchors: torch.Tensor, fields: torch.Tensor) -> torch.Tensor:
    """Normalised adjacencies ``[G, n, n]`` (float64) of ``G`` augmented graphs from anchor
    features ``[G, n_a, D]`` and field features ``[G, n_s, D]``."""
    feats = torch.cat([anchors, fields], dim=1).double()
    feats = feats / feats.norm(dim=2, keepdim=True).clamp_min(1e-12)
    affinity = torch.bmm(feats, feats.mT).clamp_min_(0.0)
    inv_sqrt = affinity.sum(dim=2).clamp_min(1e-12).rsqrt()
    return affinity.mul_(inv_sqrt[:, :, None]).mul_(inv_sqrt[:, None, :])


def _krylov(m: torch.Tensor, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor,
                                                           torch.Tensor]:
    """Restarted block Krylov on ``[G, n, n]``: the k largest eigenpairs (descending) and, per
    graph, whether it converged."""
    g, n, _ = m.shape
    p = min(2 * k, n)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p, generator=gen, dtype=m.dtype).to(m.device).expand(g, n, p)
    for _ in range(MAX_RESTARTS):
        blocks, products = [torch.linalg.qr(x)[0]], []
        for step in range(KRYLOV_STEPS):
            y = torch.bmm(m, blocks[-1])
            products.append(y)
            if step == KRYLOV_STEPS - 1 or p * (step + 2) > n:
                break
            basis = torch.cat(blocks, dim=2)
            for _ in range(2):  # twice: classical Gram-Schmidt loses orthogonality once
                y = y - torch.bmm(basis, torch.bmm(basis.mT, y))
            blocks.append(torch.linalg.qr(y)[0])
        basis, mbasis = torch.cat(blocks, dim=2), torch.cat(products, dim=2)
        small = torch.bmm(basis.mT, mbasis)
        values, vectors = torch.linalg.eigh((small + small.mT) / 2)
        values, vectors = values.flip(-1)[:, :p], vectors.flip(-1)[:, :, :p]
        x = torch.bmm(basis, vectors)
        residual = torch.bmm(mbasis, vectors[:, :, :k]) - x[:, :, :k] * values[:, None, :k]
        converged = residual.norm(dim=1).amax(dim=1) <= TOLERANCE
        if bool(converged.all()):
            break
    return values[:, :k], x[:, :, :k], converged


def top_eigenpairs(m: torch.Tensor, k: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor,
                                                                    str]:
    """The ``k`` largest eigenvalues ``[G, k]`` (descending) and eigenvectors ``[G, n, k]`` of
    symmetric ``[G, n, n]`` matrices, and which solver ran (``dense``, ``krylov``, or
    ``krylov+eigsh`` when some graph fell back to ARPACK)."""
    n = m.shape[-1]
    if n <= DENSE_MAX_NODES:
        values, vectors = torch.linalg.eigh(m)
        return values.flip(-1)[:, :k], vectors.flip(-1)[:, :, :k], "dense"
    values, vectors, converged = _krylov(m, k, seed)
    if bool(converged.all()):
        return values, vectors, "krylov"
    from scipy.sparse.linalg import eigsh

    values, vectors = values.clone(), vectors.clone()
    for i in torch.nonzero(~converged).flatten().tolist():
        v0 = np.random.default_rng(seed).standard_normal(n)
        top, vec = eigsh(m[i].cpu().numpy(), k=k, which="LA", v0=v0, tol=1e-10,
                         maxiter=20 * n)
        order = np.argsort(-top)
        values[i] = torch.from_numpy(top[order]).to(values)
        vectors[i] = torch.from_numpy(vec[:, order]).to(vectors)
    return values, vectors, "krylov+eigsh"


def graph_chunk(n: int) -> int:
    """How many graphs of ``n`` nodes are solved together (:data:`MAX_GRAPH_BYTES`)."""
    return max(1, MAX_GRAPH_BYTES // (8 * n * n))


def spectral_embeddings(anchors: torch.Tensor, fields: torch.Tensor, r: int, seed: int = 0
                        ) -> tuple[np.ndarray, np.ndarray, set[str]]:
    """The spectral embedding of every augmented graph: eigenvalues of the normalised
    Laplacian ``[G, r]`` (ascending, the trivial one dropped) and eigenvectors ``[G, n, r]``
    (numpy float64, on the CPU for k-means), and the solvers used; as
    :func:`vsbench.nsc.spectral.spectral_embedding` with ``eigsh`` for each graph alone."""
    n = anchors.shape[1] + fields.shape[1]
    if not 1 <= r <= n - 2:
        raise ValueError(f"r={r}: need 1 <= r <= n - 2 for a graph of {n} nodes.")
    values, vectors, used = [], [], set()
    step = graph_chunk(n)
    for start in range(0, len(fields), step):
        m = batched_adjacency(anchors[start:start + step], fields[start:start + step])
        top, vec, solver = top_eigenpairs(m, r + 1, seed)
        used.add(solver)
        values.append((1.0 - top[:, 1:]).cpu())
        vectors.append(vec[:, :, 1:].cpu())
        del m
    return torch.cat(values).numpy(), torch.cat(vectors).numpy(), used
