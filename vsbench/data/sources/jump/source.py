"""``jump-cpg0000``: the JUMP Cell Painting pilot as the Cell Painting Gallery publishes it.

Layout under the source root (a local copy of ``s3://cellpainting-gallery/cpg0000-jump-pilot/
source_4/``, or the part of it that ``vsbench data fetch`` downloaded)::

    images/<batch>/images/<plate>__<timestamp>-Measurement<N>/Images/rXXcYYfZZp01-chNsk1fk1fl1.tiff
    images/<batch>/illum/<plate>/<plate>_Illum<X>.npy
    workspace/load_data_csv/<batch>/<plate>/load_data.csv          (and load_data_with_illum.csv;
                                                                    .csv.gz in older copies)
    workspace/metadata/platemaps/<batch>/barcode_platemap.csv, platemap/<plate map>.txt
    workspace/metadata/external_metadata/<plate map prefix>_metadata*.tsv

Each site's files are taken from the plate's ``load_data.csv`` by column name
(:mod:`vsbench.data.sources.jump.load_data`), its labels from the plate maps
(:mod:`.platemaps`). Preprocessing is vsbench's choice (``preprocess=vsbench``):
divide by the illumination function, clip each plane at its own 2nd / 98th percentile and
rescale to [0, 1] (fluorescence and brightfield alike). ``preprocess=public-code`` is the
variant of the paper's public code: no illumination correction, the same clip, and the
brightfield input z-scored per plane (fluorescence stays on [0, 1], the metric protocol's
scale).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vsbench.data.sources.files import FileSource
from vsbench.data.images import check_dtype, check_odd_file, check_shape, read_plane
from vsbench.data.sources.jump.load_data import (LOAD_DATA, LOAD_DATA_ILLUM, find_load_data,
                                                 illum_file_names, image_paths, read_csv, sample_id,
                                                 select_rows)
from vsbench.data.sources.jump.settings import NAME, JumpSettings, effective_illum
from vsbench.data.sources.jump.platemaps import LABEL_COLUMNS, NO_LABEL, labels_for_plate
from vsbench.data.preprocess import ZSCORE, correct_illumination
from vsbench.data.source import DataError, DatasetInfo, Sample, SampleRecord
from vsbench.spec import DatasetSpec, hookimpl

SOURCE_VERSION = 1  # bump when loading or preprocessing changes what the source yields


@dataclass
class _Plate:
    batch: str
    plate: str
    load_data: Path
    illum: dict[str, Path | None]
    key: str = ""  # the plate in sample ids and records (see plate_key)


def plate_key(batch: str, plate: str) -> str:
    """How a plate whose barcode several batches hold is named in sample ids and records:
    ``<batch>__<plate>`` (e.g. ``2020_11_04_CPJUMP1__BR00117006``)."""
    return f"{batch}__{plate}"


def ambiguous_plate(plate: str, batches: list[str]) -> DataError:
    """The one-line error for a barcode that several batches hold, chosen without a batch."""
    return DataError(f"Plate {plate} is in {len(batches)} batches ({', '.join(sorted(batches))})"
                     f"; choose one with --batch BATCH (or --set batch=BATCH).")


class JumpSource(FileSource):
    """Sites of JUMP pilot plates from a local copy in the Cell Painting Gallery layout."""

    NAME, SETTINGS, VERSION = NAME, JumpSettings, SOURCE_VERSION
    LOCATION_SETTINGS = ("root", "source_url")
    SYMMETRY = "dihedral"  # widefield brightfield: rotated or flipped, a field looks the same

    def __init__(self, settings: JumpSettings | None = None, data_root: Path = Path("datasets")
                 ) -> None:
        super().__init__(settings, data_root)
        self._reference: tuple[tuple[int, int], np.dtype] | None = None
        self._illum_cache: dict[Path, np.ndarray] = {}

    # -- index -------------------------------------------------------------------------------

    def _plates(self) -> list[_Plate]:
        base = self.root / "workspace" / "load_data_csv"
        s = self.settings
        found: dict[str, list[_Plate]] = {}  # barcode -> its plates, one per batch holding it
        for folder in sorted(base.glob("*/*")) if base.is_dir() else []:
            load_data = (find_load_data(folder, LOAD_DATA)
                         or find_load_data(folder, LOAD_DATA_ILLUM))
            if folder.is_dir() and load_data is not None:
                found.setdefault(folder.name, []).append(
                    _Plate(folder.parent.name, folder.name, load_data, {}))
        if not found:
            raise DataError(f"No JUMP plates under {self.root} (no workspace/load_data_csv/"
                            "<batch>/<plate>/load_data.csv). Fetch some with `vsbench data fetch "
                            "jump-cpg0000 --plates BR00116991`, or point to a local copy with "
                            "`vsbench data prepare --dataset jump-cpg0000 --set root=PATH`.")
        if s.batch:
            batches = sorted({p.batch for plates in found.values() for p in plates})
            if s.batch not in batches:
                raise DataError(f"Batch {s.batch} not found under {base} (found: "
                                f"{', '.join(batches)}); fetch it or change --set batch=...")
            found = {k: [p for p in v if p.batch == s.batch] for k, v in found.items()}
            found = {k: v for k, v in found.items() if v}
        missing = [p for p in s.plates if p not in found]
        if missing:
            where = f"batch {s.batch} under {base}" if s.batch else str(base)
            raise DataError(f"Plate(s) {', '.join(missing)} not found in {where} (found: "
                            f"{', '.join(found)}); fetch them or change --set plates=...")
        for plate in s.plates:
            if len(found[plate]) > 1:  # never take one of them silently
                raise ambiguous_plate(plate, [p.batch for p in found[plate]])
        wanted = s.plates or tuple(found)
        chosen = [p for name in wanted for p in found[name]]
        # A barcode held by several batches (only when every plate is taken) is keyed by its
        # batch too, so that its samples, split groups and illumination never mix.
        return [_Plate(p.batch, p.plate, p.load_data, {},
                       plate_key(p.batch, p.plate) if len(found[p.plate]) > 1 else p.plate)
                for p in chosen]

    def _index(self) -> None:
        s = self.settings
        records, files, illum, digests = [], {}, {}, {}
        for plate in self._plates():
            where = str(plate.load_data)
            table = select_rows(read_csv(plate.load_data, where), where, s.wells,
                                s.sites_per_well)
            other = table[table["Metadata_Plate"] != plate.plate]
            if len(other):
                raise DataError(f"{where} lists plate {other['Metadata_Plate'].iloc[0]} but "
                                f"is in the folder of plate {plate.plate}.")
            image_root = self.root / "images" / plate.batch / "images"
            folders = sorted(image_root.glob(f"{plate.plate}*")) if image_root.is_dir() else []
            plate_folder = folders[0].name if folders else None
            paths = image_paths(table, s.planes + s.channels, plate.batch, plate.plate,
                                plate_folder, where, key=plate.key)
            files.update({sid: {ch: self.root / rel for ch, rel in chans.items()}
                          for sid, chans in paths.items()})
            illum.update(self._illum_for(plate))
            digests[plate.key] = hashlib.sha256(plate.load_data.read_bytes()).hexdigest()
            labels = labels_for_plate(self.root, plate.batch, plate.plate)
            unmapped = {k: NO_LABEL for k in LABEL_COLUMNS}
            for well, site in zip(table["Metadata_Well"], table["_site"]):
                well_labels = {} if labels is None else labels.get(well, unmapped)
                records.append(SampleRecord(sample_id(plate.key, well, site), plate.key,
                                            well, str(site), dict(well_labels)))
        # A label kind is offered only when every sample has it.
        kinds = [k for k in LABEL_COLUMNS if records and all(k in r.labels for r in records)]
        records = [SampleRecord(r.sample_id, r.plate, r.well, r.site,
                                {k: r.labels[k] for k in kinds}) for r in records]
        self._records = records
        self._files = files
        self._illum = illum
        self._digests = digests
        self._info = DatasetInfo(
            name=NAME, channels=tuple(s.channels), planes=tuple(s.planes),
            label_kinds={k: tuple(sorted({r.labels[k] for r in records})) for k in kinds})

    def _illum_for(self, plate: _Plate) -> dict[tuple[str, str], Path | None]:
        """Each channel's illumination function for ``plate`` (None where not used)."""
        s = self.settings
        channels = s.planes + s.channels
        if effective_illum(s) == "off":
            return {(plate.key, c): None for c in channels}
        folder = plate.load_data.parent
        illum_csv = find_load_data(folder, LOAD_DATA_ILLUM)
        table = read_csv(illum_csv, str(illum_csv)) if illum_csv else None
        names = illum_file_names(table, plate.plate, channels)
        out = {}
        for channel, name in names.items():
            path = self.root / "images" / plate.batch / "illum" / plate.plate / name
            if not path.is_file():
                if s.illum == "on":
                    raise DataError(f"Illumination function {path} is missing (--set illum=on); "
                                    "fetch it, or use --set illum=auto to correct only where "
                                    "one exists.")
                path = None
            out[(plate.key, channel)] = path
        return out

    # -- DatasetSource -----------------------------------------------------------------------

    def preprocessing(self) -> dict:
        """The settings that change the pixels this source yields, and which channels have an
        illumination function on every plate (with ``illum=auto`` the others are not
        corrected)."""
        self._build()
        s = self.settings
        corrected = [c for c in s.planes + s.channels
                     if all(p is not None for (_, ch), p in self._illum.items() if ch == c)]
        out = {"illum": effective_illum(s), "illum_channels": corrected,
               "clip": [s.clip_low, s.clip_high], "bit_depth": s.bit_depth,
               "normalise": "per image, per plane"}
        if s.preprocess == "public-code":
            out["brightfield"] = ZSCORE  # applied after resizing (vsbench.data.normalise)
        return out

    def _expected(self) -> tuple[tuple[int, int], np.dtype]:
        """Field size (from the first site's first file) and pixel type all files must have."""
        if self._reference is None:
            first = self._records[0]
            path = self._files[first.sample_id][self.settings.planes[0]]
            image = read_plane(path)
            dtype = np.dtype(np.uint16 if self.settings.bit_depth == 16 else np.uint8)
            check_dtype(image, dtype, path, f"--set bit_depth={self.settings.bit_depth} expects")
            self._reference = (tuple(image.shape), dtype)
        return self._reference

    def _illum_function(self, path: Path) -> np.ndarray:
        if path not in self._illum_cache:
            try:
                self._illum_cache[path] = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise DataError(f"Illumination function {path} cannot be read ({exc}); fetch "
                                "it again.") from None
        return self._illum_cache[path]

    def _plane(self, record: SampleRecord, channel: str) -> np.ndarray:
        shape, dtype = self._expected()
        path = self._files[record.sample_id][channel]
        image = read_plane(path)
        check_dtype(image, dtype, path, f"the {NAME} images are")
        if tuple(image.shape) != tuple(shape):  # the first site may be the odd one
            check_odd_file((p, None) for files in self._files.values() for p in files.values())
        check_shape(image, shape, path, "the dataset's fields are")
        illum_path = self._illum[(record.plate, channel)]
        if illum_path is None:
            return image.astype(np.float32)
        function = self._illum_function(illum_path)
        if function.shape != image.shape:
            raise DataError(f"Illumination function {illum_path} is {function.shape} but the "
                            f"images are {image.shape}; it belongs to another plate or "
                            "microscope.")
        return correct_illumination(image, function)

    def load(self, record: SampleRecord) -> Sample:
        self._build()
        s = self.settings
        with self._lock:
            self._expected()
        bf = np.stack([self._plane(record, c) for c in s.planes])
        fl = np.stack([self._plane(record, c) for c in s.channels])
        return self._sample(record, bf, fl)

    def _fingerprint_parts(self) -> dict[str, Any]:
        """The plates' load_data.csv digests, the illumination functions' names and sizes and
        the number of samples."""
        illum = sorted(f"{plate}/{channel}:{p.name}:{p.stat().st_size}"
                       for (plate, channel), p in self._illum.items() if p is not None)
        return {"load_data": self._digests, "illum": illum, "samples": len(self._records)}


@hookimpl
def vsbench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(
        name=NAME,
        description="JUMP Cell Painting pilot plates (Cell Painting Gallery cpg0000, source_4): "
                    "5 channels from 3 brightfield planes.",
        reference="Chandrasekaran et al., Nat. Methods 2024; s3://cellpainting-gallery/"
                  "cpg0000-jump-pilot",
        factory=JumpSource.from_data_root,
    )]
