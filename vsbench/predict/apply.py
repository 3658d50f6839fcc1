"""``vsbench predict``: a completed run's trained method applied to new brightfield fields.

:func:`find_run` names the run (a folder, or a run id under the results folder) and refuses
one that did not complete. :func:`predict_run` reloads its method with its trained weights
(:func:`vsbench.engine.build.load_trained`), reads the fields (a registered dataset's split,
a folder of image files or an OME-Zarr plate; :mod:`vsbench.predict.inputs`), prepares each
as the run prepared its test fields, predicts whole fields at the run's evaluation size (or,
``--resolution input``, new fields at their own size) in blended tiles of its training size
(:mod:`vsbench.tiling`), ``eval_batch_size`` fields at a time, and writes them with a manifest
(:mod:`vsbench.predict.outputs`); :func:`resized_note` says what was resized.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from vsbench.contract import checked_predict
from vsbench.engine.build import TrainedRun, load_trained
from vsbench.predict.inputs import (InputField, folder_files, model_field, normaliser,
                                    read_file_field, zarr_fields)
from vsbench.predict.outputs import write_manifest, writer_for
from vsbench.engine.predict_step import predict_step
from vsbench.errors import ConfigError, ResultsError, VsbenchError
from vsbench.progress import progress_bar
from vsbench.store import ResultsStore, RunFolder

SPLIT_PARTS = ("test", "train", "all")
RESOLUTIONS = ("run", "input")  # vsbench predict --resolution


def find_run(run: str | Path, results: Path) -> RunFolder:
    """The completed run ``run`` names: its folder, or its run id under ``results``."""
    path = Path(run)
    if path.is_dir():
        folder = RunFolder(path)
    else:
        found = [r.folder for r in ResultsStore(results).runs() if r.folder.run_id == str(run)]
        if not found:
            raise ResultsError(f"unknown run {run}: no such run folder, and no run with that id "
                               f"under {results}/runs; pass a run folder or see `vsbench "
                               f"compare --results {results}`.")
        folder = found[-1]
    state = folder.state()
    if state != "completed":
        raise ResultsError(f"run {folder.path} is {state}, not completed: only a completed run "
                           "has trained weights to predict with (finish it with `vsbench run "
                           "... --resume`).")
    return folder


@dataclass(frozen=True)
class Prepared:
    """A field as the method sees it, and what the manifest says about it."""

    field: InputField
    image: torch.Tensor  # [planes, S, S]
    input_shape: tuple[int, ...]


def _dataset_fields(trained: TrainedRun, dataset: str, split: str, size: int,
                    data_root: Path) -> tuple[int, Iterator[Prepared]]:
    """How many fields a registered dataset's ``split`` has, and the fields, read exactly as
    the run read its test fields (at its evaluation size)."""
    from vsbench.data.splits import load_or_create_split
    from vsbench.data.torch_dataset import PairedImageDataset
    from vsbench.layout import dataset_folder
    from vsbench.plugins import default_registry

    if split not in SPLIT_PARTS:
        raise ConfigError(f"--split {split}: use {', '.join(SPLIT_PARTS)}.")
    source = default_registry().dataset(dataset).spec.factory(Path(data_root))
    planes = trained.plan.source.info.planes
    if len(source.info.planes) != len(planes):
        raise ConfigError(f"--dataset {dataset} has {len(source.info.planes)} brightfield "
                          f"plane(s) ({', '.join(source.info.planes)}) but the run was trained "
                          f"on {len(planes)} ({', '.join(planes)}).")
    records = source.records()
    if split == "all":
        ids = [r.sample_id for r in records]
    else:
        ids = list(load_or_create_split(
            records, dataset_folder(data_root, dataset).split_manifest).ids(split))
    data = PairedImageDataset(source.for_run(size, Path(data_root)), ids, size)

    def fields() -> Iterator[Prepared]:
        for i, record in enumerate(data.records):
            image = data[i]["brightfield"]
            yield Prepared(InputField(record.sample_id, f"{dataset}:{record.sample_id}",
                                      np.empty(0)), image, tuple(image.shape))

    return len(data.records), fields()


def _new_fields(trained: TrainedRun, path: Path, size: int, own_size: bool = False
                ) -> Iterator[Prepared]:
    """The fields of a folder of image files or an OME-Zarr plate, normalised as the run's
    dataset was and prepared as its test fields were: resized to ``size`` (the run's
    evaluation size), or kept at their own size (``own_size``)."""
    source = trained.plan.source
    planes = source.info.planes
    normalise = normaliser(source)
    run = trained.plan.resolved.run
    run_source = source.for_run(size, trained.plan.data_root)
    if path.is_dir() and path.suffix != ".zarr":
        fields: Iterable[InputField] = (read_file_field(p, planes, normalise)
                                        for p in folder_files(path))
    elif path.suffix == ".zarr":
        z = str(getattr(getattr(source, "settings", None), "z", "middle"))
        fields = zarr_fields(path, planes, z, normalise)
    else:
        raise ConfigError(f"--input {path}: not a folder of image files or a .zarr plate.")
    for field in fields:
        if own_size and min(field.brightfield.shape[-2:]) < run.image_size:
            raise ConfigError(f"{field.origin}: {field.brightfield.shape[-2]} x "
                              f"{field.brightfield.shape[-1]} px is smaller than the run's "
                              f"{run.image_size} px tile; predict it with --resolution run "
                              f"(resized to the run's evaluation size).")
        yield Prepared(field, model_field(field.brightfield, None if own_size else size,
                                          run_source),
                       tuple(field.brightfield.shape))


def count_inputs(path: Path | None) -> int | None:
    """How many files a folder input holds (the progress bar's total; None: not known)."""
    if path is None or path.suffix == ".zarr" or not path.is_dir():
        return None
    return len(folder_files(path))


def _batches(items: Iterator[Prepared], size: int) -> Iterator[list[Prepared]]:
    """Up to ``size`` consecutive fields of one shape (fields kept at their own size may
    differ, and a batch is one tensor)."""
    batch: list[Prepared] = []
    for item in items:
        if batch and item.image.shape != batch[0].image.shape:
            yield batch
            batch = []
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@torch.inference_mode()
def predict_run(folder: RunFolder, out: Path, *, dataset: str | None = None,
                input_path: Path | None = None, split: str = "test", fmt: str = "ome-tiff",
                device: str = "cpu", data_root: Path | None = None, resolution: str = "run",
                console=None) -> list[dict]:
    """Predict every field of ``dataset`` (its ``split``) or ``input_path`` with the trained
    method of the completed run in ``folder``; write the predictions and the manifest into
    ``out`` and return the manifest's rows. ``resolution``: ``run`` resizes each field to the
    run's evaluation size (as its test fields were), ``input`` keeps new fields at their own
    size (tiled; for fields of the training data's pixel size)."""
    if (dataset is None) == (input_path is None):
        raise ConfigError("vsbench predict: give either --dataset NAME or --input "
                          "FOLDER_OR_ZARR (one of them).")
    if resolution not in RESOLUTIONS:
        raise ConfigError(f"--resolution {resolution}: use {' or '.join(RESOLUTIONS)}.")
    if resolution == "input" and dataset is not None:
        raise ConfigError("--resolution input: a --dataset's fields are read as the run read "
                          "them, at its evaluation size; use --input FOLDER_OR_ZARR for "
                          "fields at their own size.")
    trained = _load(folder, device, data_root, dataset)
    run = trained.plan.resolved.run
    size = run.eval_image_size or run.image_size
    root = trained.plan.data_root
    if dataset is not None:
        total, fields = _dataset_fields(trained, dataset, split, size, Path(data_root or root))
    else:
        total = count_inputs(Path(input_path))
        fields = _new_fields(trained, Path(input_path), size, own_size=resolution == "input")
    channels = list(trained.plan.source.info.channels)
    writer = writer_for(fmt, out, channels)
    rows: list[dict] = []
    device_ = torch.device(device)
    predict = checked_predict(trained.method.predict, channels, trained.config.method,
                              finite=True)
    try:
        with progress_bar(console, "predict", total) as bar:
            for batch in _batches(fields, run.eval_batch_size):
                images = torch.stack([b.image for b in batch]).to(device_)
                output, _ = predict_step(predict, {"brightfield": images}, run, device_,
                                         run.eval_batch_size)
                predicted = output.image.clamp(0, 1).cpu().numpy()
                for item, image in zip(batch, predicted):
                    rows.append(_row(item, image, writer, folder, trained))
                bar.advance(len(batch))
    finally:
        writer.close()
    about = {"run": str(folder.path), "run_id": folder.run_id,
             "config_hash": trained.config.config_hash, "method": trained.config.method,
             "dataset": trained.config.dataset, "channels": channels, "format": fmt,
             "resolution": resolution, "size": size if resolution == "run" else None,
             "tile": run.image_size, "tile_overlap": run.tile_overlap}
    write_manifest(out, rows, about)
    return rows


def _load(folder: RunFolder, device: str, data_root: Path | None,
          dataset: str | None) -> TrainedRun:
    """The run's trained method; predicting on another dataset than the run's, a failure to
    rebuild it names the dataset it was trained on (its data is what is missing)."""
    try:
        return load_trained(folder, device, data_root)
    except VsbenchError as exc:
        try:
            trained_on = folder.read_config().dataset
        except VsbenchError:
            raise exc from None
        if dataset is None or dataset == trained_on:
            raise
        raise ConfigError(f"--dataset {dataset}: run {folder.path} was trained on "
                          f"{trained_on}, and its method is rebuilt from {trained_on}'s data, "
                          f"which is not usable here ({str(exc).rstrip('.')}); pass the "
                          f"--data-root where {trained_on} is prepared.") from None


def _row(item: Prepared, image: np.ndarray, writer, folder: RunFolder,
         trained: TrainedRun) -> dict:
    """Write one predicted field; its manifest row."""
    field = item.field
    pixel = None
    if field.pixel_size is not None:  # scaled where the field was resized
        pixel = field.pixel_size * item.input_shape[-1] / image.shape[-1]
    output = writer.write(field.sample_id, image, pixel, field.position)
    return {"sample_id": field.sample_id, "input": field.origin, "output": output,
            "input_shape": list(item.input_shape), "shape": list(image.shape),
            "pixel_size_um": pixel, "run_id": folder.run_id,
            "config_hash": trained.config.config_hash}


def resized_note(rows: list[dict]) -> str | None:
    """One line naming how many fields were resized, from what size to what (None: none)."""
    changed = [(tuple(r["input_shape"][-2:]), tuple(r["shape"][-2:])) for r in rows
               if tuple(r["input_shape"][-2:]) != tuple(r["shape"][-2:])]
    if not changed:
        return None
    sizes = ", ".join(f"{a[0]}x{a[1]} -> {b[0]}x{b[1]} px" for a, b in dict.fromkeys(changed))
    return (f"resized {len(changed)} of {len(rows)} field(s) to the run's evaluation size "
            f"({sizes}), as its test fields were; fields of the training data's pixel size "
            f"can be predicted at their own size with --resolution input.")
