"""``jump-cpg0000``: the JUMP Cell Painting pilot as the Cell Painting Gallery publishes it.

Layout under the source root (a local copy of ``s3://cellpainting-gallery/cpg0000-jump-pilot/
source_4/``, or the part of it that ``vsbench data fetch`` downloaded)::

    images/<batch>/images/<plate>__<timestamp>-Measurement1/Images/rXXcYYfZZp01-chNsk1fk1fl1.tiff
    images/<batch>/illum/<plate>/<plate>_Illum<X>.npy
    workspace/load_data_csv/<batch>/<plate>/load_data.csv(.gz)      (and load_data_with_illum)
    workspace/metadata/platemaps/<batch>/barcode_platemap.csv, platemap/<plate map>.txt
    workspace/metadata/external_metadata/<plate map prefix>_metadata*.tsv

Each site's files are taken from the plate's ``load_data.csv`` by column name
(``FileName_Orig<X>`` with ``PathName_Orig<X>``, or ``URL_Orig<X>``), never from the Phenix
channel number or the file order. Preprocessing as in the paper's public code: divide by the
illumination function, clip each plane at its own 2nd / 98th percentile and rescale to [0, 1]
(fluorescence and brightfield alike).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np

from vsbench.config import ConfigError
from vsbench.data import settings as source_settings
from vsbench.data.images import check_dtype, check_shape, read_plane
from vsbench.data.cache import CachedFileSource
from vsbench.data.preprocess import correct_illumination, percentile_normalise
from vsbench.data.source import DataError, DatasetInfo, Sample, SampleRecord
from vsbench.spec import DatasetSpec, hookimpl

NAME = "jump-cpg0000"
DEFAULT_URL = "s3://cellpainting-gallery/cpg0000-jump-pilot/source_4"
FLUORESCENCE = ("DNA", "ER", "RNA", "AGP", "Mito")
# The three brightfield planes of the pilot, as load_data.csv names them, from low to high focus.
BRIGHTFIELD = ("LowZBF", "Brightfield", "HighZBF")
LOAD_DATA = ("load_data.csv", "load_data.csv.gz")
LOAD_DATA_ILLUM = ("load_data_with_illum.csv", "load_data_with_illum.csv.gz")
METADATA = ("Metadata_Plate", "Metadata_Well", "Metadata_Site")
# Label kinds for class-guided methods and the plate-map / external-metadata columns they come
# from, in order of preference (compound plates name the compound and its target; CRISPR and ORF
# plates the reagent and its gene).
LABEL_COLUMNS = {"perturbation": ("pert_iname", "broad_sample"), "target": ("target", "gene")}
NO_LABEL = "none"  # wells without a perturbation (e.g. DMSO negative controls) or annotation
SOURCE_VERSION = 1  # bump when loading or preprocessing changes what the source yields


@dataclass
class JumpSettings:
    """Settings of ``jump-cpg0000`` (``--set key=value`` on ``vsbench data prepare``).

    Attributes:
        root: the local source folder (holding ``images/`` and ``workspace/``); empty means
            ``<data_root>/jump-cpg0000``, where ``vsbench data fetch`` puts it.
        plates: plate barcodes to use (e.g. ``BR00116991``); empty means every plate found.
        wells: wells to use (e.g. ``A01``); empty means every well.
        sites_per_well: the first N sites of each well; 0 means all.
        channels: fluorescence channels to predict, by their load_data.csv names.
        planes: brightfield planes to use as input, by their load_data.csv names.
        illum: ``auto`` divides by the illumination function where the plate has one, ``on``
            requires it, ``off`` skips it.
        clip_low, clip_high: per-image percentile clip before rescaling to [0, 1].
        bit_depth: expected bits per pixel of the TIFFs (the pilot's are 16).
        source_url: where ``vsbench data fetch`` downloads from.
    """

    root: str = ""
    plates: tuple[str, ...] = ()
    wells: tuple[str, ...] = ()
    sites_per_well: int = 0
    channels: tuple[str, ...] = FLUORESCENCE
    planes: tuple[str, ...] = BRIGHTFIELD
    illum: Literal["auto", "on", "off"] = "auto"
    clip_low: float = 2.0
    clip_high: float = 98.0
    bit_depth: int = 16
    source_url: str = DEFAULT_URL

    def validate(self) -> None:
        """Raise :class:`ConfigError` for inconsistent settings."""
        if not 0 <= self.clip_low < self.clip_high <= 100:
            raise ConfigError(f"--set clip_low={self.clip_low} clip_high={self.clip_high}: need "
                              "0 <= clip_low < clip_high <= 100.")
        if self.sites_per_well < 0:
            raise ConfigError(f"--set sites_per_well={self.sites_per_well}: must be 0 (all) or "
                              "more.")
        if self.bit_depth not in (8, 16):
            raise ConfigError(f"--set bit_depth={self.bit_depth}: use 8 or 16.")
        if not self.channels or not self.planes:
            raise ConfigError("--set channels=... and planes=...: name at least one of each.")
        for kind, names in (("channels", self.channels), ("planes", self.planes)):
            if len(set(names)) != len(names):
                raise ConfigError(f"--set {kind}={','.join(names)}: names repeat.")


# --------------------------------------------------------------------------- load_data.csv


def read_csv(handle, where: str, sep: str = ","):
    """Read a (possibly gzipped) CSV as strings; empty cells stay empty strings."""
    import pandas as pd

    name = str(getattr(handle, "name", where))
    try:
        return pd.read_csv(handle, dtype=str, keep_default_na=False, sep=sep,
                           compression="gzip" if name.endswith(".gz") else None)
    except Exception as exc:  # pandas raises parser, unicode and gzip errors
        raise DataError(f"{where} cannot be read as a table ({type(exc).__name__}: {exc}); "
                        "download it again.") from None


def channel_columns(columns, channel: str, where: str) -> tuple[str | None, str | None]:
    """The (file name, location) columns of ``channel``: ``FileName_Orig<X>`` with
    ``PathName_Orig<X>`` (if present), or ``URL_Orig<X>`` alone."""
    file_col, path_col, url_col = (f"{p}_Orig{channel}" for p in ("FileName", "PathName", "URL"))
    if file_col in columns:
        return file_col, path_col if path_col in columns else None
    if url_col in columns:
        return None, url_col
    have = sorted(c for c in columns if "_Orig" in c)
    raise DataError(f"{where} has no column {file_col} (nor {url_col}) for channel '{channel}'; "
                    f"its image columns are {', '.join(have) or 'none'}. Choose channels it "
                    "has with --set channels=... / planes=..., or use the plate's load_data.csv "
                    "from the Cell Painting Gallery.")


def normalise_well(well: str) -> str:
    """``a1``, ``A1`` and ``A01`` all become ``A01``."""
    match = re.fullmatch(r"\s*([A-Za-z]+)0*(\d+)\s*", well)
    return f"{match.group(1).upper()}{int(match.group(2)):02d}" if match else well.strip()


def select_rows(table, where: str, wells: tuple[str, ...] = (), sites_per_well: int = 0):
    """Check the metadata columns and keep the chosen wells and the first N sites of each."""
    missing = [c for c in METADATA if c not in table.columns]
    if missing:
        raise DataError(f"{where} lacks column(s) {', '.join(missing)}; a load_data.csv "
                        "from the Cell Painting Gallery has them.")
    table = table.copy()
    table["Metadata_Well"] = table["Metadata_Well"].map(normalise_well)
    bad_sites = table.loc[~table["Metadata_Site"].str.strip().str.isdigit(), "Metadata_Site"]
    if len(bad_sites):
        raise DataError(f"{where}: Metadata_Site '{bad_sites.iloc[0]}' is not a site number.")
    table["_site"] = table["Metadata_Site"].astype(int)
    if wells:
        table = table[table["Metadata_Well"].isin({normalise_well(w) for w in wells})]
    table = table.sort_values(["Metadata_Plate", "Metadata_Well", "_site"], kind="stable")
    duplicated = table.duplicated(["Metadata_Plate", "Metadata_Well", "_site"])
    if duplicated.any():
        row = table[duplicated].iloc[0]
        raise DataError(f"{where} lists site {row['_site']} of well {row['Metadata_Well']} "
                        "twice; each site must have one row.")
    if sites_per_well:
        table = table.groupby(["Metadata_Plate", "Metadata_Well"], sort=False).head(sites_per_well)
    return table.reset_index(drop=True)


def sample_id(plate: str, well: str, site: int | str) -> str:
    """The id of a site: ``<plate>_<well>_s<site>``."""
    return f"{plate}_{well}_s{site}"


def relative_image_path(batch: str, plate: str, filename: str, location: str,
                        plate_folder: str | None) -> str:
    """An image's path relative to the source root, in the Gallery layout.

    ``location`` is the row's ``PathName_Orig<X>`` (a folder) or ``URL_Orig<X>`` (the file); the
    part from the plate's folder (``<plate>__<timestamp>-Measurement1``) on is kept, whatever
    machine wrote it. Without one, the file is looked up in ``plate_folder/Images/``.
    """
    parts = [p for p in location.replace("\\", "/").split("/") if p]
    if parts and parts[-1] == filename:
        parts = parts[:-1]
    for i, part in enumerate(parts):
        if part == plate or part.startswith(plate + "__"):
            return str(PurePosixPath("images", batch, "images", *parts[i:], filename))
    return str(PurePosixPath("images", batch, "images", plate_folder or plate, "Images",
                             filename))


def image_paths(table, channels: tuple[str, ...], batch: str, plate: str,
                plate_folder: str | None, where: str) -> dict[str, dict[str, str]]:
    """For every row (by sample id), each channel's path relative to the source root.

    A channel without a file for some sites is an error naming those sites.
    """
    out: dict[str, dict[str, str]] = {}
    ids = [sample_id(p, w, s) for p, w, s in
           zip(table["Metadata_Plate"], table["Metadata_Well"], table["_site"])]
    for channel in channels:
        file_col, loc_col = channel_columns(table.columns, channel, where)
        locations = table[loc_col] if loc_col else [""] * len(table)
        files = (table[file_col] if file_col
                 else [PurePosixPath(u.replace("\\", "/")).name for u in table[loc_col]])
        empty = [sid for sid, f in zip(ids, files) if not str(f).strip()]
        if empty:
            shown = ", ".join(empty[:3]) + (" ..." if len(empty) > 3 else "")
            raise DataError(f"{where}: channel {channel} has no file for {len(empty)} site(s) "
                            f"({shown}); fetch the plate again, or keep the sites that have "
                            "every channel (--set wells=... / sites_per_well=...).")
        for sid, name, location in zip(ids, files, locations):
            out.setdefault(sid, {})[channel] = relative_image_path(
                batch, plate, str(name).strip(), str(location), plate_folder)
    return out


def illum_file_names(illum_table, plate: str, channels: tuple[str, ...]) -> dict[str, str]:
    """The illumination-function file of each channel: as ``load_data_with_illum.csv`` names
    it (``FileName_Illum<X>``), else the Gallery's ``<plate>_Illum<X>.npy``."""
    names = {}
    for channel in channels:
        column = f"FileName_Illum{channel}"
        name = ""
        if illum_table is not None and column in illum_table.columns and len(illum_table):
            name = str(illum_table[column].iloc[0]).strip()
        names[channel] = name or f"{plate}_Illum{channel}.npy"
    return names


# --------------------------------------------------------------------------- plate maps


def _labels_for_plate(root: Path, batch: str, plate: str) -> dict[str, dict[str, str]] | None:
    """Per well, the label of each kind, from the batch's plate maps; None without them."""
    folder = root / "workspace" / "metadata" / "platemaps" / batch
    barcode_file = folder / "barcode_platemap.csv"
    if not barcode_file.is_file():
        return None
    barcodes = read_csv(barcode_file, str(barcode_file))
    for column in ("Assay_Plate_Barcode", "Plate_Map_Name"):
        if column not in barcodes.columns:
            raise DataError(f"{barcode_file} lacks column {column}.")
    match = barcodes[barcodes["Assay_Plate_Barcode"] == plate]
    if match.empty:
        return None
    map_name = match["Plate_Map_Name"].iloc[0]
    map_file = folder / "platemap" / f"{map_name}.txt"
    if not map_file.is_file():
        raise DataError(f"Plate map {map_file} (plate {plate}) is missing; fetch the batch's "
                        "metadata again.")
    platemap = read_csv(map_file, str(map_file), sep="\t")
    if "well_position" not in platemap.columns:
        raise DataError(f"Plate map {map_file} lacks column well_position.")
    platemap = _join_external(platemap, root, map_name)
    out = {}
    for _, row in platemap.iterrows():
        labels = {}
        for kind, columns in LABEL_COLUMNS.items():
            value = next((str(row[c]).strip() for c in columns
                          if c in platemap.columns and str(row[c]).strip()), "")
            labels[kind] = value or NO_LABEL
        out[normalise_well(str(row["well_position"]))] = labels
    return out


def _join_external(platemap, root: Path, map_name: str):
    """Add the external metadata (e.g. compound name and target) matching the plate map."""
    folder = root / "workspace" / "metadata" / "external_metadata"
    prefix = re.sub(r"_platemap$", "", map_name)
    if not folder.is_dir():
        return platemap
    for path in sorted(folder.glob(f"{prefix}*.tsv")):
        external = read_csv(path, str(path), sep="\t")
        key = "broad_sample" if "broad_sample" in external.columns else None
        if key is None or key not in platemap.columns:
            continue
        wanted = [c for cols in LABEL_COLUMNS.values() for c in cols
                  if c in external.columns and c not in platemap.columns]
        if wanted:
            extra = external[[key, *wanted]].drop_duplicates(key)
            platemap = platemap.merge(extra, on=key, how="left").fillna("")
    return platemap


# --------------------------------------------------------------------------- the source


@dataclass
class _Plate:
    batch: str
    plate: str
    load_data: Path
    illum: dict[str, Path | None]


def find_load_data(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The first of ``names`` present in ``folder``."""
    return next((folder / n for n in names if (folder / n).is_file()), None)


class JumpSource(CachedFileSource):
    """Sites of JUMP pilot plates from a local copy in the Cell Painting Gallery layout."""

    brightfield_normalised = True  # normalised here, with the same clip as the fluorescence

    def __init__(self, settings: JumpSettings | None = None, data_root: Path = Path("datasets")
                 ) -> None:
        self.settings = settings or JumpSettings()
        self.settings.validate()
        self.data_root = Path(data_root)
        self.root = source_settings.resolve_root(self.settings.root, self.data_root, NAME)
        self._lock = threading.Lock()
        self._built = False
        self._reference: tuple[tuple[int, int], np.dtype] | None = None
        self._illum_cache: dict[Path, np.ndarray] = {}
        self._fingerprint: str | None = None

    # -- index -------------------------------------------------------------------------------

    def _plates(self) -> list[_Plate]:
        base = self.root / "workspace" / "load_data_csv"
        found: dict[str, _Plate] = {}
        for folder in sorted(base.glob("*/*")) if base.is_dir() else []:
            load_data = (find_load_data(folder, LOAD_DATA)
                         or find_load_data(folder, LOAD_DATA_ILLUM))
            if folder.is_dir() and load_data is not None:
                found.setdefault(folder.name, _Plate(folder.parent.name, folder.name, load_data,
                                                     {}))
        wanted = self.settings.plates or tuple(found)
        if not found:
            raise DataError(f"No JUMP plates under {self.root} (no workspace/load_data_csv/"
                            "<batch>/<plate>/load_data.csv). Fetch some with `vsbench data fetch "
                            "jump-cpg0000 --plates BR00116991`, or point to a local copy with "
                            "`vsbench data prepare --dataset jump-cpg0000 --set root=PATH`.")
        missing = [p for p in wanted if p not in found]
        if missing:
            raise DataError(f"Plate(s) {', '.join(missing)} not found under {base} (found: "
                            f"{', '.join(found)}); fetch them or change --set plates=...")
        return [found[p] for p in wanted]

    def _build(self) -> None:
        with self._lock:
            if self._built:
                return
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
                                    plate_folder, where)
                files.update({sid: {ch: self.root / rel for ch, rel in chans.items()}
                              for sid, chans in paths.items()})
                illum.update(self._illum_for(plate))
                digests[plate.plate] = hashlib.sha256(plate.load_data.read_bytes()).hexdigest()
                labels = _labels_for_plate(self.root, plate.batch, plate.plate)
                unmapped = {k: NO_LABEL for k in LABEL_COLUMNS}
                for well, site in zip(table["Metadata_Well"], table["_site"]):
                    well_labels = {} if labels is None else labels.get(well, unmapped)
                    records.append(SampleRecord(sample_id(plate.plate, well, site), plate.plate,
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
            self._built = True

    def _illum_for(self, plate: _Plate) -> dict[tuple[str, str], Path | None]:
        """Each channel's illumination function for ``plate`` (None where not used)."""
        s = self.settings
        channels = s.planes + s.channels
        if s.illum == "off":
            return {(plate.plate, c): None for c in channels}
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
            out[(plate.plate, channel)] = path
        return out

    # -- DatasetSource -----------------------------------------------------------------------

    @property
    def info(self) -> DatasetInfo:
        self._build()
        return self._info

    def records(self) -> list[SampleRecord]:
        self._build()
        return list(self._records)

    def preprocessing(self) -> dict:
        """The settings that change the pixels this source yields, and which channels have an
        illumination function on every plate (with ``illum=auto`` the others are not
        corrected)."""
        self._build()
        s = self.settings
        corrected = [c for c in s.planes + s.channels
                     if all(p is not None for (_, ch), p in self._illum.items() if ch == c)]
        return {"illum": s.illum, "illum_channels": corrected, "clip": [s.clip_low, s.clip_high],
                "bit_depth": s.bit_depth, "normalise": "per image, per plane"}

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
        return Sample(record, percentile_normalise(bf, s.clip_low, s.clip_high),
                      percentile_normalise(fl, s.clip_low, s.clip_high))

    def fingerprint(self) -> str:
        self._build()
        if self._fingerprint is None:
            settings = {k: v for k, v in asdict(self.settings).items()
                        if k not in ("root", "source_url")}
            illum = sorted(f"{plate}/{channel}:{p.name}:{p.stat().st_size}"
                           for (plate, channel), p in self._illum.items() if p is not None)
            key = json.dumps({"source": NAME, "version": SOURCE_VERSION, "settings": settings,
                              "load_data": self._digests, "illum": illum,
                              "samples": len(self._records)}, sort_keys=True, default=list)
            self._fingerprint = f"{NAME}-" + hashlib.sha256(key.encode()).hexdigest()[:12]
        return self._fingerprint


def build_source(data_root: Path) -> JumpSource:
    """The factory: the source as configured in ``<data_root>/jump-cpg0000/source.json``."""
    return JumpSource(source_settings.load(JumpSettings, data_root, NAME), data_root)


@hookimpl
def vsbench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(
        name=NAME,
        description="JUMP Cell Painting pilot plates (Cell Painting Gallery cpg0000, source_4): "
                    "5 channels from 3 brightfield planes.",
        reference="Chandrasekaran et al., Nat. Methods 2024; s3://cellpainting-gallery/"
                  "cpg0000-jump-pilot",
        factory=build_source,
    )]
