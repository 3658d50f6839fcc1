"""The preprocessed cache: a dataset decoded once, stored as memory-mapped arrays at one size.

``<data_root>/<dataset>/cache/<key>/`` holds ``brightfield.npy`` ``[N, planes, S, S]`` and
``fluorescence.npy`` ``[N, channels, S, S]`` (both uint16, value / 65535 on [0, 1]) and
``meta.json`` (records, channel set, fingerprint, preprocessing). The key hashes the source's
fingerprint, its preprocessing settings, the size and the cache format, so a change of any of them
makes a new cache and an old one is never read by mistake.

A build writes into ``<key>.partial/`` and renames it when complete; an interrupted build resumes
where it stopped. A lock file (``cache/.lock``) keeps two processes from building at once.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

import numpy as np

from vsbench import atomic
from vsbench.data.source import DataError, DatasetInfo, DatasetSource, Sample, SampleRecord
from vsbench.progress import progress_bar

CACHE_VERSION = 1
SCALE = 65535  # uint16 steps on [0, 1]: 1.5e-5 resolution, half the bytes of float32
META_FILE = "meta.json"
ARRAYS = ("brightfield", "fluorescence")


def preprocessing_of(source: DatasetSource) -> dict:
    """The preprocessing settings a source reports (empty for sources without any)."""
    describe = getattr(source, "preprocessing", None)
    return dict(describe()) if callable(describe) else {}


def cache_key(source: DatasetSource, image_size: int) -> str:
    """The folder name of ``source``'s cache at ``image_size``."""
    key = json.dumps({"version": CACHE_VERSION, "fingerprint": source.fingerprint(),
                      "preprocessing": preprocessing_of(source), "image_size": image_size,
                      "dtype": "uint16"}, sort_keys=True)
    return f"{image_size}px-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _record_json(record: SampleRecord) -> dict:
    return asdict(record)


class CachedSource(DatasetSource):
    """A source read from a complete cache folder (memory-mapped; nothing is decoded)."""

    # Brightfield was normalised by the source (or as PairedImageDataset does) before resizing.
    brightfield_normalised = True

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        meta_path = self.folder / META_FILE
        try:
            self.meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"Cache {self.folder} is unreadable ({exc}); delete the folder to "
                            "rebuild it.") from None
        meta = self.meta
        self._info = DatasetInfo(name=meta["dataset"], channels=tuple(meta["channels"]),
                                 planes=tuple(meta["planes"]),
                                 label_kinds={k: tuple(v) for k, v in meta["label_kinds"].items()})
        self._records = [SampleRecord(**r) for r in meta["records"]]
        self._index = {r.sample_id: i for i, r in enumerate(self._records)}
        self.image_size = int(meta["image_size"])
        self._open_arrays()
        for name, array in self._arrays.items():
            if array.shape[0] != len(self._records):
                raise DataError(f"Cache {self.folder}: {name}.npy has {array.shape[0]} samples "
                                f"but meta.json lists {len(self._records)}; delete the folder "
                                "to rebuild it.")

    def _open_arrays(self) -> None:
        self._arrays = {name: np.load(self.folder / f"{name}.npy", mmap_mode="r")
                        for name in ARRAYS}

    def __getstate__(self) -> dict:
        # DataLoader workers started with "spawn" pickle the source: reopen the memory maps
        # there instead of copying the whole cache into every worker.
        state = dict(self.__dict__)
        state.pop("_arrays", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._open_arrays()

    @property
    def info(self) -> DatasetInfo:
        return self._info

    def records(self) -> list[SampleRecord]:
        return list(self._records)

    def load(self, record: SampleRecord) -> Sample:
        i = self._index[record.sample_id]
        bf, fl = (np.asarray(self._arrays[n][i], dtype=np.float32) / SCALE for n in ARRAYS)
        return Sample(record, bf, fl)

    def fingerprint(self) -> str:
        # The data are the source's: results through the cache compare with results without it.
        return self.meta["fingerprint"]

    def preprocessing(self) -> dict:
        """The preprocessing settings the cache was built with."""
        return dict(self.meta["preprocessing"])

    def for_run(self, image_size: int, data_root: Path) -> DatasetSource:
        if image_size != self.image_size:
            raise DataError(f"Cache {self.folder} is {self.image_size} px, not {image_size} px; "
                            "open the dataset's source to get a cache of another size.")
        return self


def _nbytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def list_caches(cache_root: Path) -> list[dict]:
    """Complete caches under ``cache_root``: image size, samples, bytes, folder."""
    out = []
    if not cache_root.is_dir():
        return out
    for folder in sorted(cache_root.iterdir()):
        meta_path = folder / META_FILE
        if folder.suffix or not meta_path.is_file():  # .partial folders and the lock file
            continue
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            continue
        out.append({"image_size": meta["image_size"], "samples": len(meta["records"]),
                    "fingerprint": meta["fingerprint"], "bytes": _nbytes(folder),
                    "folder": str(folder)})
    return out


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock on ``path`` (a no-op where fcntl does not exist)."""
    try:
        import fcntl
    except ImportError:  # Windows: one process per cache is the user's responsibility there
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _quantise(array: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(array, 0, 1) * SCALE).astype(np.uint16)


def _meta(source: DatasetSource, records: list[SampleRecord], image_size: int) -> dict:
    info = source.info
    return {"version": CACHE_VERSION, "dataset": info.name, "fingerprint": source.fingerprint(),
            "preprocessing": preprocessing_of(source), "image_size": image_size,
            "channels": list(info.channels), "planes": list(info.planes),
            "label_kinds": {k: list(v) for k, v in info.label_kinds.items()},
            "records": [_record_json(r) for r in records]}


def _save_done(path: Path, done: np.ndarray) -> None:
    """The mask of finished samples, written atomically (a kill never leaves half of it)."""
    buffer = io.BytesIO()
    np.save(buffer, done)
    atomic.write_bytes(path, buffer.getvalue())


def _open_partial(folder: Path, meta: dict, shapes: dict[str, tuple[int, ...]]
                  ) -> tuple[dict[str, np.memmap], np.ndarray]:
    """The arrays of a partial build, reused when it was started with the same meta."""
    done_path = folder / "done.npy"
    same = False
    if (folder / META_FILE).is_file() and done_path.is_file():
        try:
            same = json.loads((folder / META_FILE).read_text()) == meta
        except ValueError:
            same = False
    if not same:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, shape in shapes.items():
            np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=np.uint16,
                                      shape=shape).flush()
        _save_done(done_path, np.zeros(len(meta["records"]), dtype=bool))
        atomic.write_text(folder / META_FILE, json.dumps(meta))
    arrays = {name: np.lib.format.open_memmap(folder / f"{name}.npy", mode="r+")
              for name in shapes}
    return arrays, np.load(done_path)


def build(source: DatasetSource, image_size: int, cache_root: Path, console=None,
          workers: int | None = None, flush_every: int = 64) -> CachedSource:
    """Decode every sample of ``source`` once, preprocess it and store it at ``image_size``.

    Returns the complete cache (opening an existing one at once). ``console`` (rich) shows a
    progress bar; ``workers`` threads decode files in parallel (decoders release the GIL).
    """
    from vsbench.data.normalise import prepare_sample  # torch: only when a cache is built

    key = cache_key(source, image_size)
    final = Path(cache_root) / key
    with _locked(Path(cache_root) / ".lock"):
        if (final / META_FILE).is_file():
            return CachedSource(final)
        records = source.records()
        if not records:
            raise DataError(f"Dataset '{source.info.name}' has no samples to prepare.")
        info = source.info
        meta = _meta(source, records, image_size)
        partial = Path(cache_root) / f"{key}.partial"
        shapes = {"brightfield": (len(records), len(info.planes), image_size, image_size),
                  "fluorescence": (len(records), len(info.channels), image_size, image_size)}
        arrays, done = _open_partial(partial, meta, shapes)
        todo = [i for i in range(len(records)) if not done[i]]
        start = time.perf_counter()

        def work(i: int) -> tuple[int, np.ndarray, np.ndarray]:
            bf, fl = prepare_sample(source, source.load(records[i]), image_size)
            return i, _quantise(bf.numpy()), _quantise(fl.numpy())

        def save_progress() -> None:
            for array in arrays.values():
                array.flush()  # data first, then the mask that says it is there
            _save_done(partial / "done.npy", done)

        workers = workers or min(4, os.cpu_count() or 1)
        progress = progress_bar(console, f"prepare {info.name} {image_size}px", len(records),
                                len(records) - len(todo))
        with progress as bar, ThreadPoolExecutor(max_workers=workers) as pool:
            try:
                # Small windows: a bad file stops the build after at most one window of work.
                window = max(1, workers * 4)
                for w in range(0, len(todo), window):
                    for i, bf, fl in pool.map(work, todo[w:w + window]):
                        arrays["brightfield"][i] = bf
                        arrays["fluorescence"][i] = fl
                        done[i] = True
                        bar.advance()
                    if (w // window + 1) % max(1, flush_every // window) == 0:
                        save_progress()
            finally:
                save_progress()
        del arrays
        meta_done = dict(meta, seconds=round(time.perf_counter() - start, 3),
                         created=time.strftime("%Y-%m-%dT%H:%M:%S"))
        (partial / "done.npy").unlink()
        atomic.write_text(partial / META_FILE, json.dumps(meta_done))
        os.replace(partial, final)
        return CachedSource(final)

