"""Content digests of data files, remembered between runs.

A folder dataset's fingerprint must change when a file's pixels change and must be the same on
every machine holding the same files, so it hashes file contents. The digests are kept in a small
JSON file keyed by path, size and modification time, so only new or changed files are read again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

from vsbench import atomic

CHUNK = 1 << 20


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes with ``hashlib`` algorithm ``algorithm`` (read in 1 MiB
    chunks): SHA-256 for fingerprints, MD5 to check downloads against S3 ETags."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_digests(paths: Iterable[Path], memo_file: Path | None = None) -> dict[str, str]:
    """SHA-256 of each existing file in ``paths`` (missing files are left out).

    ``memo_file`` remembers ``size`` and ``mtime_ns`` with each digest; a file whose stat is
    unchanged is not read again.
    """
    memo: dict[str, list] = {}
    if memo_file is not None and memo_file.is_file():
        try:
            memo = json.loads(memo_file.read_text())
        except ValueError:
            memo = {}
    out, changed = {}, False
    for path in paths:
        key = str(path)
        try:
            stat = os.stat(path)
        except OSError:
            continue
        known = memo.get(key)
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            out[key] = known[2]
            continue
        out[key] = file_digest(Path(path))
        memo[key] = [stat.st_size, stat.st_mtime_ns, out[key]]
        changed = True
    if changed and memo_file is not None:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(memo_file, json.dumps(memo))
    return out
