"""A segmenter a test registers through the ``vsbench.segmenters`` entry-point group."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from vsbench.biometrics.segmentation import Objects


class ThresholdSegmenter:
    """Nuclei = connected components of DNA > 0.3; no cells."""

    name = "threshold"

    def record(self) -> dict[str, object]:
        return {"name": self.name, "settings": {"threshold": 0.3}}

    def segment(self, image: np.ndarray, channels) -> Objects:
        return Objects(ndimage.label(image[list(channels).index("DNA")] > 0.3)[0]
                       .astype(np.int32))


def make() -> ThresholdSegmenter:
    """The entry point's factory."""
    return ThresholdSegmenter()
