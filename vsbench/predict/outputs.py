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
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

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


def _listed(out: Path) -> set[str] | None:
    """The top-level names an earlier ``vsbench predict`` wrote into ``out`` (its manifest's
    outputs and the manifest itself), or None when ``out`` has no readable manifest."""
    try:
        fields = json.loads((Path(out) / MANIFEST_JSON).read_text())["fields"]
        names = {str(row["output"]).split("/")[0] for row in fields}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return names | {MANIFEST_CSV, MANIFEST_JSON}


def check_out(out: Path, overwrite: bool) -> list[str]:
    """What ``--out`` may replace: [] for a new or empty folder; with ``overwrite``, the files
    of an earlier predict there. A :class:`ConfigError` for a folder holding predictions
    without ``overwrite``, or any file no vsbench manifest there lists (never deleted)."""
    out = Path(out)
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if not held:
        return []
    listed = _listed(out)
    foreign = [name for name in held if listed is None or name not in listed]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more"
                                          if len(foreign) > 3 else "")
        raise ConfigError(f"--out {out} holds {len(foreign)} file(s) that no vsbench predict "
                          f"manifest there lists ({shown}); choose an empty or new folder "
                          "(vsbench never deletes files it did not write).")
    if not overwrite:
        raise ConfigError(f"--out {out} already holds the predictions of an earlier `vsbench "
                          f"predict` ({len(held) - 2} field file(s) and {MANIFEST_CSV}); pass "
                          "--overwrite to replace them, or choose another --out.")
    return held


@contextmanager
def staged(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A new folder beside ``out`` to write the predictions into; on success the files an
    earlier predict left in ``out`` (``overwrite``) are removed and the new ones moved in, so
    the manifest lists every file of ``out``; on failure ``out`` is left as it was."""
    out = Path(out)
    replaced = check_out(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.predict-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    stage.mkdir()
    try:
        yield stage
        out.mkdir(exist_ok=True)
        for name in replaced:
            old = out / name
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        # the manifest last: until it moves in, a reader sees no half-listed folder
        for item in sorted(stage.iterdir(), key=lambda p: p.name in (MANIFEST_CSV,
                                                                     MANIFEST_JSON)):
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
