"""``ome-zarr``: an OME-Zarr high-content-screening plate, as the live-cell virtual-staining
community (VisCy / Cytoland) keeps its data, read with ``iohub``.

The plate (``root``, a ``.zarr`` folder) holds rows, columns and fields of view; each field's
image is ``[T, C, Z, Y, X]`` with channel names in the OME metadata. A sample is one field at
one time point: wells are ``<row><column>`` (``A1``), sites the field names, and a plate with
several time points gives one sample per time point (``..._s0_t1``). Input planes and target
channels are chosen by name (``--set planes=Phase3D --set channels=Nuclei,Membrane``); each is
one Z slice (``z=<index>``, ``z=middle``) or the maximum projection over Z (``z=max``).

Preprocessing as for the other file sources: each plane clipped at its own percentiles and
rescaled to [0, 1]. The cache, the split and the fingerprint (which hashes the store's files)
are those of :class:`vsbench.data.sources.files.FileSource`. No rotation or flip is applied
unless ``symmetry`` says so: phase and DIC are often directional.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vsbench.data.symmetry import check_symmetry
from vsbench.data.digests import file_digests
from vsbench.data.sources.files import FileSource, validate_clip
from vsbench.data.source import DataError, DatasetInfo, Sample, SampleRecord
from vsbench.errors import ConfigError
from vsbench.layout import dataset_folder
from vsbench.spec import DatasetSpec, hookimpl

NAME = "ome-zarr"
SOURCE_VERSION = 1  # bump when loading or preprocessing changes what the source yields


@dataclass
class OmeZarrSettings:
    """Settings of ``ome-zarr`` (``--set key=value`` on ``vsbench data prepare``).

    Attributes:
        root: the plate store (``plate.zarr``); empty means ``<data_root>/ome-zarr``.
        planes: input (brightfield, phase, ...) channel names, as the OME metadata name them.
        channels: target (fluorescence) channel names.
        z: the Z slice: an index (0-based), ``middle``, or ``max`` (maximum projection).
        timepoints: ``all`` (each time point a sample) or ``first``.
        clip_low, clip_high: per-image percentile clip before rescaling to [0, 1].
        symmetry: the transforms augmentation may draw (``none``, ``rot180``, ``flips``,
            ``dihedral``); ``none`` unless you know the contrast is not directional.
    """

    root: str = ""
    planes: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    z: str = "middle"
    timepoints: str = "all"
    clip_low: float = 2.0
    clip_high: float = 98.0
    symmetry: str = "none"

    def validate(self) -> None:
        """Raise :class:`ConfigError` for inconsistent settings."""
        validate_clip(self.clip_low, self.clip_high)
        check_symmetry(self.symmetry)
        if self.z not in ("middle", "max") and not str(self.z).lstrip("-").isdigit():
            raise ConfigError(f"--set z={self.z}: use a slice index (0, 1, ...), middle or max.")
        if self.timepoints not in ("all", "first"):
            raise ConfigError(f"--set timepoints={self.timepoints}: use all or first.")
        both = set(self.planes) & set(self.channels)
        if both:
            raise ConfigError(f"--set planes / channels: {', '.join(sorted(both))} cannot be "
                              "input and target at once.")


def _open(path: Path):
    try:
        from iohub.ngff import open_ome_zarr
    except ImportError:  # declared, but a trimmed install may lack it
        raise DataError("Reading OME-Zarr needs iohub: pip install iohub.") from None
    if not path.exists():
        raise DataError(f"OME-Zarr plate {path} does not exist; point to it with `vsbench data "
                        "prepare --dataset ome-zarr --set root=PATH/plate.zarr`.")
    try:
        plate = open_ome_zarr(path, layout="hcs", mode="r")
    except Exception as exc:  # iohub raises KeyError, ValueError, zarr errors on a bad store
        raise DataError(f"{path} cannot be read as an OME-Zarr HCS plate ({type(exc).__name__}: "
                        f"{exc}); it needs plate metadata (rows, columns, wells) as iohub or "
                        "ome-zarr write it.") from None
    return plate


def _z_index(setting: str, depth: int, where: str) -> int | None:
    """The Z slice ``setting`` names in a stack of ``depth`` (None: the maximum projection)."""
    if setting == "max":
        return None
    if setting == "middle":
        return depth // 2
    index = int(setting)
    if not -depth <= index < depth:
        raise DataError(f"{where} has {depth} Z slice(s); --set z={setting} is outside them.")
    return index % depth


class OmeZarrSource(FileSource):
    """Fields (and time points) of an OME-Zarr HCS plate; the channel set is chosen by name."""

    NAME, SETTINGS, VERSION = NAME, OmeZarrSettings, SOURCE_VERSION

    def _index(self) -> None:
        s = self.settings
        if not s.planes or not s.channels:
            raise DataError(f"Dataset {NAME} needs its input and target channels by name: "
                            "--set planes=Phase3D --set channels=Nuclei,Membrane (the names in "
                            "the plate's OME metadata).")
        plate = _open(self.root)
        try:
            names = list(plate.channel_names)
            unknown = [c for c in s.planes + s.channels if c not in names]
            if unknown:
                raise DataError(f"{self.root} has no channel {', '.join(unknown)} (its channels: "
                                f"{', '.join(names)}); change --set planes=... / channels=...")
            plate_name = self.root.name.removesuffix(".zarr") or "plate"
            records, where, shapes = [], {}, {}
            for path, position in plate.positions():
                row, col, fov = path.split("/")
                shape = tuple(position.data.shape)
                if len(shape) != 5:
                    raise DataError(f"{self.root}/{path}: image has axes {position.axis_names}, "
                                    "expected t, c, z, y, x.")
                shapes[path] = shape
                times = range(shape[0] if s.timepoints == "all" else 1)
                for t in times:
                    suffix = f"_t{t}" if shape[0] > 1 and s.timepoints == "all" else ""
                    sid = f"{plate_name}_{row}{col}_s{fov}{suffix}"
                    records.append(SampleRecord(sid, plate_name, f"{row}{col}", f"{fov}{suffix}"))
                    where[sid] = (path, t)
        finally:
            plate.close()
        if not records:
            raise DataError(f"{self.root} holds no fields of view (no wells with positions).")
        sizes = {shape[-2:] for shape in shapes.values()}
        if len(sizes) > 1:
            odd = next(p for p, shape in shapes.items() if shape[-2:] != shapes[next(iter(shapes))
                                                                                ][-2:])
            raise DataError(f"{self.root}/{odd} is {shapes[odd][-2]} x {shapes[odd][-1]} pixels "
                            "but other fields differ; all fields must be one size.")
        self._channel_index = {c: names.index(c) for c in s.planes + s.channels}
        self._where = where
        self._shapes = shapes
        self._records = sorted(records, key=lambda r: r.sample_id)
        self._info = DatasetInfo(name=NAME, channels=tuple(s.channels), planes=tuple(s.planes))

    def preprocessing(self) -> dict:
        """The settings that change the pixels this source yields."""
        s = self.settings
        return {"z": s.z, "clip": [s.clip_low, s.clip_high], "normalise": "per image, per plane"}

    def _planes(self, position, t: int, names: tuple[str, ...], where: str) -> np.ndarray:
        depth = position.data.shape[2]
        z = _z_index(self.settings.z, depth, where)
        out = []
        for name in names:
            c = self._channel_index[name]
            try:
                stack = np.asarray(position.data[t, c] if z is None else position.data[t, c, z])
            except Exception as exc:  # a missing or corrupt chunk
                raise DataError(f"{where}: channel {name} cannot be read ({type(exc).__name__}: "
                                f"{exc}).") from None
            out.append(stack.max(axis=0) if z is None else stack)
        planes = np.stack(out).astype(np.float32)
        if not np.isfinite(planes).all():
            raise DataError(f"{where}: NaN or Inf pixels in {', '.join(names)}; fix or drop the "
                            "field.")
        return planes

    def load(self, record: SampleRecord) -> Sample:
        self._build()
        path, t = self._where[record.sample_id]
        where = f"{self.root}/{path} (time point {t})"
        with self._lock:  # one reader at a time: zarr stores are opened per call
            plate = _open(self.root)
            try:
                position = plate[path]
                bf = self._planes(position, t, self.settings.planes, where)
                fl = self._planes(position, t, self.settings.channels, where)
            finally:
                plate.close()
        return self._sample(record, bf, fl)

    def _fingerprint_parts(self) -> dict[str, Any]:
        """Every file of the store, by content (digests remembered between runs)."""
        files = sorted(p for p in self.root.rglob("*") if p.is_file())
        digests = file_digests(files, dataset_folder(self.data_root, NAME).digests_file)
        contents = "".join(f"{p.relative_to(self.root).as_posix()}:{digests.get(str(p), '')}"
                           for p in files)
        return {"store": hashlib.sha256(contents.encode()).hexdigest(),
                "samples": len(self._records)}


@hookimpl
def vsbench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(
        name=NAME,
        description="An OME-Zarr HCS plate (VisCy / Cytoland layout, read with iohub): input "
                    "and target channels by name, a Z slice or max projection, time points as "
                    "samples.",
        reference="OME-NGFF HCS; iohub (czbiohub-sf/iohub)",
        factory=OmeZarrSource.from_data_root,
    )]
