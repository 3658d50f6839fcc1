"""Miniature datasets on disk for the data tests and the cache benchmark.

``make_jump_plate`` writes one plate in the exact Cell Painting Gallery layout of the JUMP pilot
(``cpg0000-jump-pilot/source_4``): Phenix file names, 16-bit TIFFs, the plate's
``load_data.csv`` and ``load_data_with_illum.csv`` as the Gallery publishes them since 2025
(uncompressed, images named by ``URL_Orig<X>`` columns only, illumination functions by
``URL_Illum<X>``) or, with ``legacy=True``, the older ``.csv.gz`` with ``FileName_`` /
``PathName_`` columns (in the column order of the Gallery's generator, which is not the channel
order), illumination functions, and the batch's plate map with its external metadata.

Pixel values are chosen so that the expected output can be computed by hand: after dividing by
its illumination function, every plane is a permutation of ``0 .. n-1`` (n = pixels), whose
q-th percentile is exactly ``q / 100 * (n - 1)``.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd

BATCH = "2020_11_04_CPJUMP1"
PLATE = "BR00116991"
TIMESTAMP = "2020-11-05T19_51_35"
# The Phenix channel of each load_data.csv name in the pilot's source_4 plates. Only the test
# writes files with it: the source must find channels through load_data.csv.
PHENIX = {"Mito": 1, "AGP": 2, "RNA": 3, "ER": 4, "DNA": 5, "HighZBF": 6, "LowZBF": 7,
          "Brightfield": 8}
CSV_ORDER = ("ER", "AGP", "Mito", "DNA", "RNA", "Brightfield", "HighZBF", "LowZBF")
COMPOUND = "BRD-K11129031-001-01-9"


def well_rc(well: str) -> tuple[int, int]:
    """``B03`` -> (2, 3): Phenix row and column numbers."""
    return ord(well[0]) - ord("A") + 1, int(well[1:])


def phenix_name(well: str, site: int, channel: str) -> str:
    row, col = well_rc(well)
    return f"r{row:02d}c{col:02d}f{site:02d}p01-ch{PHENIX[channel]}sk1fk1fl1.tiff"


def ramp(channel: str, site: int, size: int) -> np.ndarray:
    """The illumination-corrected plane of ``channel`` at ``site``: a permutation of 0..n-1
    whose orientation identifies the channel (and the site)."""
    base = np.arange(size * size, dtype=np.int64).reshape(size, size)
    k = PHENIX[channel]
    out = np.rot90(base, k % 4)
    if k >= 4:
        out = out[:, ::-1]
    return np.ascontiguousarray(out.T if site % 2 == 0 else out)


def illum_function(channel: str, size: int) -> np.ndarray:
    """A coarse illumination function: 1 on the left half, 2 (or 3) on the right."""
    function = np.ones((size, size), dtype=np.float64)
    function[:, size // 2:] = 2.0 if PHENIX[channel] % 2 else 3.0
    return function


def expected_plane(channel: str, site: int, size: int, low: float = 2, high: float = 98
                   ) -> np.ndarray:
    """Hand-computed preprocessing of one plane: percentiles of a permutation of 0..n-1."""
    n = size * size
    lo, hi = low / 100 * (n - 1), high / 100 * (n - 1)
    return np.clip((ramp(channel, site, size) - lo) / (hi - lo), 0, 1)


GALLERY = "s3://cellpainting-gallery/cpg0000-jump-pilot/source_4"


def plate_folder(plate: str = PLATE, timestamp: str = TIMESTAMP, measurement: int = 1) -> str:
    return f"{plate}__{timestamp}-Measurement{measurement}"


def write_tiff(path: Path, image: np.ndarray) -> None:
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, image)


def write_csv_gz(path: Path, table: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    table.to_csv(buf, index=False)
    with gzip.open(path, "wt") as handle:
        handle.write(buf.getvalue())


def load_data_table(root_url: str, plate: str, wells, sites: int, timestamp: str = TIMESTAMP,
                    illum: bool = False, batch: str = BATCH, measurement: int = 1,
                    legacy: bool = True) -> pd.DataFrame:
    """Rows of ``load_data.csv`` as the Gallery's generator writes them: ``URL_`` columns only
    (the current tables) or, with ``legacy``, ``FileName_`` and ``PathName_`` columns."""
    folder = (f"{root_url}/images/{batch}/images/{plate_folder(plate, timestamp, measurement)}"
              "/Images")
    illum_folder = f"{root_url}/images/{batch}/illum/{plate}"
    rows = []
    for well in wells:
        row_no, col_no = well_rc(well)
        for site in range(1, sites + 1):
            row = {}
            for channel in CSV_ORDER:
                if legacy:
                    row[f"FileName_Orig{channel}"] = phenix_name(well, site, channel)
                    row[f"PathName_Orig{channel}"] = folder
                else:
                    row[f"URL_Orig{channel}"] = f"{folder}/{phenix_name(well, site, channel)}"
            if illum:
                for channel in CSV_ORDER:
                    name = f"{plate}_Illum{channel}.npy"
                    if legacy:
                        row[f"FileName_Illum{channel}"] = name
                        row[f"PathName_Illum{channel}"] = illum_folder
                    else:
                        row[f"URL_Illum{channel}"] = f"{illum_folder}/{name}"
            row.update({"Metadata_Plate": plate, "Metadata_Well": well,
                        "Metadata_Site": str(site), "Metadata_Col": str(col_no),
                        "Metadata_Row": str(row_no)})
            rows.append(row)
    return pd.DataFrame(rows)


def make_jump_plate(root: Path, plate: str = PLATE, wells=("A01", "A02", "A03"), sites: int = 2,
                    size: int = 24, timestamp: str = TIMESTAMP, with_illum: bool = True,
                    with_platemap: bool = True, random_pixels: bool = False, batch: str = BATCH,
                    measurement: int = 1, legacy: bool = False, seed: int = 0) -> Path:
    """Write one plate under ``root`` (the ``source_4`` folder) and return ``root``.

    ``random_pixels`` writes noise instead of the hand-computable ramps (for realistic field
    sizes, e.g. 1080 px, whose ramps would not fit 16 bits). ``legacy`` writes the older
    ``.csv.gz`` tables instead of the current ones; ``batch`` and ``measurement`` name the
    folders (``<plate>__<timestamp>-Measurement<N>``); ``seed`` seeds the random pixels.
    """
    root = Path(root)
    if not random_pixels and size * size * 3 >= 2**16:
        raise ValueError("ramps of this size do not fit 16 bits; use random_pixels=True")
    rng = np.random.default_rng(seed)
    image_dir = (root / "images" / batch / "images" / plate_folder(plate, timestamp, measurement)
                 / "Images")
    illum_dir = root / "images" / batch / "illum" / plate
    for well in wells:
        for site in range(1, sites + 1):
            for channel in PHENIX:
                function = illum_function(channel, size) if with_illum else 1.0
                if random_pixels:
                    raw = rng.integers(100, 4000, (size, size), dtype=np.uint16)
                else:
                    raw = np.rint(ramp(channel, site, size) * function).astype(np.uint16)
                write_tiff(image_dir / phenix_name(well, site, channel), raw)
    if with_illum:
        illum_dir.mkdir(parents=True, exist_ok=True)
        for channel in PHENIX:
            np.save(illum_dir / f"{plate}_Illum{channel}.npy", illum_function(channel, size))
    csv_dir = root / "workspace" / "load_data_csv" / batch / plate
    options = dict(batch=batch, measurement=measurement, legacy=legacy)
    if legacy:
        # PathName as written on the machine that ran CellProfiler: only the plate folder
        # onwards is meaningful locally.
        foreign = f"/home/ubuntu/bucket/projects/{batch}"
        write_csv_gz(csv_dir / "load_data.csv.gz",
                     load_data_table(foreign, plate, wells, sites, timestamp, **options))
        write_csv_gz(csv_dir / "load_data_with_illum.csv.gz",
                     load_data_table(foreign, plate, wells, sites, timestamp, illum=True,
                                     **options))
    else:
        csv_dir.mkdir(parents=True, exist_ok=True)
        load_data_table(GALLERY, plate, wells, sites, timestamp, **options).to_csv(
            csv_dir / "load_data.csv", index=False)
        load_data_table(GALLERY, plate, wells, sites, timestamp, illum=True, **options).to_csv(
            csv_dir / "load_data_with_illum.csv", index=False)
    if with_platemap:
        write_platemap(root, [plate], wells, batch)
    return root


def write_platemap(root: Path, plates, wells, batch: str = BATCH) -> None:
    """The batch's barcode_platemap.csv, its compound plate map and external metadata: the
    first well is a DMSO control (no broad_sample), the others one compound."""
    meta = root / "workspace" / "metadata"
    maps = meta / "platemaps" / batch
    (maps / "platemap").mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"Assay_Plate_Barcode": list(plates),
                  "Plate_Map_Name": ["JUMP-Target-1_compound_platemap"] * len(plates)}
                 ).to_csv(maps / "barcode_platemap.csv", index=False)
    pd.DataFrame({"plate_map_name": "JUMP-Target-1_compound_platemap",
                  "well_position": list(wells),
                  "broad_sample": ["" if i == 0 else COMPOUND for i in range(len(wells))],
                  "solvent": "DMSO"}).to_csv(maps / "platemap" /
                                             "JUMP-Target-1_compound_platemap.txt",
                                             sep="\t", index=False)
    (meta / "external_metadata").mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"broad_sample": ["", COMPOUND], "InChIKey": ["", "QKXYZ-UHFFFAOYSA-N"],
                  "pert_iname": ["DMSO", "tozasertib"], "pubchem_cid": ["", "5494449"],
                  "target": ["", "AURKA"], "pert_type": ["control", "trt"],
                  "control_type": ["negcon", ""], "smiles": ["", "C"]}
                 ).to_csv(meta / "external_metadata" / "JUMP-Target-1_compound_metadata.tsv",
                          sep="\t", index=False)


def rewrite_load_data(root: Path, plate: str, change, batch: str = BATCH) -> None:
    """Apply ``change(table) -> table`` to a plate's load_data.csv (or .csv.gz) (for bad-input
    tests)."""
    folder = root / "workspace" / "load_data_csv" / batch / plate
    path = next(p for p in (folder / "load_data.csv", folder / "load_data.csv.gz") if p.is_file())
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if path.suffix == ".gz":
        write_csv_gz(path, change(table))
    else:
        change(table).to_csv(path, index=False)


def nuclei_field(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A nuclear stain (16-bit) and a brightfield plane (8-bit) of the same few round cells:
    the brightfield shows each nucleus as a darker disc, so the mapping is learnable."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    dna = np.zeros((size, size))
    for _ in range(4):
        cy, cx = rng.uniform(4, size - 4, 2)
        radius = rng.uniform(3, 6)
        dna += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
    dna_u16 = np.rint(200 + 3000 * dna + rng.normal(0, 20, dna.shape)).clip(0, 65535)
    bf_u8 = np.rint(180 - 60 * dna + rng.normal(0, 3, dna.shape)).clip(0, 255)
    return dna_u16.astype(np.uint16), bf_u8.astype(np.uint8)


def make_folder_dataset(root: Path, plates=("P1", "P2", "P3"), wells=("A01", "B02"),
                        sites: int = 2, size: int = 48, manifest: bool = True) -> Path:
    """A lab's own plates with one nuclear channel (16-bit TIFF) and one brightfield plane
    (8-bit PNG): a CSV manifest, or the folder layout <plate>/<well>/<site>/{bf,fl}_<name>."""
    from PIL import Image

    root = Path(root)
    rows = []
    for p, plate in enumerate(plates):
        for w, well in enumerate(wells):
            for site in range(1, sites + 1):
                dna, bf = nuclei_field(100 * p + 10 * w + site, size)
                if manifest:
                    dna_rel = f"{plate}/{well}_s{site}_hoechst.tif"
                    bf_rel = f"{plate}/{well}_s{site}_bf.png"
                else:
                    dna_rel = f"{plate}/{well}/{site}/fl_DNA.tif"
                    bf_rel = f"{plate}/{well}/{site}/bf_BF.png"
                write_tiff(root / dna_rel, dna)
                Image.fromarray(bf).save(root / bf_rel)
                rows.append({"plate": plate, "well": well, "site": site, "bf_BF": bf_rel,
                             "fl_DNA": dna_rel,
                             "label_perturbation": "DMSO" if w == 0 else "nocodazole"})
    if manifest:
        pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return root
