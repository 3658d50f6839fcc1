"""The checks every command runs on its options before any work starts (torch-free at import).

One helper per kind of check, each raising :class:`vsbench.errors.ConfigError` (exit 2) with
one line that names the option, the path or device and the fix:

- :func:`input_folder`, :func:`input_file`, :func:`input_path`: something the command reads
  must exist and be of the right kind (file or folder);
- :func:`output_folder`, :func:`output_file`: something the command writes must be of the right
  kind, and its folder (or the nearest folder above it that exists) must accept a new file. The
  check creates and removes one empty temporary file there, because permission bits say nothing
  for root or for read-only and virtual filesystems such as ``/proc``;
- :func:`empty_output_folder`: an output folder that must not already hold files, unless the
  user said ``--overwrite``;
- :func:`device`: a requested device must exist on this machine (``cuda``, ``cuda:N``).

Checked up front, a bad option costs nothing: no run folder is made, no file is half-written and
no finished result is touched.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Iterable

from vsbench.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")


def input_folder(path: Path, option: str, what: str = "folder") -> Path:
    """``path`` as given, if it is an existing folder; else a one-line error."""
    path = Path(path)
    if path.is_dir():
        return path
    if path.exists():
        raise ConfigError(f"{option} {path} is a file, not a {what}; pass the {what}.")
    raise ConfigError(f"{option} {path}: no such {what}; check the path.")


def input_file(path: Path, option: str, what: str = "file") -> Path:
    """``path`` as given, if it is an existing regular file; else a one-line error."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder, not a {what}; pass the {what}.")
    raise ConfigError(f"{option} {path}: no such {what}; check the path.")


def input_path(path: Path, option: str) -> Path:
    """``path`` as given, if it exists (a file or a folder); else a one-line error."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{option} {path}: no such file or folder; check the path.")
    return path


def optional_input_folder(path: Path | None, option: str) -> Path | None:
    """A folder the command reads if it is there (a missing one means "nothing yet"): an
    error only when ``path`` exists and is not a folder."""
    if path is not None and Path(path).exists() and not Path(path).is_dir():
        raise ConfigError(f"{option} {path} is a file, not a folder; pass a "
                          "folder.")
    return path


def _existing_ancestor(path: Path, option: str) -> Path:
    """The nearest folder at or above ``path`` that exists (a file on the way is an error)."""
    current = Path(os.path.abspath(path))
    for candidate in (current, *current.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise ConfigError(f"{option} {path}: {candidate} is a file, so "
                                  "no folder can be made there; choose another path.")
            return candidate
    return Path(current.anchor)


def _probe_writable(folder: Path, option: str, path: Path) -> None:
    """Create and remove an empty temporary file in ``folder``: the only test of writability
    that holds for root, read-only mounts and virtual filesystems."""
    try:
        handle, name = tempfile.mkstemp(prefix=".vsbench-write-check.", dir=folder)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno in (errno.ENOENT, errno.EROFS, errno.EACCES, errno.EPERM):
            reason = {errno.ENOENT: "files cannot be created there",
                      errno.EROFS: "read-only file system",
                      errno.EACCES: "permission denied",
                      errno.EPERM: "not permitted"}[exc.errno]
        raise ConfigError(f"{option} {path}: cannot write in {folder} ({reason}); "
                          "choose a writable location.") from None
    os.close(handle)
    os.unlink(name)


def output_folder(path: Path, option: str) -> Path:
    """``path`` as given, if it is a folder that exists or can be made and accepts files."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path} is a file, not a folder; pass a folder "
                          "(it is created if missing).")
    _probe_writable(_existing_ancestor(path, option), option, path)
    return path


def output_file(path: Path, option: str) -> Path:
    """``path`` as given, if it names a file (not a folder) whose folder accepts files."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name inside it.")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{option} {path} is not a regular file; give a file name.")
    _probe_writable(_existing_ancestor(path.parent, option), option, path)
    return path


def empty_output_folder(path: Path, option: str, overwrite: bool,
                        ignore: Iterable[str] = ()) -> Path:
    """:func:`output_folder`, which must also hold no files (other than ``ignore``) unless
    ``overwrite``: writing into a folder of earlier output would mix two sets of files."""
    output_folder(path, option)
    if overwrite or not path.is_dir():
        return path
    skip = set(ignore)
    held = sorted(p.name for p in path.iterdir() if p.name not in skip)
    if held:
        shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise ConfigError(f"{option} {path} already holds {len(held)} file(s) "
                          f"({shown}); choose an empty or new folder, or pass --overwrite to "
                          "replace its contents.")
    return path


def device(name: str, option: str = "--device", allowed: Iterable[str] = DEVICE_CHOICES) -> str:
    """``name`` if it is a device this machine has (``auto`` always is); else a one-line
    error saying what there is."""
    allowed = tuple(allowed)
    if name in ("auto", "cpu") and name in allowed:
        return name
    index = None
    if name == "cuda" or name.startswith("cuda:"):
        if "cuda" not in allowed and "cuda:N" not in allowed:
            raise ConfigError(f"{option} {name}: use {' or '.join(allowed)}.")
        if name.startswith("cuda:"):
            if "cuda:N" not in allowed:
                raise ConfigError(f"{option} {name}: use {' or '.join(allowed)}.")
            text = name.split(":", 1)[1]
            if not text.isdigit():
                raise ConfigError(f"{option} {name}: the GPU index must be a number, e.g. "
                                  "cuda:0.")
            index = int(text)
    else:
        raise ConfigError(f"{option} {name}: unknown device; use {' or '.join(allowed)}.")
    import torch  # only for a CUDA request: the torch-free commands never get here

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise ConfigError(f"{option} {name}: this machine has no CUDA GPU (torch sees none); "
                          "use --device cpu" + (" or auto." if "auto" in allowed else "."))
    if index is not None and index >= count:
        raise ConfigError(f"{option} {name}: this machine has {count} CUDA GPU(s), "
                          f"cuda:0 to cuda:{count - 1}; choose one of them.")
    return name
