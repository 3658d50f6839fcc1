"""The order in which training samples are seen: reproducible and resumable.

Each epoch's order is a permutation drawn from ``(seed, epoch)`` only, and each sample's
augmentation seed from ``(seed, epoch, position)``, so a run resumed at any batch sees exactly
the samples and augmentations an uninterrupted run would, with or without worker processes.
"""

from __future__ import annotations

from typing import Iterator

import torch


def _mix(*values: int) -> int:
    """A 63-bit seed from integers (splitmix-style), stable across platforms."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = (x ^ (v + 0x9E3779B97F4A7C15 + (x << 6) + (x >> 2))) & 0xFFFFFFFFFFFFFFFF
        x = (x * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x & 0x7FFFFFFFFFFFFFFF


class EpochSampler(torch.utils.data.Sampler):
    """Yields ``(index, augmentation_seed)`` for one epoch.

    The epoch is cut into global batches of ``global_batch`` samples (an incomplete last one is
    dropped); this process (``rank`` of ``world_size``) takes every ``world_size``-th position
    of each, so ranks together see exactly what a single process would. ``skip`` leading
    positions (a multiple of ``global_batch``) are the ones a resumed run has already seen.
    """

    def __init__(self, n: int, seed: int, epoch: int, skip: int = 0, global_batch: int = 1,
                 rank: int = 0, world_size: int = 1) -> None:
        self.n, self.seed, self.epoch, self.skip = n, seed, epoch, skip
        self.usable = n // global_batch * global_batch
        self.rank, self.world_size = rank, world_size

    def order(self) -> list[int]:
        """This epoch's full permutation."""
        generator = torch.Generator().manual_seed(_mix(self.seed, self.epoch))
        return torch.randperm(self.n, generator=generator).tolist()

    def _positions(self) -> range:
        return range(self.skip + self.rank, self.usable, self.world_size)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = self.order()
        for position in self._positions():
            yield order[position], _mix(self.seed, self.epoch, position)

    def __len__(self) -> int:
        return len(self._positions())
