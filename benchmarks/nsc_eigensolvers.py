"""Time NSC's eigensolvers on real augmented affinities (not a test).

The affinity of an anchor field and a field of a synthetic image, from the backbone NSC uses
here, at the paper's field of 224 px (28 x 28 patches: 2 n_p = 1568 nodes) and at the paper's
n_p = 4096 (a 512 px input: 2 n_p = 8192 nodes). Prints seconds per solve for dense ``eigh``,
``eigsh`` and ``lobpcg`` (one BLAS thread each unless ``--threads``), and the largest
difference of their eigenvalues from the dense ones.

    python benchmarks/nsc_eigensolvers.py [--sizes 224,512] [--repeat 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from vsbench.data.synthetic import SyntheticSource
from vsbench.nsc.config import NSCConfig
from vsbench.nsc.masks import NSC
from vsbench.nsc.spectral import augmented_affinity, spectral_embedding


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="224,512")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--solvers", default="dense,eigsh,lobpcg")
    args = ap.parse_args()
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
        reference = None
        with threadpool_limits(limits=args.threads):
            for solver in args.solvers.split(","):
                times = []
                for _ in range(args.repeat if solver != "dense" or size < 400 else 1):
                    start = time.perf_counter()
                    values, _ = spectral_embedding(affinity, 5, solver)
                    times.append(time.perf_counter() - start)
                if solver == "dense":
                    reference = values
                diff = "" if reference is None else \
                    f", max |lambda - dense| {np.abs(values - reference).max():.1e}"
                print(f"  {solver:7s} {min(times):8.3f} s (best of {len(times)}){diff}; "
                      f"eigenvalues {np.round(values, 4).tolist()}", flush=True)


if __name__ == "__main__":
    main()
