"""The ``class-guided`` method: the toolkit's conditional diffusion with a class embedding."""

from __future__ import annotations

from typing import Any

import torch

from vsbench.data import DataError, DatasetInfo
from vsbench.diffusion.method import ConditionalDiffusionMethod


class ClassGuidedMethod(ConditionalDiffusionMethod):
    """Palette with a learned embedding of the ``label_kind`` class label."""

    def __init__(self, params, info: DatasetInfo) -> None:
        # Checked before the network is built: a dataset without the labels, or with a single
        # class of them (e.g. an empty label column), fails here, with DataError's one-line
        # message, before any training.
        self.num_classes = info.num_classes(params.label_kind, minimum=2)
        super().__init__(params, info)

    def num_class_embeds(self) -> int:
        return self.num_classes

    def class_labels(self, batch: dict[str, Any]) -> torch.Tensor:
        labels = batch.get("labels", {})
        kind = self.params.label_kind
        if kind not in labels:
            raise DataError(f"This batch has no '{kind}' labels (it has: "
                            f"{', '.join(labels) or 'none'}); every sample of a dataset used "
                            "with class-guided needs one.")
        return labels[kind].long()
