"""The base class of every method: the per-step pieces the engine drives.

A method owns its network(s) and says how to compute the loss of a training batch and how to
predict a batch. The engine owns everything else (loop, device, precision, seeds, optimiser,
checkpoints, progress, evaluation), so every method gets the same budget and handling. What a
method sees of the engine is its arguments: a :class:`Batch`, the training split and a cache
folder in :meth:`Method.prepare`, the preview in :meth:`Method.write_artifacts`; the engine
sets no attribute on a method and keeps nothing in it between calls.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TypedDict, Union

import torch
import torch.nn.functional as F

from vsbench.data.source import DatasetInfo


class Batch(TypedDict):
    """A collated batch, already on the run's device.

    Attributes:
        brightfield: float32 ``[B, planes, H, W]`` in [0, 1].
        fluorescence: float32 ``[B, channels, H, W]`` in [0, 1], the target (present in
            training and evaluation batches; :meth:`Method.predict` must not use it).
        labels: ``{kind: int64 [B]}`` class indices, for datasets that have labels.
        index: int64 ``[B]``, the sample's position in its split part.
        augmentation: int64 ``[B]``, the dihedral transform the dataset applied to the sample
            (a code of :mod:`vsbench.data.augment`; 0 when not augmenting), so that a method can
            transform what it derived from the unaugmented sample the same way.
    """

    brightfield: torch.Tensor
    fluorescence: torch.Tensor
    labels: dict[str, torch.Tensor]
    index: torch.Tensor
    augmentation: torch.Tensor


@dataclass(frozen=True)
class Prediction:
    """What :meth:`Method.predict` may return instead of a bare tensor.

    Attributes:
        image: predicted fluorescence ``[B, channels, H, W]`` on [0, 1].
        extras: per-image tensors ``[B, ...]`` the method wants to show beside the prediction
            (e.g. ``masks``: the masks each guidance round used, ``[B, rounds, C, H, W]``). The
            engine keeps those of the preview images and passes them to
            :meth:`Method.write_artifacts` as ``preview["extras"]``. Under tiled prediction,
            extras whose last two axes are the tile's are stitched like the image
            (:func:`vsbench.tiling.predict_batch_tiled`); other extras are dropped there.
    """

    image: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)


PredictOutput = Union[torch.Tensor, Prediction]

# The extra of a guided method's :class:`Prediction` holding its own unguided first estimate of
# the same images (same noise), ``[B, channels, H, W]`` on [0, 1]. The engine scores it beside
# the prediction (``per_image_metrics_unguided.csv``, ``metrics.json`` ``unguided``), so that
# guided minus unguided can be tested per image.
UNGUIDED_EXTRA = "unguided"


def as_prediction(output: PredictOutput) -> Prediction:
    """``output`` of :meth:`Method.predict` as a :class:`Prediction` (a tensor has no extras)."""
    return output if isinstance(output, Prediction) else Prediction(output)


def predicted_image(output: PredictOutput) -> torch.Tensor:
    """The image of ``output`` (a tensor, or a :class:`Prediction`'s ``image``)."""
    return as_prediction(output).image


class Method(abc.ABC):
    """A virtual-staining method as the engine sees it.

    Subclasses set ``self.model`` (the trainable ``torch.nn.Module``) in ``__init__`` and
    implement :meth:`training_loss` and :meth:`predict`.
    """

    model: torch.nn.Module

    def __init__(self, params: Any, info: DatasetInfo) -> None:
        self.params = params
        self.info = info

    @abc.abstractmethod
    def training_loss(self, batch: Batch) -> torch.Tensor:
        """The scalar loss of one training batch (the engine calls backward and steps)."""

    @abc.abstractmethod
    def predict(self, batch: Batch) -> PredictOutput:
        """Predicted fluorescence ``[B, channels, H, W]`` on the [0, 1] scale, or a
        :class:`Prediction` holding it and per-image extras."""

    def prepare(self, train_data: torch.utils.data.Dataset, device: torch.device,
                cache_dir: Path | None = None) -> None:
        """One-off work on the training split before training (e.g. computing masks).

        ``cache_dir`` is the dataset's folder under the data root
        (:attr:`vsbench.layout.DatasetFolder.method_cache`), where a method may cache what it
        derives from the dataset; None outside a run (then cache nothing).
        """

    def run_record(self) -> dict[str, Any]:
        """What the run record should say about the method beyond its hyperparameters, known
        after :meth:`prepare` (e.g. which pretrained weights were actually loaded). The engine
        stores it as ``method_record`` in ``config.json`` and ``metrics.json``."""
        return {}

    def write_artifacts(self, folder: Path, preview: dict[str, Any]) -> None:
        """Write extra files into the run folder after evaluation (e.g. the masks used for the
        preview images). ``preview`` holds the first test images as the engine shows them in
        ``predictions.png``: ``ids``, lists of batches ``brightfield``, ``prediction``,
        ``target``, and ``extras`` (``{name: list of batches}``, the :class:`Prediction`
        extras of those images; empty when the method returns bare tensors)."""

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


class DirectRegressor(Method):
    """A network that regresses the fluorescence channels from the brightfield in one pass.

    The output is the sigmoid of ``self.model(brightfield)`` (on [0, 1] by construction); the
    training loss is L1 or L2 (``params.loss``: ``l1`` or ``l2``) over all channels. Subclasses
    only build ``self.model`` (e.g. ``unet``, ``dodnet``).
    """

    def output(self, batch: Batch) -> torch.Tensor:
        """The prediction ``[B, channels, H, W]`` on [0, 1]."""
        return torch.sigmoid(self.model(batch["brightfield"]))

    def training_loss(self, batch: Batch) -> torch.Tensor:
        """L1 or L2 between the prediction (in float32) and the target."""
        loss = F.l1_loss if self.params.loss == "l1" else F.mse_loss
        return loss(self.output(batch).float(), batch["fluorescence"])

    def predict(self, batch: Batch) -> torch.Tensor:
        return self.output(batch)
