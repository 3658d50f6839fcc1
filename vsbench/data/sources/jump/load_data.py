"""The ``load_data.csv`` files of the Cell Painting Gallery: which image file each site and
channel has, and which illumination function each channel is divided by.

Files are taken by column name: ``URL_Orig<X>`` alone in the Gallery's current, uncompressed
tables (since 2025), ``FileName_Orig<X>`` with ``PathName_Orig<X>`` in the older ``.csv.gz``
ones; never from the Phenix channel number or the file order. Used by the
``jump-cpg0000`` source (:mod:`vsbench.data.sources.jump.source`) and by ``vsbench data fetch``
(:mod:`vsbench.data.sources.jump.fetch`), which downloads what these files name.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from vsbench.data.source import DataError

LOAD_DATA = ("load_data.csv", "load_data.csv.gz")
LOAD_DATA_ILLUM = ("load_data_with_illum.csv", "load_data_with_illum.csv.gz")
METADATA = ("Metadata_Plate", "Metadata_Well", "Metadata_Site")


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
    # Name the column of the table's own format first (URL_ in the Gallery's current tables).
    first, second = ((url_col, file_col) if any(c.startswith("URL_Orig") for c in have)
                     else (file_col, url_col))
    raise DataError(f"{where} has no column {first} (nor {second}) for channel '{channel}'; "
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
                plate_folder: str | None, where: str, key: str | None = None
                ) -> dict[str, dict[str, str]]:
    """For every row (by sample id), each channel's path relative to the source root.

    ``key`` names the plate in the sample ids (default: the row's ``Metadata_Plate``; a
    barcode that several batches hold is keyed by its batch too). A channel without a file
    for some sites is an error naming those sites.
    """
    out: dict[str, dict[str, str]] = {}
    ids = [sample_id(key or p, w, s) for p, w, s in
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
    it (``FileName_Illum<X>``, or the file name of the ``URL_Illum<X>`` that the Gallery's
    current tables have), else the Gallery's ``<plate>_Illum<X>.npy``."""
    names = {}
    for channel in channels:
        name = ""
        for column in (f"FileName_Illum{channel}", f"URL_Illum{channel}"):
            if illum_table is not None and column in illum_table.columns and len(illum_table):
                value = str(illum_table[column].iloc[0]).strip()
                name = PurePosixPath(value.replace("\\", "/")).name if value else ""
                break
        names[channel] = name or f"{plate}_Illum{channel}.npy"
    return names


def find_load_data(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The first of ``names`` present in ``folder``."""
    return next((folder / n for n in names if (folder / n).is_file()), None)
