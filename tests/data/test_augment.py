"""Paired augmentation: input and target always get the same flip / 90-degree rotation (drawing
them per channel or per image is a known bug of public virtual-staining code)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsbench.data.source import DatasetInfo, DatasetSource, Sample, SampleRecord
from vsbench.data.augment import dihedral as apply_code
from vsbench.data.augment import check_symmetry, paired_augment, random_code, symmetry_of
from vsbench.errors import ConfigError
from vsbench.data.torch_dataset import PairedImageDataset


def dihedral(image: torch.Tensor) -> list[torch.Tensor]:
    """The 8 flips / rotations of an image [..., H, W], in a fixed order."""
    out = []
    for k in range(4):
        turned = torch.rot90(image, k, dims=(-2, -1))
        out += [turned, torch.flip(turned, dims=(-1,))]
    return out


def which(transformed: torch.Tensor, original: torch.Tensor) -> int:
    matches = [i for i, t in enumerate(dihedral(original)) if torch.equal(t, transformed)]
    assert len(matches) == 1, "the base image must have no symmetry"
    return matches[0]


def test_input_and_target_move_together():
    base = torch.arange(36, dtype=torch.float32).reshape(6, 6)  # no symmetry: 8 distinct images
    brightfield = torch.stack([base, base * 2, base + 7])
    # Every target channel is a different pixel-wise function of the same layout.
    fluorescence = torch.stack([base.sqrt(), base**2, -base, torch.exp(base / 36), base * 0.1])
    generator = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(64):
        bf, fl, code = paired_augment(brightfield, fluorescence, generator)
        torch.testing.assert_close(bf, apply_code(brightfield, code))
        torch.testing.assert_close(fl, apply_code(fluorescence, code))
        transforms = {which(bf[p], brightfield[p]) for p in range(3)}
        transforms |= {which(fl[c], fluorescence[c]) for c in range(5)}
        assert len(transforms) == 1, "planes or channels were transformed differently"
        seen |= transforms
    assert seen == set(range(8))  # all flips and rotations occur


class PairedToy(DatasetSource):
    """Two samples whose target is a fixed function of the input's pixels."""

    info = DatasetInfo("toy", channels=("DNA", "ER"), planes=("BF",))
    brightfield_normalised = True  # already on [0, 1]: the target stays a function of it
    symmetry = "dihedral"

    def records(self):
        return [SampleRecord(f"s{i}", f"P{i}", "A01", "1") for i in range(2)]

    def load(self, record):
        rng = np.random.default_rng(int(record.sample_id[1:]))
        bf = rng.random((1, 16, 16)).astype(np.float32)
        return Sample(record, bf, np.concatenate([bf, 1 - bf]).astype(np.float32))

    def fingerprint(self):
        return "toy"


def test_dataset_augments_pairs_reproducibly():
    data = PairedImageDataset(PairedToy(), ["s0", "s1"], image_size=16, augment=True)
    plain = PairedImageDataset(PairedToy(), ["s0", "s1"], image_size=16)
    outputs = set()
    for seed in range(64):
        item = data[(0, seed)]
        bf, fl = item["brightfield"], item["fluorescence"]
        torch.testing.assert_close(fl[0], bf[0])  # the relation survives augmentation
        torch.testing.assert_close(fl[1], 1 - bf[0])
        outputs.add(which(bf[0], plain[0]["brightfield"][0]))
        # The item says which transform it applied.
        torch.testing.assert_close(bf, apply_code(plain[0]["brightfield"], int(item["augmentation"])))
        torch.testing.assert_close(data[(0, seed)]["fluorescence"], fl)  # same seed, same draw
    assert len(outputs) == 8


def test_unaugmented_view_shares_the_prepared_samples():
    data = PairedImageDataset(PairedToy(), ["s0", "s1"], image_size=16, augment=True)
    plain = PairedImageDataset(PairedToy(), ["s0", "s1"], image_size=16)
    view = data.unaugmented()
    assert data.augment and not view.augment
    for seed in range(8):  # never augmented, whatever the seed
        torch.testing.assert_close(view[(1, seed)]["brightfield"], plain[1]["brightfield"])
    assert view._cache is data._cache and 1 in data._cache  # decoded once, for both


@pytest.mark.parametrize("symmetry, codes", [("dihedral", set(range(8))), ("flips", {0, 2, 4, 6}),
                                             ("rot180", {0, 2}), ("none", {0})])
def test_only_the_declared_group_is_drawn(symmetry, codes):
    generator = torch.Generator().manual_seed(1)
    drawn = {random_code(generator, symmetry) for _ in range(200)}
    assert drawn == codes
    # flips: 4 mirrors left-right, 6 up-down, 2 is the half turn.
    base = torch.arange(12.0).reshape(3, 4)
    torch.testing.assert_close(apply_code(base, 4), base.flip(-1))
    torch.testing.assert_close(apply_code(base, 6), base.flip(-2))
    torch.testing.assert_close(apply_code(base, 2), base.flip(-1).flip(-2))


def test_dataset_draws_from_the_source_symmetry():
    toy = PairedToy()
    undeclared = type("Undeclared", (PairedToy,), {"symmetry": DatasetSource.symmetry})()
    assert symmetry_of(undeclared) == "none"
    for source, symmetry, expected in ((undeclared, None, {0}), (toy, None, set(range(8))),
                                       (toy, "rot180", {0, 2})):
        data = PairedImageDataset(source, ["s0"], 16, augment=True, symmetry=symmetry)
        assert {int(data[(0, seed)]["augmentation"]) for seed in range(64)} == expected
    with pytest.raises(ConfigError, match="--set symmetry=mirror: use one of dihedral, flips, "
                                          "rot180, none"):
        check_symmetry("mirror")
