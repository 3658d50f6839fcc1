"""Selective, resumable, verified downloads of JUMP plates from the Cell Painting Gallery.

Only the files that a selection of plates, wells and sites needs are fetched: each plate's
``load_data`` CSVs first, then the images those rows name, the plate's illumination functions
and the batch's plate maps. Any fsspec URL works (``s3://`` needs the optional ``s3`` extra,
``pip install 'vsbench[s3]'``; the Gallery is public and read anonymously). A file is written
to ``<name>.part`` and renamed when complete; an interrupted download continues from the bytes
already there, and every download is checked against the server's size and, for a single-part
upload, its MD5 (the S3 ETag; a multipart upload's ETag is no MD5, so its size is what is
checked): one file's transfer is :mod:`.transfer`'s.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Callable

from vsbench.data.sources.jump import load_data
from vsbench.data.sources.jump.settings import BRIGHTFIELD, FLUORESCENCE
from vsbench.data.sources.jump.source import ambiguous_plate
from vsbench.data.sources.jump.transfer import (FetchReport, Transfer, _count, check_reachable,
                                                download, network_errors, open_filesystem)
from vsbench.progress import progress_bar
from vsbench.data.source import DataError

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
        raise ambiguous_plate(plate, batches)
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
               channels: tuple[str, ...] = BRIGHTFIELD + FLUORESCENCE,
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
