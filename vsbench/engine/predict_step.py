"""One prediction step, shared by every loop that predicts: a run's test evaluation
(:mod:`vsbench.engine.evaluate`), the posterior tier's extra samples
(:mod:`vsbench.engine.posterior`) and ``vsbench predict`` (:mod:`vsbench.predict.apply`).

A batch on the device is predicted under the run's autocast precision, in blended tiles of
the training size where the fields are larger (:func:`vsbench.tiling.predict_batch_tiled`),
and returned in float32 with the seconds it took (on CUDA after a synchronisation, so that
the time is the kernels' and not their launch)."""

from __future__ import annotations

import time
from typing import Any, Callable

import torch

from vsbench.engine.runtime import autocast_context
from vsbench.method import Prediction, as_prediction
from vsbench.tiling import predict_batch_tiled


def predict_step(predict: Callable[[dict[str, Any]], Any], batch: dict[str, Any], run: Any,
                 device: torch.device, per_call: int) -> tuple[Prediction, float]:
    """``predict`` (a checked plugin predict) on ``batch``: the prediction (its image in
    float32, extras as returned) and the seconds. ``run``: the resolved run settings
    (precision, image size, tile overlap); ``per_call``: fields per call of ``predict``."""
    start = time.perf_counter()
    with autocast_context(device, run.precision):
        output = as_prediction(predict_batch_tiled(predict, batch, run.image_size,
                                                   run.tile_overlap, per_call))
    output = Prediction(output.image.float(), output.extras)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return output, time.perf_counter() - start
