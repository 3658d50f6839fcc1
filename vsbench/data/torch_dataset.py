"""The torch ``Dataset`` every method trains and is evaluated on.

It reads samples from a source, prepares them as :func:`vsbench.data.normalise.prepare_sample`
does for the cache (checked, normalised, resized), keeps the result in memory, and applies paired
augmentation (the same flip and rotation to input and target: drawing them per channel is a
known bug of public virtual-staining code; only transforms of the data's symmetry group;
:mod:`vsbench.data.augment`), reporting which transform it applied in each item's
``augmentation``.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch

from vsbench.data.augment import IDENTITY, check_symmetry, paired_augment, symmetry_of
from vsbench.data.normalise import model_input, prepare_sample, resize
from vsbench.data.source import DatasetSource

__all__ = ["PairedImageDataset", "resize"]


class PairedImageDataset(torch.utils.data.Dataset):
    """Samples of one split part, as tensors at the run's image size."""

    def __init__(self, source: DatasetSource, sample_ids: Sequence[str], image_size: int,
                 augment: bool = False, symmetry: str | None = None) -> None:
        """``symmetry``: the group augmentation draws from (default: the one ``source``
        declares; the engine passes the dataset's, which a cache does not know)."""
        by_id = {r.sample_id: r for r in source.records()}
        self.symmetry = check_symmetry(symmetry) if symmetry else symmetry_of(source)
        self.source = source
        self.records = [by_id[i] for i in sample_ids]
        self.image_size = image_size
        self.augment = augment
        self._cache: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        info = source.info
        self._label_index = {kind: {name: i for i, name in enumerate(names)}
                             for kind, names in info.label_kinds.items()}

    def __len__(self) -> int:
        return len(self.records)

    def unaugmented(self) -> "PairedImageDataset":
        """The same samples without augmentation, sharing this dataset's prepared samples."""
        plain = copy.copy(self)
        plain.augment = False
        return plain

    def _prepared(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if index not in self._cache:
            sample = self.source.load(self.records[index])
            bf, fl = prepare_sample(self.source, sample, self.image_size)
            self._cache[index] = (model_input(self.source, bf), fl)
        return self._cache[index]

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """A sample by index, or by ``(index, augmentation_seed)`` as
        :class:`vsbench.data.sampler.EpochSampler` yields them (reproducible augmentation)."""
        index, aug_seed = key if isinstance(key, tuple) else (key, None)
        bf, fl = self._prepared(index)
        code = IDENTITY
        if self.augment:
            generator = None if aug_seed is None else torch.Generator().manual_seed(aug_seed)
            bf, fl, code = paired_augment(bf, fl, generator, self.symmetry)
        record = self.records[index]
        labels = {kind: torch.tensor(table[record.labels[kind]])
                  for kind, table in self._label_index.items() if kind in record.labels}
        return {"brightfield": bf, "fluorescence": fl, "labels": labels,
                "index": torch.tensor(index), "augmentation": torch.tensor(code)}
