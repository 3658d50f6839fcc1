"""What a run trains on, made from a loaded sample: one function for both the in-memory dataset
(:mod:`vsbench.data.torch_dataset`) and the preprocessed cache (:mod:`vsbench.data.cache`), so
that the two never drift apart.

The sample is checked against the channel set, its brightfield normalised per image (unless the
source did that itself, with its own clip), both images resized to the run's size and clamped
to [0, 1]. Resampling values on [0, 1] stays on [0, 1] in exact arithmetic; the clamp removes
the one-ulp excursions float rounding of bilinear upsampling can make (none occur on the
synthetic dataset: it is a no-op there, which the tests check).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vsbench.data.preprocess import ZSCORE, percentile_normalise, zscore
from vsbench.data.source import DatasetSource, Sample, check_sample


def resize(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resample [C, H, W] to [C, size, size] (area averaging down, bilinear up)."""
    if image.shape[-2:] == (size, size):
        return image
    down = image.shape[-1] > size and image.shape[-2] > size
    mode = "area" if down else "bilinear"
    kwargs = {} if down else {"align_corners": False}
    return F.interpolate(image[None], size=(size, size), mode=mode, **kwargs)[0]


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def prepare_sample(source: DatasetSource, sample: Sample, image_size: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(brightfield, fluorescence)`` of ``sample`` as a run sees them: checked, brightfield
    normalised unless ``source.brightfield_normalised``, resized to ``image_size`` and clamped
    to [0, 1]; float32, contiguous, ``[planes | channels, image_size, image_size]``."""
    check_sample(sample, source.info)
    bf = sample.brightfield
    if not source.brightfield_normalised:  # else the source did it (with its own clip)
        bf = percentile_normalise(bf)
    return (resize(_tensor(bf), image_size).clamp(0, 1).contiguous(),
            resize(_tensor(sample.fluorescence), image_size).clamp(0, 1).contiguous())


def standardises_input(source: DatasetSource) -> bool:
    """Whether ``source`` (or the cache built from it) asks for the brightfield input to be
    z-scored per plane after resizing (``preprocessing()["brightfield"] == "zscore"``)."""
    describe = getattr(source, "preprocessing", None)
    return callable(describe) and dict(describe()).get("brightfield") == ZSCORE


def model_input(source: DatasetSource, brightfield: torch.Tensor) -> torch.Tensor:
    """The brightfield a method sees, from :func:`prepare_sample`'s: as it is, or z-scored per
    plane where the source asks for it. Training, evaluation and ``vsbench predict`` all go
    through here, so new images are preprocessed exactly as the training ones."""
    if not standardises_input(source):
        return brightfield
    return torch.from_numpy(zscore(brightfield.numpy()))
