"""Base of the sources that decode image files below a root folder (``folder``,
``jump-cpg0000``).

What they share: settings stored in ``<data_root>/<name>/source.json`` (a dataclass with at least
``root``, ``clip_low`` and ``clip_high``), an index of the files built once, on first use, under
a lock; per-image percentile normalisation of brightfield and fluorescence alike; a fingerprint
hashing the source's version, its settings and what its index says about the files; and runs
reading a preprocessed cache (:mod:`vsbench.data.cache`) instead of decoding files.
"""

from __future__ import annotations

import abc
import hashlib
import json
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from vsbench.data import settings as source_settings
from vsbench.data.cache import build
from vsbench.data.preprocess import percentile_normalise
from vsbench.data.source import DatasetInfo, DatasetSource, Sample, SampleRecord
from vsbench.errors import ConfigError
from vsbench.layout import dataset_folder

S = TypeVar("S", bound="FileSource")


def validate_clip(clip_low: float, clip_high: float) -> None:
    """Raise :class:`ConfigError` unless ``0 <= clip_low < clip_high <= 100``."""
    if not 0 <= clip_low < clip_high <= 100:
        raise ConfigError(f"--set clip_low={clip_low} clip_high={clip_high}: need "
                          "0 <= clip_low < clip_high <= 100.")


class FileSource(DatasetSource):
    """A source of image files below ``self.root``, configured by ``SETTINGS``.

    Subclasses set ``NAME``, ``SETTINGS`` and ``VERSION`` (bumped when loading or preprocessing
    changes what the source yields), and implement :meth:`_index` (set ``self._records`` and
    ``self._info``), :meth:`_fingerprint_parts` and ``load`` (ending in :meth:`_sample`).
    """

    NAME: ClassVar[str]
    SETTINGS: ClassVar[type]
    VERSION: ClassVar[int] = 1
    #: Settings that do not change the data (where the files are), left out of the fingerprint.
    LOCATION_SETTINGS: ClassVar[tuple[str, ...]] = ("root",)

    brightfield_normalised = True  # normalised here, with the same clip as the fluorescence

    _records: list[SampleRecord]
    _info: DatasetInfo

    def __init__(self, settings: Any = None, data_root: Path = Path("datasets")) -> None:
        self.settings = settings or self.SETTINGS()
        self.settings.validate()
        self.data_root = Path(data_root)
        self.root = source_settings.resolve_root(self.settings.root, self.data_root, self.NAME)
        self._lock = threading.Lock()
        self._built = False
        self._fingerprint: str | None = None

    @classmethod
    def from_data_root(cls: type[S], data_root: Path) -> S:
        """The factory: the source as configured in ``<data_root>/<NAME>/source.json``."""
        return cls(source_settings.load(cls.SETTINGS, data_root, cls.NAME), data_root)

    @classmethod
    def from_settings(cls: type[S], settings: Any, data_root: Path) -> S:
        """The source with ``settings`` not (yet) stored (see
        :func:`vsbench.data.settings.candidate`)."""
        return cls(settings, data_root)

    @abc.abstractmethod
    def _index(self) -> None:
        """List the samples and their files (called once, under the lock)."""

    @abc.abstractmethod
    def _fingerprint_parts(self) -> dict[str, Any]:
        """What of the files the fingerprint hashes (e.g. digests of manifests and images)."""

    def _build(self) -> None:
        with self._lock:
            if not self._built:
                self._index()
                self._built = True

    @property
    def info(self) -> DatasetInfo:
        self._build()
        return self._info

    def records(self) -> list[SampleRecord]:
        self._build()
        return list(self._records)

    def _sample(self, record: SampleRecord, bf: np.ndarray, fl: np.ndarray) -> Sample:
        """The sample of raw planes ``bf`` and ``fl``, each plane clipped at its own
        percentiles (``clip_low``, ``clip_high``) and rescaled to [0, 1]."""
        low, high = self.settings.clip_low, self.settings.clip_high
        return Sample(record, percentile_normalise(bf, low, high),
                      percentile_normalise(fl, low, high))

    def fingerprint(self) -> str:
        """A hash of the source's version, its settings (but where the files are) and
        :meth:`_fingerprint_parts`; computed once."""
        self._build()
        if self._fingerprint is None:
            # The symmetry is what training may do to the data, not the data.
            settings = {k: v for k, v in asdict(self.settings).items()
                        if k not in self.LOCATION_SETTINGS and k != "symmetry"}
            key = json.dumps({"source": self.NAME, "version": self.VERSION, "settings": settings,
                              **self._fingerprint_parts()}, sort_keys=True, default=list)
            self._fingerprint = f"{self.NAME}-" + hashlib.sha256(key.encode()).hexdigest()[:12]
        return self._fingerprint

    def for_run(self, image_size: int, data_root: Path) -> DatasetSource:
        """The preprocessed cache at ``image_size`` (built on first use)."""
        from rich.console import Console

        return build(self, image_size, dataset_folder(data_root, self.info.name).cache_root,
                     console=Console(stderr=True))

    @property
    def symmetry(self) -> str:  # type: ignore[override]
        """The ``symmetry`` setting where the source has one, else the class's declaration."""
        return getattr(self.settings, "symmetry", getattr(type(self), "SYMMETRY", "none"))

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "root": str(self.root)}
