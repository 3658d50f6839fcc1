"""Class labels of JUMP wells from the Gallery's plate maps and external metadata.

``workspace/metadata/platemaps/<batch>/barcode_platemap.csv`` names each plate's plate map
(``platemap/<name>.txt``, one row per well); ``workspace/metadata/external_metadata/
<prefix>*.tsv`` adds e.g. the compound's name and target. The labels feed class-guided methods.
"""

from __future__ import annotations

import re
from pathlib import Path

from vsbench.data.sources.jump.load_data import normalise_well, read_csv
from vsbench.data.source import DataError

# Label kinds for class-guided methods and the plate-map / external-metadata columns they come
# from, in order of preference (compound plates name the compound and its target; CRISPR and ORF
# plates the reagent and its gene).
LABEL_COLUMNS = {"perturbation": ("pert_iname", "broad_sample"), "target": ("target", "gene")}
NO_LABEL = "none"  # wells without a perturbation (e.g. DMSO negative controls) or annotation


def labels_for_plate(root: Path, batch: str, plate: str) -> dict[str, dict[str, str]] | None:
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
