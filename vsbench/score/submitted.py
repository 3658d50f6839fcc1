"""``vsbench score``: predictions made outside vsbench, scored on a dataset's test split with
the one metric protocol and the biological tiers, written as a run folder marked submitted.

:func:`read_submission` matches the files of a folder to the test samples by sample id (the
file's stem; ``.tif``/``.tiff``/``.ome.tif`` or ``.npy``, ``[C, H, W]`` float on [0, 1]) and
checks every one - a missing, extra or misshapen prediction (channel count, size, pixel type,
NaN, values off [0, 1]: :mod:`vsbench.contract`) is a :class:`vsbench.errors.DataError` naming
it - before anything is scored or written.
:func:`score_submission` then scores them as a run scores its test predictions: the pixel
metrics on the files' values (:class:`vsbench.metrics.MetricAccumulator`), then every tier
with the driver a run uses (:func:`vsbench.tiers.driver.score_tiers`: instance, features,
profiles, and the posterior tier as a point mass) on the same values clamped and rounded to
float16 as a run keeps them (:func:`vsbench.engine.predictions.save_test_predictions`), the
real stains read as a run reads them. A failing tier is recorded in its summary, as in a run.
The run folder has ``config.json`` (``submitted``, the files' SHA-256, the description; no
training record), ``metrics.json`` and the tier files, so ``vsbench compare`` ranks it.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from vsbench import atomic
from vsbench.plain import plain_json
from vsbench.contract import range_problem
from vsbench.data.source import DatasetSource
from vsbench.data.splits import Split, fields_text, load_or_create_split
from vsbench.predict.inputs import stem
from vsbench.engine.plan import code_version
from vsbench.engine.predictions import load_test_predictions, save_test_predictions
from vsbench.engine.record import csv_text
from vsbench.rescore.finished import real_stains
from vsbench.errors import ConfigError, DataError
from vsbench.layout import PER_IMAGE_FILE, TEST_FIELDS_FILE, dataset_folder
from vsbench.metrics import MetricAccumulator
from vsbench.plugins import Registry, default_registry
from vsbench.protocol import SSIM_KERNEL
from vsbench.records import SCHEMA_VERSION, ConfigRecord, MetricsRecord
from vsbench.store import ResultsStore, RunFolder
from vsbench.tiers.contract import TierInputs
from vsbench.tiers.driver import score_tiers
from vsbench.tiers.registry import scored_tiers

SUFFIXES = (".ome.tif", ".ome.tiff", ".tif", ".tiff", ".npy")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PRESET = "submitted"  # the board of a submission no vsbench run shares a key with


@dataclass(frozen=True)
class Submission:
    """Checked predictions in the test split's order and the digest of their files."""

    prediction: np.ndarray  # (N, C, S, S) float32
    sample_ids: tuple[str, ...]
    digest: str
    files: tuple[Path, ...]


def _files(folder: Path) -> dict[str, Path]:
    if not Path(folder).is_dir():
        raise DataError(f"--predictions {folder}: no such folder; give the folder of one "
                        "prediction file per test sample (<sample_id>.tif or .npy).")
    found: dict[str, Path] = {}
    for path in sorted(Path(folder).iterdir()):
        if not path.is_file() or not path.name.lower().endswith(SUFFIXES):
            continue  # manifests, notes
        sid = stem(path)
        if sid in found:
            raise DataError(f"--predictions {folder}: two files for sample {sid} "
                            f"({found[sid].name}, {path.name}); keep one.")
        found[sid] = path
    return found


def _read(path: Path) -> np.ndarray:
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            import tifffile

            array = tifffile.imread(path)
    except Exception as exc:  # numpy and tifffile raise many types for damaged files
        raise DataError(f"Prediction {path} cannot be read ({type(exc).__name__}: {exc}); "
                        "write it again.") from None
    return np.asarray(array)


def _check(array: np.ndarray, path: Path, channels: Sequence[str], size: int | None) -> None:
    n = len(channels)
    if array.ndim != 3 or array.shape[0] != n:
        raise DataError(f"Prediction {path} has shape {array.shape}; expected [{n}, H, W] "
                        f"channels first ({', '.join(channels)}).")
    if array.dtype.kind != "f":
        raise DataError(f"Prediction {path} has pixel type {array.dtype}; write float values on "
                        "[0, 1].")
    if array.shape[1] != array.shape[2] or (size is not None and array.shape[1] != size):
        want = f"{size} x {size}" if size is not None else "square"
        raise DataError(f"Prediction {path} is {array.shape[1]} x {array.shape[2]} pixels; "
                        f"expected {want} (every prediction one size, the test fields').")
    if array.shape[1] < SSIM_KERNEL:
        raise DataError(f"Prediction {path} is {array.shape[1]} px, smaller than the SSIM "
                        f"window ({SSIM_KERNEL} px); predict larger fields.")
    if not np.isfinite(array).all():
        raise DataError(f"Prediction {path} has {int((~np.isfinite(array)).sum())} NaN or Inf "
                        "pixel(s); every pixel must be a finite number.")
    problem = range_problem(float(array.min()), float(array.max()))
    if problem:  # clamped, it would be scored and ranked as another prediction
        raise DataError(f"Prediction {path} has {problem}; write predictions on [0, 1].")


def read_submission(folder: Path, test_ids: Sequence[str], channels: Sequence[str],
                    size: int | None = None) -> Submission:
    """The predictions of ``folder`` for ``test_ids``, every file checked (see the module)."""
    found = _files(folder)
    missing = [i for i in test_ids if i not in found]
    extra = sorted(set(found) - set(test_ids))
    if missing:
        raise DataError(f"--predictions {folder}: no prediction for {len(missing)} test "
                        f"sample(s), e.g. {', '.join(missing[:3])}; write <sample_id>.tif or "
                        ".npy for every test sample.")
    if extra:
        raise DataError(f"--predictions {folder}: {found[extra[0]].name} is not a test sample "
                        f"of the split ({len(extra)} such file(s)); predict the test split "
                        "only, or remove them.")
    arrays, digest = [], hashlib.sha256()
    for sid in test_ids:
        array = _read(found[sid])
        _check(array, found[sid], channels, size)
        size = int(array.shape[1])
        arrays.append(array.astype(np.float32))
        digest.update(f"{found[sid].name}:".encode())
        digest.update(hashlib.sha256(found[sid].read_bytes()).hexdigest().encode())
    return Submission(np.stack(arrays), tuple(test_ids), digest.hexdigest(),
                      tuple(found[i] for i in test_ids))


def board_for(results: Path, dataset: str, fingerprint: str, split_hash: str, size: int,
              channels: Sequence[str], preset: str | None, image_size: int | None
              ) -> tuple[str, int]:
    """The preset and training size of the leaderboard a submission joins: the ones given, or
    those of the one board of vsbench runs scored on these test fields at ``size``; a
    submission with no such board gets its own (preset ``submitted``)."""
    usable, _ = ResultsStore(results).completed(dataset)
    boards = sorted({(r.metrics.preset, r.metrics.image_size) for r in usable
                     if r.metrics.dataset_fingerprint == fingerprint
                     and r.metrics.split_hash == split_hash and r.metrics.scored_size == size
                     and list(r.metrics.channels) == list(channels)
                     and not (r.config is not None and r.config.submitted)
                     and (preset is None or r.metrics.preset == preset)
                     and (image_size is None or r.metrics.image_size == image_size)})
    if preset is not None and image_size is not None:
        return preset, image_size
    if len(boards) == 1:
        return boards[0][0], int(boards[0][1] or size)
    if not boards:
        return preset or PRESET, image_size or size
    listed = ", ".join(f"--preset {p} --image-size {s}" for p, s in boards)
    raise ConfigError(f"the runs under {results} on {dataset} at {size} px form several "
                      f"leaderboards ({listed}); say which one to join.")


def check_name(name: str, registry: Registry) -> str:
    """``--name``: a folder-safe name that is not a registered method's."""
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"--name {name!r}: use letters, digits, '.', '_' and '-' (it names "
                          "the run's folder and leaderboard row).")
    if name in registry.methods:
        raise ConfigError(f"--name {name}: a registered method has that name; choose another "
                          f"(e.g. {name}-external).")
    return name


def _pixel_scores(prediction: np.ndarray, targets: np.ndarray, test_ids: Sequence[str],
                  channels: list[str], name: str) -> MetricAccumulator:
    """The pixel metrics of ``prediction`` against ``targets``, 8 fields at a time."""
    scores = MetricAccumulator(channels)
    for first in range(0, len(test_ids), 8):
        part = slice(first, first + 8)
        scores.update(torch.from_numpy(prediction[part]), torch.from_numpy(targets[part]),
                      list(test_ids[part]), method=name)
    return scores


def _metrics(config: ConfigRecord, folder: RunFolder, summary: dict[str, Any],
             tiers: dict[str, Any]) -> MetricsRecord:
    """The submitted run's ``metrics.json``: its pixel ``summary`` and its ``tiers``."""
    run = config.run
    return MetricsRecord.from_json({
        "method": config.method, "dataset": config.dataset,
        "dataset_fingerprint": config.dataset_fingerprint, "split_hash": config.split_hash,
        "preset": config.preset, "seed": 0, "image_size": run["image_size"],
        "eval_image_size": run["eval_image_size"], "n_test_images": summary["n_images"],
        "channels": summary["channels"], "average": summary["average"],
        "pcc_undefined_images": summary["pcc_undefined"], "train_seconds": None,
        "predict_seconds_per_image": None, "run_id": folder.run_id,
        "config_hash": config.config_hash, "submitted": True,
        "schema_version": SCHEMA_VERSION,
        **{k: plain_json(v) for k, v in tiers.items()}}, "the submission's metrics")


def score_submission(predictions: Path, dataset: str, name: str, *,
                     description: str | None = None, results: Path = Path("results"),
                     data_root: Path = Path("datasets"), preset: str | None = None,
                     image_size: int | None = None,
                     registry: Registry | None = None) -> tuple[RunFolder, MetricsRecord]:
    """Check and score the predictions in ``predictions`` on ``dataset``'s test split; write
    the submitted run folder under ``results``; return it and its metrics."""
    registry = registry or default_registry()
    check_name(name, registry)
    source: DatasetSource = registry.dataset(dataset).spec.factory(Path(data_root))
    channels = list(source.info.channels)
    split: Split = load_or_create_split(source.records(),
                                        dataset_folder(data_root, dataset).split_manifest)
    test_ids = split.ids("test")
    submission = read_submission(predictions, test_ids, channels)  # before anything is written
    size = int(submission.prediction.shape[-1])
    fingerprint = source.fingerprint()
    preset, image_size = board_for(results, dataset, fingerprint, split.hash, size, channels,
                                   preset, image_size)
    targets = real_stains(source, Path(data_root), test_ids, size)
    cache = dataset_folder(data_root, dataset).biometrics_cache
    scores = _pixel_scores(submission.prediction, targets, test_ids, channels, name)
    summary = scores.compute()  # a prediction the metrics refuse stops here, nothing written
    config = ConfigRecord.from_json({
        "method": name, "dataset": dataset, "preset": preset, "seed": 0,
        "run": {"image_size": image_size, "eval_image_size": size},
        "method_params": {"predictions_sha256": submission.digest},
        "dataset_fingerprint": fingerprint, "split_hash": split.hash,
        "split_manifest": str(split.path), "channels": channels,
        "planes": list(source.info.planes), "versions": code_version(), "device": "none",
        "submitted": True, "description": description,
        "predictions_digest": submission.digest,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S")}, "the submission").hashed()
    folder = ResultsStore(results).create(dataset, name, 0)
    folder.write_config(config)
    folder.set_state("running")
    try:
        save_test_predictions(folder.path, submission.prediction, test_ids, channels)
        kept = load_test_predictions(folder.path)  # clamped, float16: what the tiers score
        atomic.write_text(folder.file(PER_IMAGE_FILE), csv_text(scores.per_image()))
        atomic.write_text(folder.file(TEST_FIELDS_FILE),
                          fields_text(source.records(), test_ids))
        # every tier its inputs allow, as a run scores them; a submission has no sampler, so
        # the posterior tier scores it as a point mass (its CRPS is its MAE)
        tiers = score_tiers(TierInputs(
            folder=folder.path, prediction=kept.prediction, sample_ids=list(test_ids),
            channels=channels, dataset_fingerprint=fingerprint, split_hash=split.hash,
            cache_dir=cache, targets=lambda: targets, records=source.records),
            scored_tiers())
        record = _metrics(config, folder, summary, tiers)
        folder.write_metrics(record)
        folder.set_state("completed")
    except BaseException as exc:
        folder.set_state("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    return folder, record
