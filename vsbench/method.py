"""The base class of every method: the per-step pieces the engine drives.

A method owns its network(s) and says how to compute the loss of a training batch and how to
predict a batch. The engine owns everything else (loop, device, precision, seeds, optimiser,
checkpoints, progress, evaluation), so every method gets the same budget and handling.

A batch is a dict of tensors already on the run's device:

- ``brightfield``: float32 ``[B, planes, H, W]`` in [0, 1];
- ``fluorescence``: float32 ``[B, channels, H, W]`` in [0, 1] (the target);
- ``labels``: ``{kind: int64 [B]}`` class indices, for datasets that have labels;
- ``index``: int64 ``[B]``, the sample's position in its split part.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, Iterator

import torch

from vsbench.data.source import DatasetInfo


class Method(abc.ABC):
    """A virtual-staining method as the engine sees it.

    Subclasses set ``self.model`` (the trainable ``torch.nn.Module``) in ``__init__`` and
    implement :meth:`training_loss` and :meth:`predict`.
    """

    model: torch.nn.Module
    # Set by the engine before prepare(): <data_root>/<dataset>, where a method may cache what
    # it derives from the dataset (e.g. masks of the training images); None outside a run.
    cache_root: Path | None = None

    def __init__(self, params: Any, info: DatasetInfo) -> None:
        self.params = params
        self.info = info

    @abc.abstractmethod
    def training_loss(self, batch: dict[str, Any]) -> torch.Tensor:
        """The scalar loss of one training batch (the engine calls backward and steps)."""

    @abc.abstractmethod
    def predict(self, batch: dict[str, Any]) -> torch.Tensor:
        """Predicted fluorescence ``[B, channels, H, W]`` on the [0, 1] scale."""

    def prepare(self, train_data: torch.utils.data.Dataset, device: torch.device) -> None:
        """One-off work on the training split before training (e.g. computing masks)."""

    def run_record(self) -> dict[str, Any]:
        """What the run record should say about the method beyond its hyperparameters, known
        after :meth:`prepare` (e.g. which pretrained weights were actually loaded). The engine
        stores it as ``method_record`` in ``config.json`` and ``metrics.json``."""
        return {}

    def write_artifacts(self, folder: Path, preview: dict[str, Any]) -> None:
        """Write extra files into the run folder after evaluation (e.g. the masks used for the
        preview images). ``preview`` holds the first test images as the engine shows them in
        ``predictions.png``: ``ids``, and lists of batches ``brightfield``, ``prediction``,
        ``target``."""

    def trainable_parameters(self) -> Iterator[torch.nn.Parameter]:
        """The parameters the engine's optimiser updates."""
        return self.model.parameters()

    def after_optimizer_step(self) -> None:
        """Called after every optimiser step (e.g. to update an EMA of the weights)."""

    def to(self, device: torch.device) -> "Method":
        """Move every module the method holds to ``device``."""
        for value in vars(self).values():
            if isinstance(value, torch.nn.Module):
                value.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        """Switch the trainable model between training and evaluation mode."""
        self.model.train(mode)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to restore the method (the model; subclasses add EMA etc.)."""
        return {"model": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
