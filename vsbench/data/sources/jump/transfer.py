"""One file from a remote store to a local path, resumable and verified, for ``vsbench data
fetch`` (:mod:`.fetch`): the filesystem opened (any fsspec URL; ``s3://`` read anonymously),
the server probed first, a download written to ``<name>.part``, continued from the bytes
already there and checked against the server's size and, for a single-part upload, its MD5
(the S3 ETag)."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vsbench.data.digests import file_digest
from vsbench.data.source import DataError
from vsbench.data.sources.jump.settings import NAME

CHUNK = 4 << 20
NOT_RETRYABLE = (FileNotFoundError, PermissionError, IsADirectoryError)
CONNECT_TIMEOUT = 10  # seconds per connection attempt (botocore's default is 60)
PROBE_ATTEMPTS = 2  # tries to reach the server before a fetch starts, 1 s apart


def network_errors() -> tuple[type[BaseException], ...]:
    """The exception types of a network that fails (not of a missing file): the built-in ones
    and those of botocore and aiohttp, which s3fs lets through and which are no OSError."""
    found: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        found += [BotoConnectionError, HTTPClientError]
    except ImportError:
        pass
    try:
        from aiohttp import ClientConnectionError

        found.append(ClientConnectionError)
    except ImportError:
        pass
    return tuple(found)


def retryable() -> tuple[type[BaseException], ...]:
    """Errors worth retrying: the network, not a missing file or a refused permission."""
    return network_errors() + (OSError,)


def unreachable(url: str, endpoint_url: str | None, exc: BaseException) -> DataError:
    """The one-line error for a server that cannot be reached, with the ways around it."""
    where = f"{url} at {endpoint_url}" if endpoint_url else url
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DataError(f"Cannot reach {where} ({type(exc).__name__}: {reason}); check the network, "
                     "or fetch from a reachable copy with --source URL (and --endpoint-url for "
                     "another S3 server), or copy the files yourself and run `vsbench data "
                     f"prepare --dataset {NAME} --set root=PATH`.")


def check_reachable(url: str, endpoint_url: str | None = None,
                    attempts: int = PROBE_ATTEMPTS, backoff: float = 1.0) -> None:
    """Raise :func:`unreachable`'s error unless the server answers a listing of ``url``
    within ``attempts`` short tries (a missing folder is an answer: the plates say the rest)."""
    fs, base = open_filesystem(url, endpoint_url, retries=1)
    for attempt in range(attempts):
        try:
            fs.ls(base, detail=False)
            return
        except NOT_RETRYABLE:
            return
        except network_errors() as exc:
            if attempt + 1 == attempts:
                raise unreachable(url, endpoint_url, exc) from None
            time.sleep(backoff)


def open_filesystem(url: str, endpoint_url: str | None = None, anonymous: bool = True,
                    retries: int = 10) -> tuple[Any, str]:
    """An fsspec file system for ``url`` and the path inside it.

    ``s3://`` URLs are read anonymously (the Cell Painting Gallery is public) with botocore's
    adaptive retries (``retries`` attempts, each connection given ``CONNECT_TIMEOUT``
    seconds); ``endpoint_url`` points at another S3-compatible server.
    """
    import fsspec

    options: dict[str, Any] = {}
    if url.startswith(("s3://", "s3a://")):
        try:
            import s3fs  # noqa: F401
        except ImportError:
            raise DataError(f"Reading {url} needs s3fs: pip install 'vsbench[s3]' (or "
                            "download the files yourself and use --set root=PATH).") from None
        options = {"anon": anonymous,
                   "config_kwargs": {"retries": {"max_attempts": retries, "mode": "adaptive"},
                                     "connect_timeout": CONNECT_TIMEOUT}}
        if endpoint_url:
            options["client_kwargs"] = {"endpoint_url": endpoint_url}
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except (ImportError, ValueError) as exc:
        raise DataError(f"Cannot open {url}: {exc}") from None
    return fs, path.rstrip("/")


@dataclass
class Transfer:
    """One file to fetch: where it is and where it goes (relative to the local root)."""

    remote: str
    relative: str


@dataclass
class FetchReport:
    """What a fetch did."""

    files: int = 0
    downloaded: int = 0
    skipped: int = 0
    bytes: int = 0
    plates: list[str] = field(default_factory=list)


def _count(report: FetchReport, transferred: int) -> None:
    report.files += 1
    report.bytes += transferred
    if transferred:
        report.downloaded += 1
    else:
        report.skipped += 1


def _md5_of_etag(info: dict) -> str | None:
    """The MD5 an S3 ETag stands for: a single-part upload's ETag is the object's MD5 (32 hex
    digits); a multipart upload's (``<md5 of the parts' md5s>-<parts>``) and any other is not,
    and gives None: such a file is verified by its size alone."""
    etag = str(info.get("ETag") or info.get("etag") or "").strip().strip('"').lower()
    return etag if re.fullmatch(r"[0-9a-f]{32}", etag) else None


def download(fs, remote: str, local: Path, retries: int = 3, chunk: int = CHUNK,
             backoff: float = 1.0) -> int:
    """Fetch ``remote`` to ``local`` unless it is already there; return the bytes transferred.

    Resumes from ``local.part``; retries network errors ``retries`` times (with backoff);
    checks the size, and the MD5 when the server gives one.
    """
    try:
        info = fs.info(remote)
    except FileNotFoundError:
        raise DataError(f"{remote} does not exist on the server; check the plate name and "
                        "--source.") from None
    size = info.get("size")
    if local.is_file() and (size is None or local.stat().st_size == size):
        return 0
    local.parent.mkdir(parents=True, exist_ok=True)
    part = local.with_name(local.name + ".part")
    transferred = 0
    for attempt in range(retries + 1):
        offset = part.stat().st_size if part.is_file() else 0
        if size is not None and offset > size:
            part.unlink()
            offset = 0
        try:
            with fs.open(remote, "rb") as source, open(part, "ab") as target:
                if offset:
                    source.seek(offset)
                while size is None or offset < size:
                    data = source.read(chunk)
                    if not data:
                        break
                    target.write(data)
                    offset += len(data)
                    transferred += len(data)
            break
        except NOT_RETRYABLE as exc:
            raise DataError(f"Cannot read {remote} ({type(exc).__name__}: {exc}).") from None
        except retryable() as exc:
            if attempt == retries:
                raise DataError(f"Download of {remote} failed after {retries + 1} attempt(s) "
                                f"({type(exc).__name__}: {exc}); run the same command again to "
                                f"resume ({offset} bytes are kept in {part}).") from None
            time.sleep(backoff * 2**attempt)
    got = part.stat().st_size
    if size is not None and got != size:
        raise DataError(f"Download of {remote} is {got} bytes, expected {size}; run the same "
                        "command again to resume.")
    expected_md5 = _md5_of_etag(info)
    if expected_md5 and file_digest(part, "md5") != expected_md5:
        part.unlink()
        raise DataError(f"Download of {remote} does not match its checksum (MD5 "
                        f"{expected_md5}); it was deleted, run the command again.")
    os.replace(part, local)
    return transferred
