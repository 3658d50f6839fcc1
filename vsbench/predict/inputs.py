"""New brightfield fields for ``vsbench predict``, read and normalised as the run's data were.

A field is ``[planes, H, W]``: one multi-page TIFF (or a single-plane TIFF/PNG when the run has
one plane) per field in a folder, or one position and time point of an OME-Zarr HCS plate
(the run's plane names chosen from its channels). Each is normalised by the run's dataset
source's own rule (:func:`normaliser`: the per-plane percentile clip of a file source's
settings, or the default 2nd / 98th percentile of the sources the torch dataset normalises),
then :func:`model_field` makes of it what the run's test fields were: resized to the
evaluation size, clamped, quantised like the cache where the run read one, and z-scored
where the source asks for it (:func:`vsbench.data.normalise.model_input`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from vsbench.data.cache import SCALE, CachedSource
from vsbench.data.images import SUFFIXES, read_planes
from vsbench.data.normalise import model_input, resize
from vsbench.data.preprocess import percentile_normalise
from vsbench.data.source import DatasetSource
from vsbench.errors import DataError

OME_SUFFIXES = (".ome.tif", ".ome.tiff")


@dataclass(frozen=True)
class InputField:
    """One field to predict: where it came from and its normalised planes."""

    sample_id: str
    origin: str  # the file, or plate.zarr/<row>/<col>/<fov> (time point t)
    brightfield: np.ndarray  # [planes, H, W] float32 on [0, 1]
    pixel_size: float | None = None  # micrometres per input pixel, where the file says
    position: tuple[str, str, str] | None = None  # (row, column, field) of a plate's position


def stem(path: Path) -> str:
    """A file's name without its image suffix (``x.ome.tif`` -> ``x``)."""
    name = path.name
    for suffix in (*OME_SUFFIXES, *SUFFIXES, ".npy"):
        if name.lower().endswith(suffix):
            return name[:-len(suffix)]
    return path.stem


def normaliser(source: DatasetSource) -> Callable[[np.ndarray], np.ndarray]:
    """How ``source`` normalises raw brightfield planes ``[planes, H, W]`` to [0, 1].

    A file source clips each plane at its settings' percentiles; a source the torch dataset
    normalises gets the default 2nd / 98th percentile clip. A source that normalises in its own
    way without saying how cannot be matched: a :class:`DataError` says so.
    """
    settings = getattr(source, "settings", None)
    if hasattr(settings, "clip_low") and hasattr(settings, "clip_high"):
        low, high = float(settings.clip_low), float(settings.clip_high)
        return lambda planes: percentile_normalise(planes, low, high)
    if not source.brightfield_normalised:
        return percentile_normalise
    raise DataError(f"the dataset source {type(source).__name__} normalises brightfield in its "
                    "own way, which vsbench predict cannot repeat on new files; predict a "
                    "registered dataset instead (--dataset NAME).")


def model_field(planes: np.ndarray, size: int | None, run_source: DatasetSource
                ) -> torch.Tensor:
    """What the method sees of normalised ``planes``: resized to ``size`` (None: kept at
    their own size) and clamped as :func:`vsbench.data.normalise.prepare_sample` does, rounded
    to the cache's uint16 steps where the run read a cache, and z-scored where the run's
    source asks for it."""
    image = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32))
    if size is not None:
        image = resize(image, size)
    image = image.clamp(0, 1).contiguous()
    if isinstance(run_source, CachedSource):  # the run's fields were stored as uint16
        image = torch.from_numpy(np.rint(image.numpy() * SCALE).astype(np.uint16)
                                 .astype(np.float32) / SCALE)
    return model_input(run_source, image)


def _check_planes(planes: np.ndarray, expected: Sequence[str], where: str) -> None:
    if planes.shape[0] != len(expected):
        raise DataError(f"{where} holds {planes.shape[0]} brightfield plane(s) but the run was "
                        f"trained on {len(expected)} ({', '.join(expected)}); give each field "
                        f"as one file of {len(expected)} planes in that order.")
    if not np.isfinite(planes).all():
        raise DataError(f"{where} has NaN or Inf pixels; fix or drop the file.")


def _tiff_pixel_size(path: Path) -> float | None:
    """PhysicalSizeX of an OME-TIFF, in micrometres, where the file records it."""
    if path.suffix.lower() not in (".tif", ".tiff"):
        return None
    try:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            text = tif.ome_metadata or ""
    except Exception:  # the planes were readable: only the metadata is not, so none is known
        return None
    found = re.search(r'PhysicalSizeX="([0-9.eE+-]+)"', text)
    unit = re.search(r'PhysicalSizeXUnit="([^"]+)"', text)
    if not found or (unit and unit.group(1) not in ("µm", "um", "\u00b5m")):
        return None
    return float(found.group(1))


def folder_files(folder: Path) -> list[Path]:
    """The image files of ``folder`` (sorted; one field each), checked to exist."""
    files = sorted(p for p in Path(folder).iterdir()
                   if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))
    if not files:
        raise DataError(f"--input {folder}: no .tif, .tiff or .png files; put one file per "
                        "field there (its planes in the run's order).")
    stems = [stem(p) for p in files]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise DataError(f"--input {folder}: several files for field {twice[0]} (e.g. .tif and "
                        ".png); keep one per field.")
    return files


def read_file_field(path: Path, planes: Sequence[str],
                    normalise: Callable[[np.ndarray], np.ndarray]) -> InputField:
    """One field from an image file (read_planes names the file when it cannot be read)."""
    raw = read_planes(path).astype(np.float32)
    _check_planes(raw, planes, f"Image {path}")
    return InputField(stem(path), str(path), normalise(raw), _tiff_pixel_size(path))


def zarr_fields(path: Path, planes: Sequence[str], z: str,
                normalise: Callable[[np.ndarray], np.ndarray]) -> Iterator[InputField]:
    """Every position and time point of an OME-Zarr HCS plate, its ``planes`` by name at Z
    slice ``z`` (an index, ``middle`` or ``max``)."""
    from vsbench.data.sources.omezarr import _open, _z_index

    plate = _open(Path(path))
    try:
        names = list(plate.channel_names)
        missing = [p for p in planes if p not in names]
        if missing:
            raise DataError(f"--input {path} has no channel {', '.join(missing)} (its channels: "
                            f"{', '.join(names)}); the run was trained on "
                            f"{', '.join(planes)}.")
        index = [names.index(p) for p in planes]
        plate_name = Path(path).name.removesuffix(".zarr") or "plate"
        for where, position in plate.positions():
            row, col, fov = where.split("/")
            data = position.data
            size = _pixel_size(position)
            for t in range(data.shape[0]):
                depth = data.shape[2]
                zi = _z_index(z, depth, f"{path}/{where}")
                stack = [np.asarray(data[t, c]) for c in index]
                raw = np.stack([s.max(axis=0) if zi is None else s[zi] for s in stack])
                raw = raw.astype(np.float32)
                label = f"{path}/{where} (time point {t})"
                _check_planes(raw, planes, label)
                suffix = f"_t{t}" if data.shape[0] > 1 else ""
                yield InputField(f"{plate_name}_{row}{col}_s{fov}{suffix}", label,
                                 normalise(raw), size, (row, col, fov))
    finally:
        plate.close()


def _pixel_size(position) -> float | None:
    """The X scale of a position (micrometres per pixel) where its metadata gives one."""
    try:
        scale = position.scale
        return float(scale[-1]) if scale and float(scale[-1]) != 1.0 else None
    except Exception:  # no coordinate transformations recorded: unknown
        return None
