"""Reading microscopy image files: TIFF (plain, multi-page, OME-TIFF) and PNG.

Every reader returns one 2-D plane with its original dtype; problems (missing file, corrupt file,
colour image, a multi-plane file without a plane index) become a one-line
:class:`~vsbench.data.source.DataError` naming the file and what to do. Checks that compare a file
with the rest of its dataset (bit depth, field size) are here too, so every source words them
the same way.
"""

from __future__ import annotations

import logging
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from vsbench.data.source import DataError

TIFF_SUFFIXES = (".tif", ".tiff")
PNG_SUFFIXES = (".png",)
SUFFIXES = TIFF_SUFFIXES + PNG_SUFFIXES


def split_plane(spec: str) -> tuple[str, int | None]:
    """Split ``"file.ome.tif#2"`` into the file and the 0-based plane index (None if absent)."""
    name, sep, index = spec.rpartition("#")
    if sep and index.isdigit():
        return name, int(index)
    return spec, None


@contextmanager
def _quiet_tifffile() -> Iterator[None]:
    # tifffile logs a warning per bad tag of a damaged file before it raises; the DataError we
    # raise says it once.
    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _tiff_planes(path: Path) -> np.ndarray:
    """All planes of a TIFF's first series as ``[n, H, W]`` (Y and X last, other axes merged)."""
    import tifffile

    with _quiet_tifffile(), tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        axes, data = series.axes, series.asarray()
    if "Y" not in axes or "X" not in axes:
        raise DataError(f"Image {path}: TIFF axes '{axes}' have no Y and X; save one 2-D image "
                        "(or a stack of them) per file.")
    order = [i for i, a in enumerate(axes) if a not in "YX"] + [axes.index("Y"), axes.index("X")]
    data = np.transpose(data, order)
    return data.reshape(-1, *data.shape[-2:])


def _png_planes(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        mode = image.mode
        if mode not in ("L", "I;16", "I;16B", "I;16L", "I", "F"):
            raise DataError(f"Image {path}: PNG mode {mode} is not a single grey channel; save "
                            "each channel as its own 8- or 16-bit greyscale file.")
        data = np.asarray(image)
    if mode == "I" and data.size and 0 <= data.min() and data.max() < 2**16:
        data = data.astype(np.uint16)  # Pillow opens some 16-bit PNGs as 32-bit integers
    return data[None]


# Leading bytes of the formats a microscopy file is most often mistaken for (or saved as).
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG", ".png"),
    (b"II*\x00", "TIFF", ".tif"), (b"MM\x00*", "TIFF", ".tif"),
    (b"II+\x00", "TIFF", ".tif"), (b"MM\x00+", "TIFF", ".tif"),  # BigTIFF
    (b"\xff\xd8\xff", "JPEG", ".jpg"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000", ".jp2"),
    (b"GIF8", "GIF", ".gif"), (b"BM", "BMP", ".bmp"),
    (b"\x93NUMPY", "NumPy array", ".npy"),
    (b"PK\x03\x04", "ZIP archive", ".zip"), (b"\x1f\x8b", "gzip archive", ".gz"),
)


def sniff_format(path: Path) -> tuple[str, str] | None:
    """The format a file's first bytes say it is, and that format's usual suffix (None when
    they match no known signature, e.g. a truncated or empty file)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    for magic, name, suffix in SIGNATURES:
        if head.startswith(magic):
            return name, suffix
    return None


def _check_format(path: Path, suffix: str) -> None:
    """Raise when the file's signature says another format than its suffix: a PNG renamed
    ``.tif`` is not corrupt, and downloading it again would not help."""
    found = sniff_format(path)
    if found is None:
        return
    name, usual = found
    expected = "TIFF" if suffix in TIFF_SUFFIXES else "PNG"
    if name == expected:
        return
    fix = (f"rename it to {usual} (and its manifest entry)" if usual in SUFFIXES else
           "convert it to TIFF or PNG")
    raise DataError(f"Image {path} is a {name} file named {suffix}; {fix}.")


def read_planes(path: Path) -> np.ndarray:
    """Every plane of an image file as ``[n, H, W]`` in the file's own dtype."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Image file {path} is missing; fetch or copy it, or remove the sample "
                        "from the manifest.")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(f"Image {path}: unsupported format '{suffix}'; use TIFF "
                        "(.tif/.tiff, also OME-TIFF and multi-page) or PNG.")
    _check_format(path, suffix)
    try:
        planes = _tiff_planes(path) if suffix in TIFF_SUFFIXES else _png_planes(path)
    except DataError:
        raise
    except Exception as exc:  # tifffile/Pillow raise many types for damaged files
        raise DataError(f"Image {path} cannot be read ({type(exc).__name__}: {exc}); the file "
                        "is corrupt or truncated: download or copy it again.") from None
    if planes.ndim != 3 or min(planes.shape) == 0:
        raise DataError(f"Image {path} has shape {planes.shape}; expected 2-D planes.")
    return planes


def read_plane(path: Path, plane: int | None = None) -> np.ndarray:
    """One 2-D plane of an image file: the only one, or plane ``plane`` of a stack.

    A float plane with a NaN or infinite pixel is refused here, naming the file: one +Inf pixel
    would make the percentile normalisation NaN and the prepared image meaningless.
    """
    planes = read_planes(path)
    if plane is None:
        if len(planes) != 1:
            raise DataError(f"Image {path} holds {len(planes)} planes; name one as "
                            f"'{Path(path).name}#0' .. '#{len(planes) - 1}'.")
        image = planes[0]
    elif not 0 <= plane < len(planes):
        raise DataError(f"Image {path} has {len(planes)} plane(s); plane #{plane} does not exist.")
    else:
        image = planes[plane]
    check_finite(image, path if plane is None else f"{path}#{plane}")
    return image


def check_finite(image: np.ndarray, path: Path | str) -> None:
    """Raise if a float ``image`` has any NaN, +Inf or -Inf pixel (integer images cannot)."""
    if image.dtype.kind not in "f":
        return
    bad = ~np.isfinite(image)
    if bad.any():
        kinds = [name for name, hit in (("NaN", np.isnan(image).any()),
                                        ("+Inf", np.isposinf(image).any()),
                                        ("-Inf", np.isneginf(image).any())) if hit]
        raise DataError(f"Image {path} has {int(bad.sum())} non-finite pixel(s) "
                        f"({', '.join(kinds)}); every pixel must be a finite number: fix the "
                        "file or remove its sample from the manifest.")


def bit_depth(dtype: np.dtype) -> str:
    """A readable name for a pixel type, e.g. ``16-bit (uint16)``."""
    dtype = np.dtype(dtype)
    kind = "float" if dtype.kind == "f" else "bit"
    return f"{dtype.itemsize * 8}-{kind} ({dtype.name})"


def check_dtype(image: np.ndarray, expected: np.dtype, path: Path, why: str) -> None:
    """Raise if ``image`` is not of the ``expected`` pixel type (e.g. 8-bit among 16-bit)."""
    if image.dtype != np.dtype(expected):
        raise DataError(f"Image {path} is {bit_depth(image.dtype)} but {why} "
                        f"{bit_depth(expected)}; convert the files to one bit depth.")


def check_shape(image: np.ndarray, expected: tuple[int, int], path: Path, why: str) -> None:
    """Raise if ``image`` is not ``expected`` (H, W): mixed field sizes are an error."""
    if tuple(image.shape) != tuple(expected):
        h, w = image.shape
        raise DataError(f"Image {path} is {h} x {w} pixels but {why} {expected[0]} x "
                        f"{expected[1]}; crop or resample the files to one field size.")


def probe(path: Path, plane: int | None = None) -> tuple[tuple[int, int], np.dtype]:
    """Field size ``(H, W)`` and pixel type of a plane, from the file's header where the format
    allows (TIFF, and PNG but for 32-bit integer ones), else by reading the plane."""
    path = Path(path)
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            import tifffile

            with _quiet_tifffile(), tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                sizes = dict(zip(series.axes, series.shape))
                return (sizes["Y"], sizes["X"]), np.dtype(series.dtype)
        from PIL import Image

        modes = {"L": np.uint8, "I;16": np.uint16, "I;16B": np.uint16, "I;16L": np.uint16,
                 "F": np.float32}
        with Image.open(path) as image:
            if image.mode in modes:
                return (image.height, image.width), np.dtype(modes[image.mode])
    except Exception:  # noqa: BLE001 - an unusual header: read the plane (which names errors)
        pass
    image = read_plane(path, plane)
    return tuple(image.shape), image.dtype


def check_odd_file(files: Iterable[tuple[Path, int | None]], dtype_of: str | None = None
                   ) -> None:
    """Raise naming the file whose field size (or, with ``dtype_of``, the name of the files'
    column, pixel type) differs from that of most of ``files``; a no-op when all agree.

    Called when a file disagrees with the reference (the first sample's): the reference itself
    may be the odd one, so the dataset's majority decides which file to name.
    """
    files = list(dict.fromkeys(files))
    found = {f: probe(*f) for f in files}
    index = 1 if dtype_of else 0
    counts = Counter(v[index] for v in found.values())
    if len(counts) < 2:
        return
    common, count = counts.most_common(1)[0]
    odd = [f for f in files if found[f][index] != common]
    (path, plane), value = odd[0], found[odd[0]][index]
    name = f"{path}#{plane}" if plane is not None else str(path)
    others = f" ({len(odd)} files differ)" if len(odd) > 1 else ""
    if dtype_of:
        raise DataError(f"Image {name} is {bit_depth(value)} but {count} of the {len(files)} "
                        f"{dtype_of} images are {bit_depth(common)}{others}; convert the files "
                        "to one bit depth.")
    raise DataError(f"Image {name} is {value[0]} x {value[1]} pixels but {count} of the "
                    f"dataset's {len(files)} images are {common[0]} x {common[1]}{others}; crop "
                    "or resample the files to one field size.")
