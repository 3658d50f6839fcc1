"""The data contract: what a dataset source provides, whatever its file format.

A source lists its samples (:class:`SampleRecord`: plate, well, site, class labels) and loads
one sample at a time as numpy arrays: ``brightfield`` float32 ``[planes, H, W]`` and
``fluorescence`` float32 ``[channels, H, W]`` scaled to [0, 1]. The channel set (names and
number of brightfield planes and fluorescence channels) belongs to the source, never to the
engine, the metrics or the methods.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vsbench.errors import DataError


@dataclass(frozen=True)
class DatasetInfo:
    """What a method needs to know about a dataset to build itself.

    Attributes:
        name: the dataset's registered name.
        channels: fluorescence channel names, in the order of the ``fluorescence`` array.
        planes: brightfield plane names, in the order of the ``brightfield`` array.
        label_kinds: for each kind of class label (e.g. ``perturbation``, ``target``), the
            sorted class names; empty when the source has no labels.
    """

    name: str
    channels: tuple[str, ...]
    planes: tuple[str, ...]
    label_kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def num_classes(self, kind: str, minimum: int = 1) -> int:
        """Number of classes of label kind ``kind``; raises if the dataset has no such label or
        fewer than ``minimum`` classes of it (a class-conditioned method needs two: one class,
        e.g. a label column left empty in every row, conditions on nothing)."""
        if kind not in self.label_kinds:
            have = ", ".join(self.label_kinds) or "none"
            raise DataError(f"Dataset '{self.name}' has no '{kind}' labels (it has: {have}); "
                            "use a dataset with class labels or another label kind.")
        classes = self.label_kinds[kind]
        if len(classes) < minimum:
            raise DataError(f"Dataset '{self.name}' has {len(classes)} '{kind}' class(es) "
                            f"({', '.join(classes) or 'none'}; an empty cell counts as 'none') "
                            f"but at least {minimum} are needed: fill the label_{kind} column "
                            "of the manifest with each sample's class, or use another label "
                            "kind.")
        return len(classes)


@dataclass(frozen=True)
class SampleRecord:
    """One field of view: where it was imaged and its class labels."""

    sample_id: str
    plate: str
    well: str
    site: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Sample:
    """A loaded sample (numpy, before resizing and augmentation)."""

    record: SampleRecord
    brightfield: np.ndarray
    fluorescence: np.ndarray


class DatasetSource(abc.ABC):
    """A source of paired brightfield / fluorescence samples."""

    #: True when ``load`` returns brightfield already normalised to [0, 1] (e.g. with the
    #: source's own percentile clip); otherwise the torch dataset normalises it per image.
    brightfield_normalised: bool = False
    #: The geometric symmetries of the data, the only transforms augmentation draws
    #: (:data:`vsbench.data.augment.SYMMETRIES`): ``dihedral`` (widefield brightfield),
    #: ``flips``, ``rot180`` or ``none`` (directional contrast: oblique, DIC, phase gradient).
    #: A source that does not say gets no rotation or flip.
    symmetry: str = "none"

    @property
    @abc.abstractmethod
    def info(self) -> DatasetInfo:
        """Channel set and label kinds of this dataset."""

    @abc.abstractmethod
    def records(self) -> list[SampleRecord]:
        """Every sample of the dataset, in a stable order."""

    @abc.abstractmethod
    def load(self, record: SampleRecord) -> Sample:
        """Read one sample."""

    @abc.abstractmethod
    def fingerprint(self) -> str:
        """A short hash that changes whenever the data this source yields change."""

    def for_run(self, image_size: int, data_root: Path) -> "DatasetSource":
        """The source a run reads from at ``image_size``.

        Sources whose files are slow to decode return a preprocessed, cached copy here (built on
        first use under ``data_root``); the default is the source itself.
        """
        return self

    def describe(self) -> dict[str, object]:
        """A summary for ``vsbench datasets`` (cheap: does not read images); what is prepared
        for the dataset under a data root is added by :func:`vsbench.data.summary.summarise`."""
        records = self.records()
        return {
            "samples": len(records),
            "plates": len({r.plate for r in records}),
            "channels": ", ".join(self.info.channels),
            "planes": ", ".join(self.info.planes),
            "labels": ", ".join(self.info.label_kinds) or "-",
        }


def check_sample(sample: Sample, info: DatasetInfo) -> Sample:
    """Validate a loaded sample against the dataset's channel set; raise a clear DataError."""
    sid = sample.record.sample_id
    bf, fl = sample.brightfield, sample.fluorescence
    if bf.ndim != 3 or bf.shape[0] != len(info.planes):
        raise DataError(f"Sample {sid}: brightfield has shape {bf.shape}, expected "
                        f"[{len(info.planes)}, H, W] ({', '.join(info.planes)}).")
    if fl.ndim != 3 or fl.shape[0] != len(info.channels):
        raise DataError(f"Sample {sid}: fluorescence has shape {fl.shape}, expected "
                        f"[{len(info.channels)}, H, W] ({', '.join(info.channels)}).")
    if bf.shape[1:] != fl.shape[1:]:
        raise DataError(f"Sample {sid}: brightfield is {bf.shape[1:]} but fluorescence is "
                        f"{fl.shape[1:]}; both must be the same size.")
    for name, arr in (("brightfield", bf), ("fluorescence", fl)):
        if not np.isfinite(arr).all():
            raise DataError(f"Sample {sid}: {name} contains NaN or Inf pixels; fix or drop "
                            "the file.")
    if fl.min() < -1e-6 or fl.max() > 1 + 1e-6:
        raise DataError(f"Sample {sid}: fluorescence outside [0, 1] "
                        f"({fl.min():.3g}..{fl.max():.3g}); the source must rescale it.")
    return sample
