"""Shared data splits: made once per dataset, grouped by plate, stored as a manifest.

The manifest ``<data_root>/<dataset>/split.csv`` has one row per sample
(``sample_id,plate,well,site,part``) with ``part`` in ``train``, ``val`` or ``test``. Its hash
(of the file's bytes) identifies the split in every result. Splits are seedless: the same
records always give the same manifest, so two machines agree on it without sharing files.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from vsbench import atomic
from vsbench.data.source import DataError, SampleRecord

PARTS = ("train", "val", "test")
COLUMNS = ("sample_id", "plate", "well", "site", "part")


@dataclass(frozen=True)
class Split:
    """Sample ids per part, and the hash of the manifest they come from."""

    parts: dict[str, tuple[str, ...]]
    hash: str
    path: Path

    def ids(self, part: str) -> tuple[str, ...]:
        """The sample ids of ``part``; an empty part is an error, not an empty benchmark."""
        ids = self.parts.get(part, ())
        if not ids:
            raise DataError(f"The {part} part of split {self.path} is empty; regenerate the "
                            "split or add samples.")
        return ids


def assign_parts(records: list[SampleRecord], test: Sequence[str] = (),
                 val: Sequence[str] = ()) -> dict[str, str]:
    """Assign each sample to a part, grouped by plate.

    With three plates or more: the last plate (in sorted order) is the test plate, the one
    before it the validation plate, the rest train (the paper holds one plate out for test).
    With fewer plates, the same rule applies to wells, so no well is split across parts.
    ``test`` and ``val`` name the plates of those parts explicitly instead (the rest train).
    """
    plates = sorted({r.plate for r in records})
    if test or val:
        return _assign_named(records, plates, tuple(test), tuple(val))
    if len(plates) >= 3:
        key, groups = (lambda r: r.plate), plates
    else:
        key = lambda r: (r.plate, r.well)  # noqa: E731
        groups = sorted({key(r) for r in records})
        if len(groups) < 3:
            raise DataError(f"Only {len(groups)} plate/well groups: a split needs at least "
                            "three (train, val, test). Add plates or wells.")
    test, val = groups[-1], groups[-2]
    return {r.sample_id: "test" if key(r) == test else "val" if key(r) == val else "train"
            for r in records}


def _assign_named(records: list[SampleRecord], plates: list[str], test: tuple[str, ...],
                  val: tuple[str, ...]) -> dict[str, str]:
    unknown = [p for p in test + val if p not in plates]
    if unknown:
        raise DataError(f"Plate(s) {', '.join(unknown)} are not in the dataset (its plates: "
                        f"{', '.join(plates)}).")
    if not test or not val or set(test) & set(val) or len(set(test) | set(val)) >= len(plates):
        raise DataError("Name at least one test plate and one validation plate, different from "
                        "each other, and leave at least one plate to train on.")
    return {r.sample_id: "test" if r.plate in test else "val" if r.plate in val else "train"
            for r in records}


def write_split(records: list[SampleRecord], path: Path, test: Sequence[str] = (),
                val: Sequence[str] = ()) -> Split:
    """Make the split of ``records`` and write it to ``path``, replacing any manifest there
    (``vsbench data split --regenerate``: results made on the old one keep the old hash)."""
    text = _manifest_text(records, assign_parts(records, test, val))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, text)  # a concurrent run never reads half a manifest
    return read_split(path)


def _manifest_text(records: list[SampleRecord], parts: dict[str, str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in sorted(records, key=lambda r: r.sample_id):
        writer.writerow((r.sample_id, r.plate, r.well, r.site, parts[r.sample_id]))
    return buf.getvalue()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_split(path: Path) -> Split:
    """Read a manifest; a missing column or unknown part is a clear error."""
    text = path.read_text()
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("sample_id", "part") if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"Split manifest {path} lacks column(s) {', '.join(missing)}; "
                        "delete it to regenerate.")
    parts: dict[str, list[str]] = {p: [] for p in PARTS}
    for row in reader:
        if row["part"] not in parts:
            raise DataError(f"Split manifest {path}: sample {row['sample_id']} has unknown part "
                            f"'{row['part']}' (use {', '.join(PARTS)}).")
        parts[row["part"]].append(row["sample_id"])
    return Split({p: tuple(v) for p, v in parts.items()}, _hash(text), path)


def check_split(records: list[SampleRecord], path: Path) -> Split | None:
    """The existing manifest at ``path`` checked against ``records`` (None when there is none);
    reads only, so that ``data prepare`` can check new settings before it writes anything.

    A manifest naming samples the dataset does not have is an error: it most often belongs to
    another dataset prepared under the same data root (results made on it would not be
    comparable, and deleting it would lose that dataset's split).
    """
    if not path.exists():
        return None
    split = read_split(path)
    known = {r.sample_id for r in records}
    unknown = [s for ids in split.parts.values() for s in ids if s not in known]
    if unknown:
        dataset = path.parent.name
        raise DataError(f"Split manifest {path} names {len(unknown)} sample(s) the dataset "
                        f"does not have (e.g. {unknown[0]}): it is the split of the data this "
                        "data root held. For a second dataset use another --data-root; to "
                        "split this data anew on purpose, run `vsbench data split --dataset "
                        f"{dataset} --regenerate` (results of the old split keep its hash).")
    return split


def load_or_create_split(records: list[SampleRecord], path: Path) -> Split:
    """The dataset's split: read from ``path`` (checked by :func:`check_split`), or made from
    ``records`` and written there."""
    split = check_split(records, path)
    return split if split is not None else write_split(records, path)


#: The fewest training images a run can train on: a batch of one has no batch statistics
#: (BatchNorm refuses it: "Expected more than 1 value per channel when training").
MIN_TRAIN_SAMPLES = 2


def check_train_size(n_train: int, where: str, dataset: str, limit: int | None = None) -> None:
    """Refuse a training part too small to train on (fewer than :data:`MIN_TRAIN_SAMPLES`):
    ``n_train`` samples in the train part of ``where`` (the manifest), ``limit`` the run's
    ``max_train_images`` (None: all); a :class:`DataError` naming the sizes and the fix."""
    used = min(n_train, limit) if limit else n_train
    if used >= MIN_TRAIN_SAMPLES:
        return
    if limit and limit < n_train:
        raise DataError(f"--set max_train_images={limit} leaves {used} training image(s) of "
                        f"the {n_train} in {where}; training needs at least "
                        f"{MIN_TRAIN_SAMPLES} (a batch of one has no BatchNorm statistics): "
                        f"set max_train_images to {MIN_TRAIN_SAMPLES} or more.")
    raise DataError(f"The train part of {where} holds {n_train} sample(s); training needs at "
                    f"least {MIN_TRAIN_SAMPLES} (a batch of one has no BatchNorm statistics): "
                    f"add samples to the training plates, or choose other test/validation "
                    f"plates with `vsbench data split --dataset {dataset} --regenerate "
                    "--test ... --val ...`.")


def check_trainable(records: list[SampleRecord], path: Path, dataset: str) -> Split | None:
    """:func:`check_split`, and the train part - of the manifest at ``path``, or of the one
    that would be made from ``records`` - refused by :func:`check_train_size` when too small.
    Reads only (``data prepare`` checks before it writes anything)."""
    split = check_split(records, path)
    if split is not None:
        n_train = len(split.parts.get("train", ()))
    else:
        n_train = sum(part == "train" for part in assign_parts(records).values())
    check_train_size(n_train, f"split {path}", dataset)
    return split


#: A part holding fewer than this share of the samples of its plates (or wells) is reported.
SMALL_PART = 0.5


def split_size_warnings(split: Split, records: list[SampleRecord],
                        dataset: str | None = None) -> list[str]:
    """One-line warnings for parts of ``split`` much smaller than the dataset's plates give.

    A split made by :func:`assign_parts` puts whole plates (whole wells, with fewer than three
    plates) in each part, so a part holds every sample of its plates. A hand-edited manifest
    that drops rows (or moves some to another part) keeps a valid hash and would benchmark on a
    few images without a word. The rule: for each part, the groups (plates, or plate/well pairs
    with fewer than three plates, as the split is made) having a sample in that part hold N
    samples in the dataset; a part listing fewer than ``SMALL_PART`` * N of them is reported.
    Nothing is raised: a deliberate subset stays possible, but the run says so. The engine
    prints these after loading the split (``vsbench run``), as ``data prepare`` and ``data split``
    may.
    """
    by_id = {r.sample_id: r for r in records}
    by_plate = len({r.plate for r in records}) >= 3

    def group(r: SampleRecord) -> tuple[str, ...]:
        return (r.plate,) if by_plate else (r.plate, r.well)

    sizes = Counter(group(r) for r in records)
    name = dataset or split.path.parent.name
    warnings = []
    for part in PARTS:
        listed = [by_id[i] for i in split.parts.get(part, ()) if i in by_id]
        groups = sorted({group(r) for r in listed})
        expected = sum(sizes[g] for g in groups)
        if not listed or len(listed) >= SMALL_PART * expected:
            continue
        shown = ", ".join("/".join(g) for g in groups[:3]) + (" ..." if len(groups) > 3 else "")
        kind = "plate(s)" if by_plate else "well(s)"
        warnings.append(
            f"The {part} part of split {split.path} lists {len(listed)} sample(s) but its "
            f"{kind} {shown} hold {expected} in the dataset ({expected - len(listed)} are in "
            f"another part or in none); if split.csv was not edited on purpose, run `vsbench "
            f"data split --dataset {name} --regenerate` (results get the new split's hash).")
    return warnings


def fields_text(records: list[SampleRecord], ids: Sequence[str]) -> str:
    """The plate, well and site of the fields ``ids`` as CSV (``sample_id,plate,well,site``),
    in the order of ``ids``: a run's ``test_fields.csv``, which tells its boards which test
    images share a well."""
    by_id = {r.sample_id: r for r in records}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS[:-1])
    for sample_id in ids:
        r = by_id[sample_id]
        writer.writerow((r.sample_id, r.plate, r.well, r.site))
    return buf.getvalue()
