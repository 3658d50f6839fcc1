"""How fast a run reads JUMP samples: from the preprocessed cache versus decoding the TIFFs.

Writes a miniature JUMP plate at the pilot's field size (1080 x 1080, 16-bit, 8 TIFFs per site,
illumination functions; the exact Cell Painting Gallery layout of ``tests/data_fixtures.py``),
then times, in samples per second (one process, the machine's threads):

- ``tiff decode``: reading the 8 TIFFs of a site, nothing else;
- ``decode + preprocess``: what a run does without a cache (``PairedImageDataset`` over the
  source: decode, illumination correction, percentile clip, resampling to the run's size);
- ``cache``: ``PairedImageDataset`` over the memory-mapped cache at the same size.

Each is measured on a fresh dataset object, so no in-memory copy helps (the OS page cache is
warm for all three, as it is after the first epoch of a run). Prints a table and writes JSON:

    python benchmarks/data_cache_speed.py [--sites 16] [--field-size 1080] \\
        [--image-size 64 --image-size 512] [--repeats 3] [--output benchmarks/results/...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.data_fixtures (the plate writer)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=16, help="sites to write (4 per well)")
    parser.add_argument("--field-size", type=int, default=1080, help="field size in pixels")
    parser.add_argument("--image-size", type=int, action="append",
                        help="run image size(s) to prepare and read (default: 64 and 512)")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the data per timing")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to write the plate (default: a temporary folder)")
    parser.add_argument("--output", type=Path,
                        default=REPO / "benchmarks" / "results" / "data_cache_speed.json",
                        help="JSON file for the results")
    return parser.parse_args(argv)


def rate(fn, n_samples: int, repeats: int) -> float:
    """Samples per second of ``fn()`` (which reads ``n_samples``), best of ``repeats``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_samples / best


def run(args: argparse.Namespace, workdir: Path) -> dict:
    from tests.data_fixtures import make_jump_plate
    from vsbench.data.cache import build
    from vsbench.data.images import read_plane
    from vsbench.data.sources.jump.source import JumpSettings, JumpSource
    from vsbench.data.torch_dataset import PairedImageDataset

    wells = tuple(f"A{i:02d}" for i in range(1, max(1, args.sites // 4) + 1))
    start = time.perf_counter()
    make_jump_plate(workdir / "source_4", wells=wells, sites=4, size=args.field_size,
                    random_pixels=True)
    write_seconds = time.perf_counter() - start
    source = JumpSource(JumpSettings(root=str(workdir / "source_4")), workdir / "data")
    records = source.records()
    ids = [r.sample_id for r in records]
    files = [path for r in records for path in source._files[r.sample_id].values()]
    raw_bytes = sum(p.stat().st_size for p in files)

    def decode_only() -> None:
        for path in files:
            read_plane(path)

    def read_all(dataset) -> None:
        for i in range(len(dataset)):
            dataset[i]

    out = {"samples": len(ids), "field_size": args.field_size, "files": len(files),
           "raw_bytes": raw_bytes, "write_seconds": round(write_seconds, 2),
           "tiff_decode_samples_per_s": rate(decode_only, len(ids), args.repeats), "sizes": []}
    for size in args.image_size or [64, 512]:
        start = time.perf_counter()
        cached = build(source, size, workdir / "data" / "cache")
        build_seconds = time.perf_counter() - start
        cache_bytes = sum(p.stat().st_size for p in cached.folder.rglob("*") if p.is_file())
        decode = rate(lambda: read_all(PairedImageDataset(source, ids, size)), len(ids),
                      args.repeats)
        from_cache = rate(lambda: read_all(PairedImageDataset(cached, ids, size)), len(ids),
                          args.repeats)
        out["sizes"].append({"image_size": size, "build_seconds": round(build_seconds, 2),
                             "cache_bytes": cache_bytes,
                             "decode_preprocess_samples_per_s": decode,
                             "cache_samples_per_s": from_cache, "speedup": from_cache / decode})
    return out


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    import numpy
    import torch
    from rich.console import Console
    from rich.table import Table

    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(args, Path(tmp))
    result["machine"] = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                         "python": platform.python_version(), "numpy": numpy.__version__,
                         "torch": torch.__version__, "platform": platform.platform()}
    result["date"] = time.strftime("%Y-%m-%d")

    table = Table(title=f"JUMP read speed: {result['samples']} sites of 8 x "
                        f"{result['field_size']}^2 16-bit TIFFs ({result['raw_bytes'] / 1e6:.0f}"
                        " MB), samples/s")
    for column in ("run size", "tiff decode", "decode + preprocess", "cache", "speed-up",
                   "cache build", "cache size"):
        table.add_column(column, justify="right")
    for row in result["sizes"]:
        table.add_row(f"{row['image_size']} px", f"{result['tiff_decode_samples_per_s']:.1f}",
                      f"{row['decode_preprocess_samples_per_s']:.1f}",
                      f"{row['cache_samples_per_s']:.0f}", f"{row['speedup']:.0f}x",
                      f"{row['build_seconds']:.1f} s", f"{row['cache_bytes'] / 1e6:.1f} MB")
    Console().print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
