"""Time :func:`vsbench.data.sources.synthetic.render.render_field` per field size (one CPU core).

Run with ``OMP_NUM_THREADS=1 python benchmarks/synthetic_render_speed.py [sizes...]``.
"""

from __future__ import annotations

import argparse
import time

from vsbench.data.sources.synthetic.render import PERTURBATIONS, render_field


def time_size(size: int, n: int) -> float:
    """Mean wall time in ms of one field, cycling through the perturbations."""
    render_field(0, size, PERTURBATIONS[0])  # warm-up (imports, caches)
    t0 = time.perf_counter()
    for seed in range(n):
        render_field(seed, size, PERTURBATIONS[seed % len(PERTURBATIONS)])
    return (time.perf_counter() - t0) / n * 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[64, 128, 256],
                        help="field sizes in pixels (default: 64 128 256)")
    for size in parser.parse_args(argv).sizes:
        n = max(3, int(30 * (128 / size) ** 2))
        print(f"size {size:4d}: {time_size(size, n):7.1f} ms/field  ({n} fields)")


if __name__ == "__main__":
    main()
