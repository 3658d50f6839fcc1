"""``vsbench data``: fetch, prepare and split datasets (typer sub-commands).

Torch and the sources are imported inside the commands, so ``vsbench --help`` stays fast.
Errors propagate to the one error policy of :mod:`vsbench.cli.errors`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from vsbench.cli import checks
from vsbench.errors import ConfigError
from vsbench.layout import dataset_folder

data_app = typer.Typer(no_args_is_help=True, add_completion=False,
                       help="Fetch, prepare (decode once into a cache) and split datasets.")

DATA_ROOT_HELP = ("Local data root: each dataset's files, settings (source.json), split "
                  "manifest and cache live in DATA_ROOT/DATASET/.")


def _split_list(values: Optional[List[str]]) -> tuple[str, ...]:
    """``--plates A --plates B,C`` -> ("A", "B", "C")."""
    return tuple(v.strip() for item in values or [] for v in item.split(",") if v.strip())


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _source(dataset: str, data_root: Path, overrides: dict[str, str] | None = None):
    """``dataset``'s source, and the candidate settings ``overrides`` make (not yet stored:
    the caller checks the source first and saves the candidate last), or None."""
    checks.output_folder(data_root, "--data-root")
    from vsbench.data import settings as source_settings
    from vsbench.plugins import default_registry

    source = default_registry().dataset(dataset).spec.factory(data_root)
    if not overrides:
        return source, None
    candidate = source_settings.candidate(source, data_root, dataset, overrides)
    return candidate.source, candidate


@data_app.command()
def fetch(
    dataset: str = typer.Argument(..., help="Dataset to download: jump-cpg0000."),
    plates: List[str] = typer.Option(..., "--plates", help="Plate barcode(s), e.g. BR00116991 "
                                     "(repeatable or comma-separated)."),
    batch: str = typer.Option("", "--batch", help="The batch to take the plates from, e.g. "
                              "2020_11_04_CPJUMP1 (needed for a barcode that several batches "
                              "hold, such as BR00117006)."),
    sites_per_well: int = typer.Option(0, "--sites-per-well", help="Fetch the first N sites "
                                       "of each well (0: all, about 9 per well in the pilot)."),
    wells: Optional[List[str]] = typer.Option(None, "--wells", help="Only these wells, e.g. "
                                              "A01,A02 (default: all)."),
    source: Optional[str] = typer.Option(None, "--source", help="Where the source_4 folder "
                                         "is: an s3:// URL (default: the Cell Painting Gallery) "
                                         "or any fsspec URL or local path."),
    endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", help="Another "
                                               "S3-compatible server (a mirror)."),
    workers: int = typer.Option(8, "--workers", help="Parallel downloads."),
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help=DATA_ROOT_HELP),
) -> None:
    """Download the files a selection of JUMP plates needs (resumable, verified).

    Only the chosen plates, wells and sites are fetched, with their load_data CSVs,
    illumination functions and plate maps, into DATA_ROOT/jump-cpg0000/ in the Gallery's
    layout. Run it again after an interruption: finished files are skipped and a partial file
    continues where it stopped. The selection is stored for `vsbench data prepare` and
    `vsbench run`.
    """
    from vsbench.data import settings as source_settings
    from vsbench.data.sources.jump import settings as jump

    console = Console()
    if dataset != jump.NAME:
        raise ConfigError(f"only {jump.NAME} can be fetched; '{dataset}' reads local files "
                          "(see `vsbench data prepare --help`).")
    from vsbench.data.sources.jump.fetch import fetch_jump

    checks.output_folder(data_root, "--data-root")
    stored = source_settings.load(jump.JumpSettings, data_root, jump.NAME)
    url = source or stored.source_url
    chosen = _split_list(plates)
    batch = batch.strip()
    start = time.perf_counter()
    report = fetch_jump(url, dataset_folder(data_root, jump.NAME).path, chosen, sites_per_well,
                        _split_list(wells), stored.planes + stored.channels,
                        endpoint_url=endpoint_url, workers=workers,
                        console=Console(stderr=True), batch=batch)
    # Plates fetched earlier (from the same batch) stay part of the dataset.
    same = not stored.root and stored.batch == batch
    known = tuple(dict.fromkeys(stored.plates + chosen)) if same else chosen
    source_settings.update(jump.JumpSettings, data_root, jump.NAME, {
        "root": "", "batch": batch, "plates": known, "sites_per_well": sites_per_well,
        "wells": _split_list(wells), "source_url": url})
    console.print(f"{report.files} files for plate(s) {', '.join(chosen)}: "
                  f"{report.downloaded} downloaded ({_human(report.bytes)}), {report.skipped} "
                  f"already there; {time.perf_counter() - start:.1f} s. Next: `vsbench data "
                  f"prepare --dataset {jump.NAME} --data-root {data_root}`.")


@data_app.command()
def prepare(
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset source (see `vsbench "
                                "datasets`)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                             help="A source setting, e.g. --set root=/data/plates "
                                             "(repeatable); stored in DATA_ROOT/DATASET/"
                                             "source.json for later runs."),
    preset: str = typer.Option("smoke", "--preset", "-p", help="Cache at this preset's image "
                               "size (smoke: 64 px, paper: 512 px)."),
    image_size: Optional[List[int]] = typer.Option(None, "--image-size", help="Cache at these "
                                                   "sizes instead of the preset's (repeatable)."),
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help=DATA_ROOT_HELP),
) -> None:
    """Check every sample, make the split and build the preprocessed cache.

    Every image is decoded once (illumination correction, percentile clip, resampling) into a
    memory-mapped cache keyed by the data, the preprocessing and the size; `vsbench run` then
    reads it instead of the image files. Interrupted, it resumes where it stopped.
    """
    from vsbench.config import RUN_PRESETS, parse_overrides
    from vsbench.data.splits import check_trainable, load_or_create_split

    console = Console()
    source, candidate = _source(dataset, data_root, parse_overrides(set_ or []))
    records = source.records()
    manifest = dataset_folder(data_root, dataset).split_manifest
    check_trainable(records, manifest, dataset)  # validate first (reads only) ...
    if candidate is not None:
        candidate.save()  # ... write last: a refused prepare leaves source.json as it was
    info = source.info
    console.print(f"[bold]{dataset}[/]: {len(records)} samples, "
                  f"{len({r.plate for r in records})} plate(s); planes "
                  f"{', '.join(info.planes)} -> channels {', '.join(info.channels)}; labels "
                  f"{', '.join(info.label_kinds) or '-'}", highlight=False)
    describe = getattr(source, "preprocessing", None)
    if callable(describe):
        console.print("preprocessing: " + "; ".join(
            f"{k} " + (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v))
            for k, v in describe().items()), highlight=False)
    split = load_or_create_split(records, manifest)
    console.print(f"split {split.path} (hash {split.hash}): "
                  + ", ".join(f"{p} {len(ids)}" for p, ids in split.parts.items()),
                  highlight=False)
    sizes = image_size or [RUN_PRESETS.get(preset, RUN_PRESETS["smoke"])["image_size"]]
    for size in sizes:
        start = time.perf_counter()
        cached = source.for_run(size, data_root)
        folder = getattr(cached, "folder", None)
        if folder is None:
            console.print(f"{dataset} is read directly (nothing to cache).")
            continue
        nbytes = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
        console.print(f"cache {size} px: {folder} ({_human(nbytes)}, "
                      f"{time.perf_counter() - start:.1f} s)", highlight=False)
    console.print(f"Next: `vsbench run --method unet --dataset {dataset} --data-root "
                  f"{data_root}`.")


@data_app.command()
def split(
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset source."),
    regenerate: bool = typer.Option(False, "--regenerate", help="Replace the manifest (its "
                                    "hash changes; `compare` keeps results of the old split "
                                    "apart)."),
    test: Optional[List[str]] = typer.Option(None, "--test", help="With --regenerate: the "
                                             "test plate(s) (default: the last plate)."),
    val: Optional[List[str]] = typer.Option(None, "--val", help="With --regenerate: the "
                                            "validation plate(s) (default: the one before)."),
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help=DATA_ROOT_HELP),
) -> None:
    """Show the dataset's split (parts, plates, hash) or regenerate it.

    The split is made once per dataset, grouped by plate (by well with fewer than three
    plates), and stored as DATA_ROOT/DATASET/split.csv; its hash is recorded in every result.
    """
    from vsbench.data.splits import load_or_create_split, read_split, write_split

    console = Console()
    path = dataset_folder(data_root, dataset).split_manifest
    if (test or val) and not regenerate:
        raise ConfigError("--test and --val choose plates for a new split: add --regenerate.")
    records = _source(dataset, data_root)[0].records()
    old = read_split(path).hash if path.is_file() else None
    if regenerate:
        result = write_split(records, path, _split_list(test), _split_list(val))
        change = "unchanged" if old == result.hash else f"was {old or 'none'}"
        console.print(f"wrote {path}: hash {result.hash} ({change})", highlight=False)
    else:
        result = load_or_create_split(records, path)
    by_id = {r.sample_id: r for r in records}
    table = Table(title=f"{dataset} split {result.hash}", caption=str(path))
    for column in ("part", "samples", "plates", "wells"):
        table.add_column(column, justify="right" if column in ("samples", "wells") else "left")
    for part, ids in result.parts.items():
        chosen = [by_id[i] for i in ids if i in by_id]
        plates = sorted({r.plate for r in chosen})
        table.add_row(part, str(len(ids)), ", ".join(plates) if len(plates) <= 3
                      else f"{len(plates)} plates", str(len({(r.plate, r.well) for r in chosen})))
    console.print(table)
    listed = {i for ids in result.parts.values() for i in ids}
    unlisted = [r.sample_id for r in records if r.sample_id not in listed]
    if unlisted:
        console.print(f"[yellow]warning:[/] {len(unlisted)} sample(s) of the dataset are in no "
                      f"part (e.g. {unlisted[0]}); `--regenerate` to include them.",
                      highlight=False)
