"""What a finished run writes: its training log, per-image metrics, preview, metrics record.

Every file goes through the results store and the atomic writers: ``train_log.csv`` (loss per
epoch), ``per_image_metrics.csv`` (one row per test image and channel), ``predictions.png`` and
``predictions.npz`` (the preview; :mod:`vsbench.figures`), then ``metrics.json``
(:class:`vsbench.records.MetricsRecord`), and last the state ``completed``. A guided method's
unguided first estimates, scored too, add ``per_image_metrics_unguided.csv`` and the summary
``unguided`` in ``metrics.json`` (paired evidence: same images, same noise).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from vsbench import atomic
from vsbench.plain import plain_json
from vsbench.data.splits import fields_text
from vsbench.engine.plan import RunPlan
from vsbench.engine.train import TrainState
from vsbench.figures import prediction_grid
from vsbench.layout import (PER_IMAGE_FILE, PER_IMAGE_UNGUIDED_FILE, PREDICTIONS_FILE,
                            PREVIEW_FILE, TEST_FIELDS_FILE, TRAIN_LOG_FILE)
from vsbench.metrics import MetricAccumulator
from vsbench.records import SCHEMA_VERSION, ConfigRecord, MetricsRecord
from vsbench.store import RunFolder


TRAIN_LOG_COLUMNS = ("epoch", "loss", "seconds")  # a log without epochs: the header alone


def csv_text(rows: list[dict], columns: Sequence[str] = ()) -> str:
    """``rows`` as CSV with a header (the first row's keys; ``columns`` when there is no
    row)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else list(columns),
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def save_predictions(path: Path, preview: dict[str, Any], channels: Sequence[str]) -> None:
    """The preview's arrays as ``predictions.npz`` (float16: for pictures, not for scores)."""
    atomic.write_npz(path, **{k: torch.cat(preview[k]).numpy().astype(np.float16)
                              for k in ("brightfield", "prediction", "target")},
                     sample_ids=np.array(preview["ids"], dtype=str),
                     channels=np.array(channels, dtype=str))


def write_preview(folder: RunFolder, plan: RunPlan, preview: dict[str, Any]) -> None:
    """``predictions.png`` and ``predictions.npz`` of the preview images (none: nothing)."""
    if not preview["ids"]:
        return
    request, channels = plan.request, plan.source.info.channels
    prediction_grid(folder.file(PREVIEW_FILE), torch.cat(preview["brightfield"]).numpy(),
                    torch.cat(preview["prediction"]).numpy(),
                    torch.cat(preview["target"]).numpy(), channels, preview["ids"],
                    title=f"{request.method} on {request.dataset} (seed {request.seed})")
    save_predictions(folder.file(PREDICTIONS_FILE), preview, channels)


def metrics_record(plan: RunPlan, config: ConfigRecord, folder: RunFolder, trained: TrainState,
                   summary: dict[str, Any], predict_seconds: float,
                   unguided: dict[str, Any] | None = None,
                   biometrics: dict[str, Any] | None = None,
                   tiers: dict[str, dict[str, Any]] | None = None) -> MetricsRecord:
    """The ``metrics.json`` record of a run (``summary``: ``MetricAccumulator.compute()``;
    ``unguided``: the same of the unguided first estimates, for a guided method;
    ``biometrics``: the biological tiers' summary; ``tiers``: the ``profiles`` and
    ``posterior`` summaries)."""
    request, run = plan.request, plan.resolved.run
    record = {
        "method": request.method, "dataset": request.dataset,
        "dataset_fingerprint": config.dataset_fingerprint,
        "split_hash": plan.split.hash, "preset": request.preset, "seed": request.seed,
        "image_size": run.image_size, "eval_image_size": run.eval_image_size or run.image_size,
        "n_test_images": summary["n_images"],
        "channels": summary["channels"], "average": summary["average"],
        "pcc_undefined_images": summary["pcc_undefined"],
        "train_seconds": round(trained.seconds, 3),
        "predict_seconds_per_image": round(predict_seconds / max(summary["n_images"], 1), 5),
        "run_id": folder.run_id, "config_hash": config.config_hash,
        "schema_version": SCHEMA_VERSION,  # written now: not a record to upgrade
    }
    if config.method_record:
        record["method_record"] = config.method_record
    if unguided is not None:
        record["unguided"] = {"channels": unguided["channels"], "average": unguided["average"],
                              "n_test_images": unguided["n_images"],
                              "per_image_file": PER_IMAGE_UNGUIDED_FILE}
    if biometrics is not None:
        record["biometrics"] = biometrics
    for name, value in (tiers or {}).items():
        record[name] = plain_json(value)
    return MetricsRecord.from_json(record)


def write_results(plan: RunPlan, config: ConfigRecord, folder: RunFolder, trained: TrainState,
                  scores: MetricAccumulator, preview: dict[str, Any], predict_seconds: float,
                  unguided: MetricAccumulator | None = None,
                  biometrics: dict[str, Any] | None = None,
                  tiers: dict[str, dict[str, Any]] | None = None) -> MetricsRecord:
    """Write the log, per-image metrics, preview and metrics.json (with the biological
    tiers' summary ``biometrics``); mark the run completed. ``unguided``: the scores of a
    guided method's unguided first estimates (else None)."""
    summary = scores.compute()
    atomic.write_text(folder.file(TRAIN_LOG_FILE), csv_text(trained.log, TRAIN_LOG_COLUMNS))
    atomic.write_text(folder.file(PER_IMAGE_FILE), csv_text(scores.per_image()))
    # which test images share a well: the boards' intervals resample wells, not images
    atomic.write_text(folder.file(TEST_FIELDS_FILE),
                      fields_text(plan.source.records(), plan.test_ids))
    if unguided is not None:
        atomic.write_text(folder.file(PER_IMAGE_UNGUIDED_FILE), csv_text(unguided.per_image()))
    write_preview(folder, plan, preview)
    metrics = metrics_record(plan, config, folder, trained, summary, predict_seconds,
                             None if unguided is None else unguided.compute(), biometrics,
                             tiers)
    folder.write_metrics(metrics)
    folder.set_state("completed")
    return metrics
