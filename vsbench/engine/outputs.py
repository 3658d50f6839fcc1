"""Where ``vsbench predict`` writes: one OME-TIFF per field, or one OME-Zarr HCS plate, and a
manifest (``manifest.csv`` and ``manifest.json``) naming every input and output.

OME-TIFFs (tifffile) hold ``[C, Y, X]`` float32 on [0, 1] with the run's channel names and,
where the input's pixel size is known, the physical pixel size of the output (the input's,
scaled by the resize to the run's evaluation size). The OME-Zarr plate (iohub) keeps an input
plate's rows, columns and fields; fields from files go to row ``A``, column ``1``, one field
each, in the manifest's order.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vsbench import atomic
from vsbench.errors import ConfigError

FORMATS = ("ome-tiff", "ome-zarr")
MANIFEST_CSV, MANIFEST_JSON = "manifest.csv", "manifest.json"
ZARR_NAME = "predictions.zarr"
MANIFEST_COLUMNS = ("sample_id", "input", "output", "input_shape", "shape", "pixel_size_um",
                    "run_id", "config_hash")


def check_format(name: str) -> str:
    """``name`` if it is one of :data:`FORMATS`, else a :class:`ConfigError`."""
    if name not in FORMATS:
        raise ConfigError(f"--format {name}: use {' or '.join(FORMATS)}.")
    return name


class TiffWriter:
    """One ``<sample_id>.ome.tif`` per field, each written atomically."""

    def __init__(self, out: Path, channels: Sequence[str]) -> None:
        self.out, self.channels = Path(out), list(channels)

    def write(self, sample_id: str, image: np.ndarray, pixel_size: float | None,
              position: tuple[str, str, str] | None = None) -> str:
        """Write one field ``[C, H, W]``; return the output file's name."""
        import tifffile

        metadata: dict[str, Any] = {"axes": "CYX", "Channel": {"Name": self.channels}}
        if pixel_size is not None:
            metadata.update(PhysicalSizeX=pixel_size, PhysicalSizeY=pixel_size,
                            PhysicalSizeXUnit="µm", PhysicalSizeYUnit="µm")
        name = f"{sample_id}.ome.tif"
        with atomic.replacing(self.out / name) as tmp:
            tifffile.imwrite(tmp, np.ascontiguousarray(image, dtype=np.float32), ome=True,
                             metadata=metadata)
        return name

    def close(self) -> None:
        """Nothing to finish: every file is complete once written."""


class ZarrWriter:
    """An OME-Zarr HCS plate of ``[T=1, C, Z=1, Y, X]`` images, one position per field."""

    def __init__(self, out: Path, channels: Sequence[str]) -> None:
        from iohub.ngff import open_ome_zarr

        path = Path(out) / ZARR_NAME
        if path.exists():
            raise ConfigError(f"--out {out}: {ZARR_NAME} exists already; remove it or choose "
                              "another --out.")
        self.plate = open_ome_zarr(path, layout="hcs", mode="w-", channel_names=list(channels))
        self.count = 0
        self.used: set[tuple[str, str, str]] = set()

    def write(self, sample_id: str, image: np.ndarray, pixel_size: float | None,
              position: tuple[str, str, str] | None = None) -> str:
        """Write one field at its plate position (files: row A, column 1, the next field)."""
        from iohub.ngff.models import TransformationMeta

        if position is None or position in self.used:
            position = ("A", "1", str(self.count))
        self.used.add(position)
        self.count += 1
        transform = None
        if pixel_size is not None:
            transform = [TransformationMeta(type="scale",
                                            scale=[1.0, 1.0, 1.0, pixel_size, pixel_size])]
        node = self.plate.create_position(*position)
        node.create_image("0", np.asarray(image, dtype=np.float32)[None, :, None],
                          transform=transform)
        return f"{ZARR_NAME}/{'/'.join(position)}"

    def close(self) -> None:
        """Close the plate (its metadata is complete only then)."""
        self.plate.close()


def writer_for(fmt: str, out: Path, channels: Sequence[str]) -> TiffWriter | ZarrWriter:
    """The writer of ``--format fmt`` into ``out`` (created)."""
    check_format(fmt)
    Path(out).mkdir(parents=True, exist_ok=True)
    return TiffWriter(out, channels) if fmt == "ome-tiff" else ZarrWriter(out, channels)


def write_manifest(out: Path, rows: list[dict[str, Any]], about: dict[str, Any]) -> Path:
    """``manifest.csv`` (one row per field) and ``manifest.json`` (``about`` and the rows)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("x".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
                         for k, v in row.items()})
    atomic.write_text(Path(out) / MANIFEST_CSV, buffer.getvalue())
    atomic.write_text(Path(out) / MANIFEST_JSON,
                      json.dumps({**about, "fields": rows}, indent=2, default=str))
    return Path(out) / MANIFEST_CSV
