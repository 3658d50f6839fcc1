"""What ``vsbench datasets`` shows of a dataset: the source's own summary and what is prepared
for it under a data root (split hash, cache sizes, bytes on disk).

Kept apart from the data contract (:mod:`vsbench.data.source`), which imports no data
implementation, because it reads the split manifest and the caches.
"""

from __future__ import annotations

from pathlib import Path

from vsbench.data.cache import list_caches
from vsbench.data.source import DataError, DatasetSource
from vsbench.data.splits import read_split
from vsbench.layout import DatasetFolder, dataset_folder


def prepared_summary(folder: DatasetFolder) -> dict[str, object]:
    """What ``folder`` (``<data_root>/<dataset>``) holds: ``split`` (the split manifest's hash),
    ``prepared`` (the image sizes of complete caches) and ``size`` (bytes on disk)."""
    manifest = folder.split_manifest
    try:
        split = read_split(manifest).hash if manifest.is_file() else "-"
    except DataError:
        split = "unreadable"
    caches = list_caches(folder.cache_root)
    path = folder.path
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
    return {"split": split,
            "prepared": ", ".join(f"{c['image_size']} px" for c in caches) or "no",
            "size": size}


def summarise(source: DatasetSource, data_root: Path | None = None) -> dict[str, object]:
    """``source.describe()`` plus, with a data root (by default the source's own, if it has
    one), :func:`prepared_summary` of the dataset's folder there (cheap: reads no image)."""
    out = dict(source.describe())
    data_root = data_root if data_root is not None else getattr(source, "data_root", None)
    if data_root is not None:
        out.update(prepared_summary(dataset_folder(data_root, source.info.name)))
    return out
