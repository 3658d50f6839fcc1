"""``folder``: a lab's own paired images, described by a CSV manifest or a folder layout.

Manifest (``<root>/manifest.csv``; paths relative to the manifest's folder or absolute)::

    plate,well,site,bf_BF,fl_DNA,label_perturbation
    P1,A01,1,P1/A01_s1_bf.tif,P1/A01_s1_dna.tif,DMSO

One row per field of view. Each ``bf_<name>`` column is a brightfield plane and each
``fl_<name>`` column a fluorescence channel: any number of planes, any set of channels, named as
the lab names them. A file holding several planes (multi-page or OME-TIFF) is addressed as
``stack.ome.tif#2`` (0-based). ``label_<kind>`` columns give class labels; ``plate``, ``well``
and ``site`` place the sample (the split is grouped by plate, or by well with fewer than three
plates); ``sample_id`` is optional (default ``<plate>_<well>_s<site>``). Without a manifest the
layout ``<root>/<plate>/<well>/<site>/{bf,fl}_<name>.{tif,tiff,png}`` is read instead.

Preprocessing: each plane is clipped at its own percentiles (2nd / 98th by default) and rescaled
to [0, 1], brightfield and fluorescence alike. All files of a channel must share one bit depth
and all fields one size.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vsbench.data.symmetry import check_symmetry
from vsbench.data.digests import file_digests
from vsbench.data.sources.files import FileSource, validate_clip
from vsbench.data.images import (SUFFIXES, check_dtype, check_odd_file, check_shape, read_plane,
                                 split_plane)
from vsbench.data.source import DataError, DatasetInfo, Sample, SampleRecord
from vsbench.layout import dataset_folder
from vsbench.spec import DatasetSpec, hookimpl

NAME = "folder"
BF, FL, LABEL = "bf_", "fl_", "label_"
NO_LABEL = "none"
SOURCE_VERSION = 1  # bump when loading or preprocessing changes what the source yields


@dataclass
class FolderSettings:
    """Settings of ``folder`` (``--set key=value`` on ``vsbench data prepare``).

    Attributes:
        root: the folder holding the images (and the manifest); empty means
            ``<data_root>/folder``.
        manifest: the manifest, relative to ``root`` or absolute; when the file does not exist
            the folder layout is scanned instead.
        clip_low, clip_high: per-image percentile clip before rescaling to [0, 1].
        symmetry: the transforms that leave the images' look unchanged, the only ones
            augmentation draws: ``none`` (the default: oblique, DIC and phase-gradient contrast
            are directional), ``rot180``, ``flips`` or ``dihedral`` (widefield brightfield).
    """

    root: str = ""
    manifest: str = "manifest.csv"
    clip_low: float = 2.0
    clip_high: float = 98.0
    symmetry: str = "none"

    def validate(self) -> None:
        """Raise :class:`ConfigError` for inconsistent settings."""
        validate_clip(self.clip_low, self.clip_high)
        check_symmetry(self.symmetry)


def scan_layout(root: Path) -> list[dict[str, str]]:
    """Manifest rows from the layout ``<root>/<plate>/<well>/<site>/{bf,fl}_<name>.<ext>``."""
    rows = []
    for site_dir in sorted(p for p in root.glob("*/*/*") if p.is_dir()):
        files = [f for f in sorted(site_dir.iterdir())
                 if f.suffix.lower() in SUFFIXES and f.name.startswith((BF, FL))]
        if not files:
            continue
        plate, well, site = site_dir.relative_to(root).parts
        row = {"plate": plate, "well": well, "site": site}
        for f in files:
            column = f.name[:-len("".join(f.suffixes))] if f.suffixes else f.name
            row[column] = str(f.relative_to(root))
        rows.append(row)
    return rows


def _read_manifest(path: Path) -> list[dict[str, str]]:
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises parser and unicode errors
        raise DataError(f"Manifest {path} cannot be read as CSV ({type(exc).__name__}: {exc})."
                        ) from None
    table.columns = [c.strip() for c in table.columns]
    if table.empty:
        # A header without rows has columns: say what is missing, not "no columns".
        columns = ", ".join(table.columns) or "none"
        raise DataError(f"Manifest {path} has no rows (its columns: {columns}); add one row "
                        "per field of view below the header.")
    return table.to_dict("records")


class FolderSource(FileSource):
    """Paired images from a manifest or folder layout; the channel set is the files'."""

    NAME, SETTINGS, VERSION = NAME, FolderSettings, SOURCE_VERSION
    LOCATION_SETTINGS = ("root", "manifest")

    def __init__(self, settings: FolderSettings | None = None,
                 data_root: Path = Path("datasets")) -> None:
        super().__init__(settings, data_root)
        self._reference: dict[str, tuple[tuple[int, int], np.dtype]] = {}

    @property
    def manifest_path(self) -> Path:
        """The manifest file (it may not exist: then the layout is scanned)."""
        path = Path(self.settings.manifest).expanduser()
        return path if path.is_absolute() else self.root / path

    def _rows(self) -> tuple[list[dict[str, str]], Path, str]:
        if not self.root.is_dir():
            raise DataError(f"Folder dataset root {self.root} does not exist; put your images "
                            "there or run `vsbench data prepare --dataset folder --set "
                            "root=PATH`.")
        if self.manifest_path.is_file():
            return (_read_manifest(self.manifest_path), self.manifest_path.parent,
                    str(self.manifest_path))
        rows = scan_layout(self.root)
        if not rows:
            raise DataError(f"No {self.manifest_path.name} in {self.root} and no images in the "
                            "layout <plate>/<well>/<site>/{bf,fl}_<name>.tif; see the README's "
                            "'Your own data'.")
        return rows, self.root, f"the folder layout under {self.root}"

    def _index(self) -> None:
        rows, base, where = self._rows()
        columns = list(dict.fromkeys(c for row in rows for c in row))
        planes = tuple(c[len(BF):] for c in columns if c.startswith(BF) and c != BF)
        channels = tuple(c[len(FL):] for c in columns if c.startswith(FL) and c != FL)
        kinds = tuple(c[len(LABEL):] for c in columns if c.startswith(LABEL) and c != LABEL)
        if not planes or not channels:
            raise DataError(f"{where} needs at least one brightfield column (bf_<plane>) "
                            f"and one fluorescence column (fl_<channel>); it has: "
                            f"{', '.join(columns) or 'no columns'}.")
        if not ({"plate", "well", "site"} <= set(columns) or "sample_id" in columns):
            raise DataError(f"{where} needs columns plate, well and site (or sample_id) to "
                            "place each sample.")
        records, files, seen = [], {}, {}
        for n, row in enumerate(rows, 2):  # row 1 is the header
            plate = row.get("plate", "").strip() or "P1"
            well = row.get("well", "").strip()
            site = row.get("site", "").strip() or "1"
            sid = row.get("sample_id", "").strip() or (f"{plate}_{well}_s{site}" if well
                                                       else "")
            if not sid:
                raise DataError(f"{where}, line {n}: no sample_id and no well.")
            if sid in seen:
                raise DataError(f"{where}: sample {sid} appears on lines {seen[sid]} and "
                                f"{n}; give each field of view one row.")
            seen[sid] = n
            paths = {}
            for prefix, names in ((BF, planes), (FL, channels)):
                for name in names:
                    spec = str(row.get(prefix + name, "")).strip()
                    if not spec:
                        raise DataError(f"{where}, line {n} (sample {sid}): no file for "
                                        f"{prefix}{name}; every sample needs every channel "
                                        "(drop the row or the column).")
                    file, plane = split_plane(spec)
                    path = Path(file).expanduser()
                    if not path.is_absolute():
                        _check_inside(file, base, f"{where}, line {n} (sample {sid}), "
                                                  f"{prefix}{name}")
                    paths[prefix + name] = (path if path.is_absolute() else base / path,
                                            plane)
            files[sid] = paths
            labels = {k: str(row.get(LABEL + k, "")).strip() or NO_LABEL for k in kinds}
            records.append(SampleRecord(sid, plate, well or sid, site, labels))
        self._records = sorted(records, key=lambda r: r.sample_id)
        self._files = files
        self._where = where
        self._manifest_text = (self.manifest_path.read_text()
                               if self.manifest_path.is_file() else
                               json.dumps(rows, sort_keys=True))
        self._info = DatasetInfo(
            name=NAME, channels=channels, planes=planes,
            label_kinds={k: tuple(sorted({r.labels[k] for r in records})) for k in kinds})

    def preprocessing(self) -> dict:
        """The settings that change the pixels this source yields."""
        return {"clip": [self.settings.clip_low, self.settings.clip_high],
                "normalise": "per image, per plane"}

    def _expected(self, column: str) -> tuple[tuple[int, int], np.dtype]:
        """Size and pixel type of ``column``'s files, from the first sample (in id order)."""
        with self._lock:
            if column not in self._reference:
                path, plane = self._files[self._records[0].sample_id][column]
                image = read_plane(path, plane)
                self._reference[column] = (tuple(image.shape), image.dtype)
            return self._reference[column]

    def _plane(self, record: SampleRecord, column: str, size: tuple[int, int]) -> np.ndarray:
        path, plane = self._files[record.sample_id][column]
        image = read_plane(path, plane)
        _, dtype = self._expected(column)
        if image.dtype != dtype:  # the first sample may be the odd one: ask the majority
            check_odd_file((f[column] for f in self._files.values()), dtype_of=column)
        if tuple(image.shape) != tuple(size):
            check_odd_file(f for files in self._files.values() for f in files.values())
        check_dtype(image, dtype, path, f"the first sample's {column} image is")
        check_shape(image, size, path, "the dataset's fields are")
        if image.dtype.kind not in "uif":
            raise DataError(f"Image {path} has pixel type {image.dtype}; use integer or float "
                            "greyscale images.")
        return image.astype(np.float32)

    def load(self, record: SampleRecord) -> Sample:
        self._build()
        info = self._info
        size, _ = self._expected(BF + info.planes[0])
        bf = np.stack([self._plane(record, BF + p, size) for p in info.planes])
        fl = np.stack([self._plane(record, FL + c, size) for c in info.channels])
        return self._sample(record, bf, fl)

    def _fingerprint_parts(self) -> dict[str, Any]:
        """The manifest and every file's contents (digests are remembered in
        ``<data_root>/folder/digests.json``, so unchanged files are not read again)."""
        paths = sorted({p for f in self._files.values() for p, _ in f.values()})
        digests = file_digests(paths, dataset_folder(self.data_root, NAME).digests_file)
        missing = [p for p in paths if str(p) not in digests]
        if missing:
            raise DataError(f"Image file {missing[0]} is missing ({len(missing)} file(s) "
                            f"listed in {self._where} are); copy them or remove their rows.")
        # Paths relative to the root, so that a copy of the folder elsewhere agrees.
        contents = sorted(f"{_relative(p, self.root)}:{digests[str(p)]}" for p in paths)
        return {"manifest": hashlib.sha256(self._manifest_text.encode()).hexdigest(),
                "files": hashlib.sha256("".join(contents).encode()).hexdigest()}


def _check_inside(file: str, base: Path, where: str) -> None:
    """Refuse a relative path that climbs out of ``base`` (``../../etc/x.tif``), before any
    file is read or hashed. Checked on the text (no symlink is followed: a linked image folder
    inside the dataset is fine); a file elsewhere is named by an absolute path on purpose."""
    normal = posixpath.normpath(file.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise DataError(f"{where}: path '{file}' leaves the dataset folder {base}; give paths "
                        "relative to the manifest's folder without '..' (or an absolute path "
                        "if the file really lives elsewhere).")


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()


@hookimpl
def vsbench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(
        name=NAME,
        description="Your own paired images (TIFF/OME-TIFF/PNG) from a CSV manifest or a folder "
                    "layout; any brightfield planes and fluorescence channels.",
        reference="vsbench README, 'Your own data'",
        factory=FolderSource.from_data_root,
    )]
