"""Atomic file writes (torch-free): a reader never sees half a file, a crash leaves the old one.

Every file vsbench writes that another process may read (run records, checkpoints, split
manifests, settings, caches' metadata, figures) goes through here: the bytes are written to a
temporary file beside the target, flushed to disk and renamed over it. Temporary names start
with a dot and end in ``.tmp`` (:func:`is_temporary`), so a file left by a killed writer is
recognisable and :func:`remove_stale_temporaries` can clear it.
"""

from __future__ import annotations

import io
import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

TMP_SUFFIX = ".tmp"


def temporary_path(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (unique per process and call)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def is_temporary(path: Path) -> bool:
    """True for a name :func:`temporary_path` makes."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


@contextmanager
def replacing(path: Path, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to (by any library: matplotlib,
    torch.save, ...); on success it is flushed and renamed over ``path``, on failure removed."""
    tmp = temporary_path(path)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(path: Path, data: bytes, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (``fsync``: also force it to disk first)."""
    with replacing(path, fsync) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str, fsync: bool = True) -> None:
    """Text version of :func:`write_bytes` (UTF-8)."""
    write_bytes(path, text.encode(), fsync)


def write_json(path: Path, obj: Any, fsync: bool = True) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    write_text(path, json.dumps(obj, indent=2) + "\n", fsync)


def write_npz(path: Path, fsync: bool = True, **arrays: Any) -> None:
    """Write numpy arrays as a compressed ``.npz``, atomically."""
    import numpy as np

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes(path, buffer.getvalue(), fsync)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files a killed writer left directly in ``folder``; return them."""
    removed = []
    if not Path(folder).is_dir():
        return removed
    for path in Path(folder).iterdir():
        if path.is_file() and is_temporary(path):
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                continue
    return removed
