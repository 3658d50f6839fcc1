"""Evaluation: predict every test image, score it with the one metric protocol, keep a preview.

Fields larger than the training size are predicted in blended tiles of it
(:mod:`vsbench.tiling`). The preview is what ``predictions.png`` shows and what a method's
``write_artifacts`` receives: the first ``run.n_preview`` test images with their predictions,
targets and the :class:`vsbench.method.Prediction` extras the method returned for them.
A guided method's unguided first estimate (the extra :data:`vsbench.method.UNGUIDED_EXTRA`)
is scored too, into :attr:`Evaluation.unguided`: paired evidence from the same noise.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from rich.console import Console

from vsbench import config as cfg
from vsbench.contract import check_output, checked_predict
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.engine.predict_step import predict_step
from vsbench.engine.runtime import loader_options, to_device
from vsbench.method import UNGUIDED_EXTRA, Method, Prediction
from vsbench.metrics import MetricAccumulator
from vsbench.progress import progress_bar


class Evaluation(NamedTuple):
    """What :func:`evaluate` returns."""

    metrics: MetricAccumulator
    preview: dict[str, Any]
    seconds: float  # spent predicting (not loading or scoring)
    unguided: MetricAccumulator | None = None  # the unguided first estimates' scores, if any


class PreviewCollector:
    """The first ``size`` images of an evaluation, as lists of CPU batches."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.preview: dict[str, Any] = {"brightfield": [], "prediction": [], "target": [],
                                        "ids": [], "extras": {}}

    def add(self, batch: dict[str, Any], output: Prediction, ids: list[str]) -> None:
        """Keep what still fits of one predicted batch (``output.image`` in float32)."""
        room = self.size - len(self.preview["ids"])
        if room <= 0:
            return
        self.preview["brightfield"].append(batch["brightfield"][:room].cpu())
        self.preview["prediction"].append(output.image[:room].clamp(0, 1).cpu())
        self.preview["target"].append(batch["fluorescence"][:room].cpu())
        for name, value in output.extras.items():
            self.preview["extras"].setdefault(name, []).append(value[:room].cpu())
        self.preview["ids"].extend(ids[:room])


class FieldCollector:
    """Every test field's prediction (float16, clamped to [0, 1]: what the run saves and the
    biological tiers score) and real stain (float32), as numpy arrays by sample id."""

    def __init__(self) -> None:
        self.predictions: dict[str, np.ndarray] = {}
        self.targets: dict[str, np.ndarray] = {}

    def add(self, ids: list[str], prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Keep one predicted batch."""
        pred = prediction.detach().float().clamp(0, 1).cpu().numpy().astype(np.float16)
        real = target.detach().float().cpu().numpy()
        for i, sample_id in enumerate(ids):
            self.predictions[sample_id], self.targets[sample_id] = pred[i], real[i]

    def merge(self, others: list["FieldCollector"]) -> "FieldCollector":
        """This collector with the fields of ``others`` (the ranks of a distributed run)."""
        for other in others:
            self.predictions.update(other.predictions)
            self.targets.update(other.targets)
        return self


@torch.inference_mode()
def evaluate(method: Method, data: PairedImageDataset, run: cfg.RunConfig, device: torch.device,
             method_name: str, console: Console | None,
             fields: FieldCollector | None = None) -> Evaluation:
    """Predict every image of ``data`` and score it; return the metrics, a preview of the
    first ``run.n_preview`` images (with the method's extras for them), and the seconds spent
    predicting. ``fields``, when given, keeps every prediction and real stain."""
    options = loader_options(run, device) | {"persistent_workers": False}  # one pass only
    loader = torch.utils.data.DataLoader(data, batch_size=run.eval_batch_size, shuffle=False,
                                         **options)
    channels = data.source.info.channels
    metrics = MetricAccumulator(channels)
    preview = PreviewCollector(run.n_preview)
    # Every call of the plugin's predict (each tile) is checked against the prediction
    # contract; NaN is left to the metrics, which name the test image.
    predict = checked_predict(method.predict, channels, method_name)
    unguided: MetricAccumulator | None = None
    seconds = 0.0
    with progress_bar(console, "predict", len(data)) as bar:
        for batch in loader:
            batch = to_device(batch, device, run.channels_last)
            ids = [data.records[int(i)].sample_id for i in batch["index"]]
            output, spent = predict_step(predict, batch, run, device, run.eval_batch_size)
            seconds += spent
            metrics.update(output.image, batch["fluorescence"], ids, method=method_name)
            first = output.extras.get(UNGUIDED_EXTRA)
            if first is not None:
                check_output(first, batch["brightfield"], channels,
                             f"{method_name} (unguided first estimate)")
                if unguided is None:
                    unguided = MetricAccumulator(channels)
                unguided.update(first.float(), batch["fluorescence"], ids,
                                method=f"{method_name} (unguided first estimate)")
                # scored, not kept: the preview shows what the method predicted
                output = Prediction(output.image, {k: v for k, v in output.extras.items()
                                                   if k != UNGUIDED_EXTRA})
            preview.add(batch, output, ids)
            if fields is not None:
                fields.add(ids, output.image, batch["fluorescence"])
            bar.advance(len(ids))
    return Evaluation(metrics, preview.preview, seconds, unguided)
