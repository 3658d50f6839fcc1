"""The prediction contract, checked wherever predictions enter vsbench.

A prediction is floating point, on the metric protocol's [0, 1] scale, ``[B, C, H, W]`` with one
image per input field, the dataset's channels and the input's size. It is checked where it
enters: a method plugin's ``predict`` during a run's evaluation and posterior sampling and in
``vsbench predict`` (:func:`checked_predict`, around every call, tiles included), and the files
``vsbench score`` reads (:func:`range_problem` in :mod:`vsbench.score.submitted`). Anything
else is refused with one :class:`vsbench.errors.MetricError` line naming the method or file,
what it gave and what is expected - never clamped and ranked, as a plugin returning [1, 6],
uint8 0..255 or negative values once was.

Values up to :data:`RANGE_TOLERANCE` outside [0, 1] pass (and are then clamped, as before): the
rounding of a blended tile, of (x + 1) / 2 in float32 or of a half-precision sigmoid, far below
the metrics' resolution, is not a broken plugin.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from vsbench.errors import MetricError
from vsbench.method import PredictOutput, Prediction

RANGE_TOLERANCE = 1e-3


def range_problem(low: float, high: float) -> str | None:
    """What is wrong with predicted values spanning ``[low, high]`` (the finite ones), or None
    when they are on [0, 1] within :data:`RANGE_TOLERANCE`."""
    if low >= -RANGE_TOLERANCE and high <= 1 + RANGE_TOLERANCE:
        return None
    hint = " (0..255: divide by 255)" if low >= 0 and 10 < high <= 255 else ""
    return (f"values in [{low:.4g}, {high:.4g}]; expected [0, 1] (within {RANGE_TOLERANCE:g}), "
            f"the metric protocol's scale{hint}")


def _finite_range(image: torch.Tensor) -> tuple[float, float] | None:
    finite = image[torch.isfinite(image)]
    if finite.numel() == 0:
        return None
    low, high = torch.aminmax(finite.float())
    return float(low), float(high)


def check_output(output: Any, brightfield: torch.Tensor, channels: Sequence[str], method: str,
                 finite: bool = False) -> None:
    """Refuse a ``predict`` output that breaks the contract, naming ``method``.

    ``brightfield`` is the batch the method was given (``[B, planes, H, W]``): the prediction
    must be ``[B, len(channels), H, W]``, floating point, on [0, 1]. With ``finite``, NaN and
    Inf are refused here too (where no metric refuses them later, naming the image).
    """
    image = output.image if isinstance(output, Prediction) else output
    if not isinstance(image, torch.Tensor):
        raise MetricError(f"{method} predicted a {type(image).__name__}; expected a "
                          "torch.Tensor [B, C, H, W] (or a vsbench.method.Prediction of one).")
    b, _, h, w = brightfield.shape
    expected = (b, len(channels), h, w)
    if tuple(image.shape) != expected:
        what = (f"{image.shape[0]} image(s) for a batch of {b} fields"
                if image.ndim == 4 and image.shape[0] != b else f"shape {tuple(image.shape)}")
        raise MetricError(f"{method} predicted {what} (input brightfield {tuple(brightfield.shape)}"
                          f"); expected {expected}: [B, C, H, W], one image per field, the "
                          f"{len(channels)} channel(s) {', '.join(channels)}, the input's size.")
    if not image.is_floating_point():
        raise MetricError(f"{method} predicted dtype {image.dtype}; expected floating point "
                          "values on [0, 1] (e.g. float32).")
    if finite and not torch.isfinite(image).all():
        raise MetricError(f"{method} predicted {int((~torch.isfinite(image)).sum())} NaN or "
                          "Inf value(s); every value must be a finite number on [0, 1].")
    span = _finite_range(image.detach())
    problem = span and range_problem(*span)
    if problem:
        raise MetricError(f"{method} predicted {problem}; return values on [0, 1] (e.g. a "
                          "sigmoid, or the [-1, 1] output mapped by (x + 1) / 2).")


def checked_predict(predict: Callable[[dict[str, Any]], PredictOutput], channels: Sequence[str],
                    method: str, finite: bool = False
                    ) -> Callable[[dict[str, Any]], PredictOutput]:
    """``predict`` with every output checked by :func:`check_output` against the batch it was
    given (so under tiled prediction each tile is checked before it is blended)."""
    def predict_checked(batch: dict[str, Any]) -> PredictOutput:
        output = predict(batch)
        check_output(output, batch["brightfield"], channels, method, finite)
        return output
    return predict_checked
