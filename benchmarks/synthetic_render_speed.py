"""Time :func:`vsbench.data.synthetic_render.render_field` per field size (one CPU core).

Run with ``OMP_NUM_THREADS=1 python benchmarks/synthetic_render_speed.py [sizes...]``.
"""

from __future__ import annotations

import sys
import time

from vsbench.data.synthetic_render import PERTURBATIONS, render_field


def time_size(size: int, n: int) -> float:
    """Mean wall time in ms of one field, cycling through the perturbations."""
    render_field(0, size, PERTURBATIONS[0])  # warm-up (imports, caches)
    t0 = time.perf_counter()
    for seed in range(n):
        render_field(seed, size, PERTURBATIONS[seed % len(PERTURBATIONS)])
    return (time.perf_counter() - t0) / n * 1e3


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [64, 128, 256]
    for size in sizes:
        n = max(3, int(30 * (128 / size) ** 2))
        print(f"size {size:4d}: {time_size(size, n):7.1f} ms/field  ({n} fields)")


if __name__ == "__main__":
    main(sys.argv[1:])
