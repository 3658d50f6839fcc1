"""Time NSC's eigensolvers on real augmented affinities (not a test).

The affinity of an anchor field and a field of a synthetic image, from the backbone NSC uses
here, at the paper's field of 224 px (28 x 28 patches: 2 n_p = 1568 nodes) and at the paper's
n_p = 4096 (a 512 px input: 2 n_p = 8192 nodes). Prints seconds per solve for dense ``eigh``,
``eigsh`` and ``lobpcg`` (one BLAS thread each unless ``--threads``), the largest difference of
their eigenvalues from the dense ones, and the agreement of the clusters k-means makes of each
embedding with the dense one's (mean IoU of the k cluster masks after matching the labels);
writes JSON to ``benchmarks/results/nsc_eigensolvers.json``.

    python benchmarks/nsc_eigensolvers.py [--sizes 224,512] [--repeat 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.nsc.config import NSCConfig
from vsbench.nsc.masks import NSC
from vsbench.nsc.spectral import augmented_affinity, kmeans_labels, spectral_embedding

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine, write_json  # noqa: E402


def cluster_iou(labels: np.ndarray, reference: np.ndarray, k: int) -> float:
    """Mean IoU of the k cluster masks of ``labels`` against ``reference``'s, each cluster
    matched to its best partner (Hungarian), so that label permutations do not count."""
    from scipy.optimize import linear_sum_assignment

    iou = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            inter = np.sum((labels == a) & (reference == b))
            union = np.sum((labels == a) | (reference == b))
            iou[a, b] = inter / union if union else 1.0
    rows, cols = linear_sum_assignment(-iou)
    return float(iou[rows, cols].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="224,512")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--solvers", default="dense,eigsh,lobpcg")
    ap.add_argument("--output", type=Path, default=RESULTS / "nsc_eigensolvers.json")
    args = ap.parse_args()
    rows = []
    config = NSCConfig()
    source = SyntheticSource()
    records = source.records()[:2]
    images = torch.stack([torch.from_numpy(source.load(r).fluorescence[:1]) for r in records])
    for size in map(int, args.sizes.split(",")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nsc = NSC(NSCConfig(input_size=size))
            feats = nsc.features(F.interpolate(images, size=128, mode="area"))
        anchor, field = (f.reshape(-1, f.shape[-1]) for f in feats)
        affinity = augmented_affinity(anchor, field)
        print(f"backbone {nsc.record()['backbone']}, input {size} px: {len(affinity)} nodes",
              flush=True)
        reference = reference_labels = None
        with threadpool_limits(limits=args.threads):
            for solver in args.solvers.split(","):
                times = []
                for _ in range(args.repeat if solver != "dense" or size < 400 else 1):
                    start = time.perf_counter()
                    values, vectors = spectral_embedding(affinity, config.r, solver)
                    times.append(time.perf_counter() - start)
                labels = kmeans_labels(vectors, config.k, seed=config.seed, n_init=config.n_init)
                if solver == "dense":
                    reference, reference_labels = values, labels
                row = {"input_px": size, "nodes": len(affinity), "solver": solver,
                       "seconds": min(times), "solves": len(times),
                       "eigenvalues": values.tolist()}
                diff = ""
                if reference is not None:
                    row["max_eigenvalue_diff_vs_dense"] = float(np.abs(values - reference).max())
                    row["cluster_iou_vs_dense"] = cluster_iou(labels, reference_labels, config.k)
                    diff = (f", max |lambda - dense| {row['max_eigenvalue_diff_vs_dense']:.1e}, "
                            f"cluster IoU vs dense {row['cluster_iou_vs_dense']:.3f}")
                rows.append(row)
                print(f"  {solver:7s} {min(times):8.3f} s (best of {len(times)}){diff}; "
                      f"eigenvalues {np.round(values, 4).tolist()}", flush=True)
    write_json(args.output, {"benchmark": "nsc_eigensolvers", "threads": args.threads,
                             "backbone": nsc.record()["backbone"], "machine": machine(),
                             "rows": rows})


if __name__ == "__main__":
    main()
