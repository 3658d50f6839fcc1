"""The default segmenter on hand-made fields, and its plugin point."""

from __future__ import annotations

import numpy as np
import pytest

from tests.biometrics.scenes import CHANNELS, disk, field
from vsbench.biometrics.matching import match_instances
from vsbench.biometrics.segmentation import (SegmentationSettings, WatershedSegmenter,
                                             channel_index, segment_nuclei)
from vsbench.biometrics.segmenters import available_segmenters, segmenter_for
from vsbench.biometrics.tiers import skip_note
from vsbench.errors import PluginError


def test_nuclei_and_cells_of_a_drawn_field():
    image = field(3)
    objects = WatershedSegmenter().segment(image, CHANNELS)
    assert objects.nuclei.max() == 4
    true_nuclei = np.zeros(image.shape[1:], np.int32)
    from scipy import ndimage

    true_nuclei = ndimage.label(image[0] > 0.3)[0]
    assert match_instances(true_nuclei, objects.nuclei).f1 == 1.0
    # Each cell holds its own nucleus and is much larger than it.
    for label in range(1, 5):
        nucleus, cell = objects.nuclei == label, objects.cells == label
        assert np.all(cell[nucleus])
        assert cell.sum() > 3 * nucleus.sum()


def test_touching_nuclei_are_split_and_a_flat_field_is_empty():
    dna = np.zeros((40, 40))
    dna[disk(dna.shape, 20, 14, 6) | disk(dna.shape, 20, 25, 6)] = 0.9
    labels = segment_nuclei(dna, SegmentationSettings())
    assert labels.max() == 2
    assert segment_nuclei(np.full((40, 40), 0.3), SegmentationSettings()).max() == 0


def test_specks_below_the_minimum_area_are_not_nuclei():
    dna = np.zeros((30, 30))
    dna[5, 5] = dna[20:22, 20:22] = 1.0  # 1 and 4 pixels
    assert segment_nuclei(dna, SegmentationSettings(smoothing_sigma=0.01)).max() == 0


def test_the_segmentation_is_deterministic():
    image = field(5)
    a, b = (WatershedSegmenter().segment(image, CHANNELS) for _ in range(2))
    assert np.array_equal(a.nuclei, b.nuclei) and np.array_equal(a.cells, b.cells)


def test_channels_are_found_by_name_and_a_set_without_dna_skips_with_a_note():
    assert channel_index(["RNA", "dapi"], ("dna", "dapi")) == 1
    assert channel_index(["ER", "AGP"], ("rna",)) is None
    note = skip_note(["ER", "Mito"])
    assert "no DNA-like channel among ER, Mito" in note and "skipped" in note
    assert skip_note(CHANNELS) is None
    only_dna = WatershedSegmenter().segment(field(1)[:1], ["DNA"])
    assert only_dna.cells is None and only_dna.nuclei.max() == 4


def test_the_segmenter_plugin_point():
    assert "watershed" in available_segmenters()
    assert segmenter_for("watershed").record()["settings"]["min_nucleus_area"] == 6
    with pytest.raises(PluginError, match="Unknown segmenter 'cellpose'.*watershed"):
        segmenter_for("cellpose")
