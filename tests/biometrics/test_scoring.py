"""The ground-truth cache and the scoring of a run's predictions (files and summary)."""

from __future__ import annotations

import csv
import gzip
import json

import numpy as np
import pytest

from tests.biometrics.scenes import CHANNELS, fields
from vsbench.biometrics import ground_truth as gt
from vsbench.biometrics.features import FeatureSettings
from vsbench.biometrics.scoring import score_run
from vsbench.biometrics.segmentation import WatershedSegmenter
from vsbench.biometrics.tiers import score_tiers
from vsbench.layout import CELL_FEATURES_FILE, FEATURE_SCORES_FILE, PER_IMAGE_INSTANCE_FILE

IDS = [f"s{i}" for i in range(4)]


@pytest.fixture(scope="module")
def images():
    return fields(4)


def _score(folder, images, predictions, cache, calls, **kw):
    def targets():
        calls.append(1)
        return images

    return score_run(folder, predictions, IDS, CHANNELS, dataset_fingerprint="fp",
                     split_hash="split", cache_dir=cache, targets=targets, **kw)


def test_a_perfect_prediction_and_the_files(tmp_path, images):
    calls: list = []
    summary = _score(tmp_path, images, images.astype(np.float16), tmp_path / "cache", calls)
    assert calls == [1] and summary["ground_truth"]["from_cache"] is False
    assert summary["instance"]["nuclei"]["f1"] == 1.0 and summary["instance"]["cells"]["f1"] > 0.9
    assert summary["features"]["objects"] == "cells" and summary["features"]["n_objects"] == 16
    assert summary["features"]["average"]["median_pearson"] > 0.99
    json.dumps(summary, allow_nan=False)  # strict JSON: NaN recorded as null
    rows = list(csv.DictReader((tmp_path / PER_IMAGE_INSTANCE_FILE).open()))
    assert [(r["sample_id"], r["objects"]) for r in rows[:2]] == [("s0", "nuclei"),
                                                                   ("s0", "cells")]
    with gzip.open(tmp_path / CELL_FEATURES_FILE, "rt") as handle:
        cells = list(csv.DictReader(handle))
    assert set(cells[0]) == {"sample_id", "object", "channel", "feature", "real", "predicted"}
    one = next(r for r in cells if r["channel"] == "DNA"
               and r["feature"] == "Intensity_MeanIntensity")
    assert float(one["real"]) == pytest.approx(float(one["predicted"]), rel=2e-3)  # float16
    assert (tmp_path / FEATURE_SCORES_FILE).read_text().startswith("channel,feature,n_objects")


def test_the_ground_truth_cache_is_hit_and_keyed_by_the_settings(tmp_path, images):
    calls: list = []
    noisy = np.clip(images + np.random.default_rng(0).normal(0, 0.1, images.shape), 0, 1)
    first = _score(tmp_path, images, noisy, tmp_path / "cache", calls)
    second = _score(tmp_path, images, noisy, tmp_path / "cache", calls)
    assert calls == [1] and second["ground_truth"]["from_cache"] is True
    assert {k: v for k, v in first.items() if k not in ("seconds", "ground_truth")} == {
        k: v for k, v in second.items() if k not in ("seconds", "ground_truth")}
    other = _score(tmp_path, images, noisy, tmp_path / "cache", calls,
                   features=FeatureSettings(feature_sets=("intensity",)))
    assert calls == [1, 1] and other["ground_truth"]["cache_key"] != first["ground_truth"][
        "cache_key"]


def test_the_cache_round_trips(tmp_path, images):
    truth = gt.compute(images, IDS, CHANNELS, WatershedSegmenter(), FeatureSettings())
    gt.save(tmp_path / "t.npz", truth)
    back = gt.load(tmp_path / "t.npz")
    assert back.sample_ids == truth.sample_ids and back.from_cache
    assert np.array_equal(back.nuclei, truth.nuclei) and np.array_equal(back.cells, truth.cells)
    for a, b in zip(truth.features, back.features):
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_processes_give_the_same_scores(images):
    truth = gt.compute(images, IDS, CHANNELS, WatershedSegmenter(), FeatureSettings())
    noisy = np.clip(images + np.random.default_rng(1).normal(0, 0.05, images.shape), 0, 1)
    serial = score_tiers(noisy, truth, CHANNELS, WatershedSegmenter(), FeatureSettings())
    parallel = score_tiers(noisy, truth, CHANNELS, WatershedSegmenter(), FeatureSettings(),
                           workers=2)
    assert serial.per_image == parallel.per_image
    same = [np.array_equal([r["real"], r["predicted"]], [q["real"], q["predicted"]],
                           equal_nan=True) for r, q in zip(serial.cell_features,
                                                           parallel.cell_features)]
    assert len(same) == len(serial.cell_features) == len(parallel.cell_features) and all(same)


def test_a_channel_set_without_dna_skips_with_a_note(tmp_path, images):
    summary = score_run(tmp_path, images[:, 1:], IDS, CHANNELS[1:], dataset_fingerprint="fp",
                        split_hash="s", cache_dir=tmp_path, targets=lambda: images[:, 1:])
    assert summary["skipped"].startswith("no DNA-like channel among ER, RNA, AGP, Mito")
    assert not (tmp_path / PER_IMAGE_INSTANCE_FILE).exists()


def test_a_registered_segmenter_replaces_the_default(tmp_path, images, monkeypatch):
    site = tmp_path / "site"
    dist = site / "threshold_segmenter-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: threshold-segmenter\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[vsbench.segmenters]\nthreshold = tests.biometrics.threshold_segmenter:make\n")
    monkeypatch.syspath_prepend(str(site))
    calls: list = []
    summary = _score(tmp_path, images, images, tmp_path / "cache", calls,
                     segmenter="threshold")
    assert summary["segmenter"] == {"name": "threshold", "settings": {"threshold": 0.3}}
    assert list(summary["instance"]) == ["nuclei"]  # this segmenter finds no cells
    assert summary["features"]["objects"] == "nuclei"
    assert summary["instance"]["nuclei"]["f1"] == 1.0
