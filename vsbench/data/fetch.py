"""Selective, resumable, verified downloads of JUMP plates from the Cell Painting Gallery.

Only the files that a selection of plates, wells and sites needs are fetched: each plate's
``load_data`` CSVs first, then the images those rows name, the plate's illumination functions
and the batch's plate maps. Any fsspec URL works (``s3://`` needs the optional ``s3`` extra,
``pip install 'vsbench[s3]'``; the Gallery is public and read anonymously). A file is written
to ``<name>.part`` and renamed when complete; an interrupted download continues from the bytes
already there, and every download is checked against the server's size and, for a single-part
upload, its MD5 (the S3 ETag; a multipart upload's ETag is no MD5, so its size is what is
checked).
"""

from __future__ import annotations

import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from vsbench.data import jump
from vsbench.data import jump_load_data as load_data
from vsbench.data.digests import file_digest
from vsbench.progress import progress_bar
from vsbench.data.source import DataError

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
                     f"prepare --dataset {jump.NAME} --set root=PATH`.")


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


def _join(base: str, *parts: str) -> str:
    return str(PurePosixPath(base, *parts))


def batch_of(fs, base: str, plate: str, batch: str = "") -> str:
    """The batch whose ``load_data_csv`` holds ``plate``: ``batch`` if given (and it does),
    else the only one; a barcode that several batches hold needs ``batch``."""
    hits = fs.glob(_join(base, "workspace", "load_data_csv", "*", plate))
    batches = sorted(PurePosixPath(h).parent.name for h in hits)
    if not batches:
        raise DataError(f"Plate {plate} has no load_data_csv folder under {base}/workspace/"
                        "load_data_csv/<batch>/; check the plate barcode (e.g. BR00116991).")
    if batch:
        if batch not in batches:
            raise DataError(f"Plate {plate} is not in batch {batch} (it is in "
                            f"{', '.join(batches)}); change --batch.")
        return batch
    if len(batches) > 1:
        raise jump.ambiguous_plate(plate, batches)
    return batches[0]


def _plate_folder(fs, base: str, batch: str, plate: str) -> str | None:
    try:
        names = [PurePosixPath(p).name for p in fs.ls(_join(base, "images", batch, "images"),
                                                      detail=False)]
    except FileNotFoundError:
        return None
    matches = sorted(n for n in names if n == plate or n.startswith(plate + "__"))
    return matches[0] if matches else None


def plan_plate(fs, base: str, local_root: Path, plate: str, wells: tuple[str, ...],
               sites_per_well: int, channels: tuple[str, ...], fetch: Callable,
               batch: str = "") -> list[Transfer]:
    """The files one plate's selection needs; its CSVs and plate maps are fetched on the way
    (with ``fetch(transfer)``) because they say which images to get."""
    batch = batch_of(fs, base, plate, batch)
    csv_dir = _join(base, "workspace", "load_data_csv", batch, plate)
    present = {PurePosixPath(p).name for p in fs.ls(csv_dir, detail=False)}
    csvs = [n for n in load_data.LOAD_DATA + load_data.LOAD_DATA_ILLUM if n in present]
    if not any(n in present for n in load_data.LOAD_DATA + load_data.LOAD_DATA_ILLUM):
        raise DataError(f"{csv_dir} has no load_data.csv; the plate cannot be read.")
    for name in csvs:
        fetch(Transfer(_join(csv_dir, name), _join("workspace", "load_data_csv", batch, plate,
                                                   name)))
    local_csv_dir = local_root / "workspace" / "load_data_csv" / batch / plate
    table_path = (load_data.find_load_data(local_csv_dir, load_data.LOAD_DATA)
                  or load_data.find_load_data(local_csv_dir, load_data.LOAD_DATA_ILLUM))
    where = f"{csv_dir}/{table_path.name}"
    table = load_data.select_rows(load_data.read_csv(table_path, where), where, wells,
                                  sites_per_well)
    if table.empty:
        raise DataError(f"{where} has no rows for wells {', '.join(wells) or 'all'}.")
    folder = _plate_folder(fs, base, batch, plate)
    paths = load_data.image_paths(table, channels, batch, plate, folder, where)
    transfers = [Transfer(_join(base, rel), rel)
                 for chans in paths.values() for rel in chans.values()]
    illum_path = load_data.find_load_data(local_csv_dir, load_data.LOAD_DATA_ILLUM)
    illum_table = load_data.read_csv(illum_path, str(illum_path)) if illum_path else None
    for name in load_data.illum_file_names(illum_table, plate, channels).values():
        remote = _join(base, "images", batch, "illum", plate, name)
        if fs.exists(remote):
            transfers.append(Transfer(remote, _join("images", batch, "illum", plate, name)))
    transfers.extend(_metadata_transfers(fs, base, batch))
    return transfers


def _metadata_transfers(fs, base: str, batch: str) -> list[Transfer]:
    """The batch's plate maps and the external metadata (small text files)."""
    out = []
    meta = _join(base, "workspace", "metadata")
    for pattern in (_join(meta, "platemaps", batch, "barcode_platemap.csv"),
                    _join(meta, "platemaps", batch, "platemap", "*"),
                    _join(meta, "external_metadata", "*")):
        for remote in sorted(fs.glob(pattern)):
            if fs.isfile(remote):
                out.append(Transfer(remote, str(PurePosixPath(remote).relative_to(base))))
    return out


def fetch_jump(source_url: str, local_root: Path, plates: tuple[str, ...],
               sites_per_well: int = 0, wells: tuple[str, ...] = (),
               channels: tuple[str, ...] = jump.BRIGHTFIELD + jump.FLUORESCENCE,
               endpoint_url: str | None = None, workers: int = 8, retries: int = 3,
               console=None, batch: str = "") -> FetchReport:
    """Download the files of ``plates`` (the chosen wells, the first ``sites_per_well`` sites)
    from ``source_url`` (the Gallery's ``source_4`` folder) into ``local_root``, from ``batch``
    (needed for a barcode that several batches hold; empty: the one batch holding each)."""
    if not plates:
        raise DataError("Name the plates to fetch, e.g. --plates BR00116991 (the pilot's plate "
                        "barcodes are listed in its barcode_platemap.csv).")
    # A short probe first: without it, an unreachable server costs every retry of every
    # request (minutes) and ends in botocore's chained tracebacks.
    check_reachable(source_url, endpoint_url)
    fs, base = open_filesystem(source_url, endpoint_url)
    try:
        return _fetch(fs, base, local_root, plates, sites_per_well, wells, channels, workers,
                      retries, console, batch)
    except network_errors() as exc:  # the connection was lost after the probe
        raise DataError(f"Lost the connection to {source_url} ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else exc!r}); run the same "
                        "command again to resume.") from None


def _fetch(fs, base: str, local_root: Path, plates: tuple[str, ...], sites_per_well: int,
           wells: tuple[str, ...], channels: tuple[str, ...], workers: int, retries: int,
           console, batch: str = "") -> FetchReport:
    report = FetchReport(plates=list(plates))
    lock = threading.Lock()

    def fetch(transfer: Transfer) -> None:
        got = download(fs, transfer.remote, local_root / transfer.relative, retries=retries)
        with lock:
            _count(report, got)

    # Every plate's batch first: an ambiguous barcode stops the fetch before any download.
    batches = {plate: batch_of(fs, base, plate, batch) for plate in plates}
    transfers: dict[str, Transfer] = {}
    for plate in plates:
        for t in plan_plate(fs, base, local_root, plate, wells, sites_per_well, channels, fetch,
                            batches[plate]):
            transfers.setdefault(t.relative, t)
    todo = list(transfers.values())
    with progress_bar(console, "fetch", len(todo)) as bar, \
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        window = max(1, workers * 4)  # a failure stops the fetch after at most one window
        for w in range(0, len(todo), window):
            for _ in pool.map(fetch, todo[w:w + window]):
                bar.advance()
    return report
