"""Fabricated run folders with every file the report draws (no training): the pixel tier's
records (:func:`tests.leaderboard.test_board.make_run`), predictions, a training log, masks,
the biological tiers (with a ground-truth cache for the nuclei outlines), the profile and
posterior tiers, and a run that reused another's training."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from tests.leaderboard.test_board import N_IMAGES, make_run
from vsbench.layout import (CELL_FEATURES_FILE, FEATURE_SCORES_FILE, METRICS_FILE,
                            PER_IMAGE_INSTANCE_FILE, PER_IMAGE_MEAN_FILE, PER_IMAGE_POSTERIOR_FILE,
                            POSTERIOR_SAMPLES_FILE, PROFILES_MAP_FILE, TEST_PREDICTIONS_FILE,
                            dataset_folder)

# Ten method names, long and short, listed so that rank order (their PCC falls along the
# list) is not alphabetical: "unet" ranks first, "palette" (alphabetically before it) later.
METHODS = ("unet", "palette-threshold-local", "dodnet", "palette", "cyclegan", "pix2pix",
           "unet-large", "palette-oracle-like", "baseline-mean", "a-very-long-method-name-x")
MASKED = ("palette-threshold-local", "palette")  # the mask-guided ones (masks.npz)
STOCHASTIC = ("palette", "palette-threshold-local")  # the ones with several samples
SIZE = 32
CACHE_KEY = "fabricated"
PERTURBATIONS = ("compound-A", "compound-B", "compound-C")


def _update_metrics(folder, **changes) -> None:
    path = folder.file(METRICS_FILE)
    record = json.loads(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(record.get(key), dict):
            record[key] = {**record[key], **value}
        else:
            record[key] = value
    path.write_text(json.dumps(record))


def _blobs(rng, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of bright disks on a dark background and their labelled nuclei."""
    yy, xx = np.mgrid[:size, :size]
    images = np.zeros((n, size, size), np.float32)
    labels = np.zeros((n, size, size), np.int32)
    for i in range(n):
        for k, (cy, cx) in enumerate(rng.uniform(6, size - 6, (3, 2))):
            disk = (yy - cy) ** 2 + (xx - cx) ** 2 < 16
            images[i][disk] = 0.9
            labels[i][disk & (labels[i] == 0)] = k + 1
    return images, labels


def make_method_runs(results: Path, data_root: Path, methods, channels, planes: int = 3,
                     n_fields: int = 1) -> None:
    """One completed run per method (seed 0) with every tier's files; PCC falls along
    ``methods`` (so their rank is their order)."""
    rng = np.random.default_rng(0)
    _, truth = _blobs(rng, n_fields, SIZE)
    cache = dataset_folder(data_root, "synthetic").biometrics_cache
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(cache / f"{CACHE_KEY}.npz", sample_ids=np.array([f"img{i:02d}"
                                                              for i in range(n_fields)]),
             nuclei=truth, feature_keys=np.zeros((0, 2), str),
             feature_values=np.zeros((0, 0)), object_counts=np.zeros(n_fields, int))
    folders = {}
    for k, method in enumerate(methods):
        # mse well above the per-image spread: no image's MSE below 0 (refused when loaded)
        folder = make_run(results, method, 0, 0.85 - 0.04 * k, channels=channels, mse=0.05)
        folders[method] = folder
        _add_pixels(folder, rng, channels, planes, n_fields)
        _add_biology(folder, rng, channels, k)
        _add_tier_files(folder, rng, channels, k, method in STOCHASTIC)
        if method in MASKED:
            masks = rng.random((2, 3, len(channels), SIZE, SIZE)) > 0.5
            np.savez_compressed(folder.path / "masks.npz", masks=masks[:, -1],
                                masks_by_round=masks, channels=np.array(channels),
                                sample_ids=np.array(["img00", "img01"]))
    if len(methods) > 1:  # the second method reused the first one's training
        donor, taker = folders[methods[0]], folders[methods[1]]
        config = json.loads(taker.file("config.json").read_text())
        config["training"] = {"key": "k", "trains_as": methods[0],
                              "reused": {"method": methods[0], "run": donor.path.name,
                                         "folder": str(donor.path)}}
        taker.file("config.json").write_text(json.dumps(config))


def _add_pixels(folder, rng, channels, planes, n_fields) -> None:
    images, _ = _blobs(rng, n_fields, SIZE)
    prediction = np.repeat(images[:, None], len(channels), axis=1)
    ids = np.array([f"img{i:02d}" for i in range(n_fields)])
    np.savez_compressed(folder.path / "predictions.npz",
                        brightfield=rng.random((n_fields, planes, SIZE, SIZE)).astype(np.float16),
                        prediction=prediction.astype(np.float16),
                        target=rng.random(prediction.shape).astype(np.float16),
                        sample_ids=ids, channels=np.array(channels))
    # every test image (the run's per-image metrics name N_IMAGES), blobs on each
    every, _ = _blobs(rng, N_IMAGES, SIZE)
    np.savez_compressed(folder.path / TEST_PREDICTIONS_FILE,
                        prediction=np.repeat(every[:, None], len(channels), 1).astype(np.float16),
                        sample_ids=np.array([f"img{i:02d}" for i in range(N_IMAGES)]),
                        channels=np.array(channels))
    lines = ["epoch,loss,seconds,val_loss"] + [
        f"{e + 1},{0.5 / (e + 1) + rng.random() * 0.01},1.0,{0.6 / (e + 1) + rng.random() * 0.01}"
        for e in range(3)]
    (folder.path / "train_log.csv").write_text("\n".join(lines) + "\n")


def _add_biology(folder, rng, channels, k) -> None:
    """Instance and feature tiers (as :func:`tests.leaderboard.test_tiers.add_tiers`, with
    noise everywhere: tied differences would send the paired tests to slow permutations)."""
    rows = ["sample_id,objects,n_true,n_pred,matched,precision,recall,f1,mean_iou,"
            "count_error,ap"]
    for i in range(N_IMAGES):  # every test image: a partial file is refused
        for objects, level in (("nuclei", 0.7), ("cells", 0.5)):
            f1 = level - 0.02 * k + 0.05 * rng.random()
            rows.append(f"img{i:02d},{objects},4,4,2,{f1},{f1},{f1},0.8,0.25,{f1 / 2}")
    (folder.path / PER_IMAGE_INSTANCE_FILE).write_text("\n".join(rows) + "\n")
    rows = ["channel,feature,n_objects,pearson,spearman,median_real,median_pred,median_error"]
    for channel in channels:
        for f in range(10):
            r = 0.3 + 0.05 * f - 0.03 * k + 0.02 * rng.random()
            rows.append(f"{channel},feat{f},40,{r},{r},1,1,0")
    (folder.path / FEATURE_SCORES_FILE).write_text("\n".join(rows) + "\n")
    _update_metrics(folder, biometrics={
        "version": 1, "tiers": ["instance", "features"], "instance": {"nuclei": {"f1": 0.7}},
        "features": {"average": {}}, "ground_truth": {"cache_key": CACHE_KEY},
        "segmenter": {"name": "watershed"}})
    rows = ["channel,feature,real,predicted"]
    for c in channels:
        for f in range(10):
            real = rng.random(30)
            rows += [f"{c},feat{f},{a},{a + 0.1 * rng.random()}" for a in real]
    with gzip.open(folder.path / CELL_FEATURES_FILE, "wt") as out:
        out.write("\n".join(rows) + "\n")


def _add_tier_files(folder, rng, channels, k, stochastic) -> None:
    rows = ["perturbation,map_real,map_virtual,retrieved_real,retrieved_virtual"]
    for i, p in enumerate(PERTURBATIONS):
        real = 0.5 + 0.15 * i
        rows.append(f"{p},{real},{max(real - 0.05 * k - 0.01 * rng.random(), 0):.4f},True,"
                    f"{k < 4}")
    (folder.path / PROFILES_MAP_FILE).write_text("\n".join(rows) + "\n")
    samples = 4 if stochastic else 1
    posterior = ["sample_id,channel,crps,coverage_50,coverage_90,diversity"]
    mean = ["sample_id,channel,mae,pcc"]
    for i in range(N_IMAGES):  # every test image: a partial file is refused
        for c in channels:
            noise = rng.random(4) * 0.01  # no ties: exact paired tests, not permutations
            posterior.append(f"img{i:02d},{c},{0.1 + 0.01 * k + noise[0]},"
                             f"{0.2 * stochastic + noise[1]},{0.5 * stochastic + noise[2]},"
                             f"{0.05 * stochastic + noise[3]}")
            mean.append(f"img{i:02d},{c},{0.1 + 0.01 * k + noise[0]},{0.8 - 0.03 * k + noise[1]}")
    (folder.path / PER_IMAGE_POSTERIOR_FILE).write_text("\n".join(posterior) + "\n")
    (folder.path / PER_IMAGE_MEAN_FILE).write_text("\n".join(mean) + "\n")
    nominal = [0.1, 0.3, 0.5, 0.7, 0.9]
    summary = {"version": 1, "stochastic": stochastic, "n_samples": samples,
               "calibration": {"nominal": nominal,
                               "empirical": {"Average": [x * (0.6 if stochastic else 0.0)
                                                         for x in nominal]},
                               "calibrated": [x * (samples - 1) / (samples + 1)
                                              for x in nominal]}}
    if stochastic:
        summary["seconds"] = {"sampling": 1.5, "per_image": 0.125 + 0.01 * k,
                              "per_image_per_sample": 0.04, "device": "cpu"}
    np.savez_compressed(folder.path / POSTERIOR_SAMPLES_FILE, channels=np.array(channels),
                        sample_id=np.array("img00"),
                        samples=rng.random((samples, len(channels), SIZE, SIZE)).astype(
                            np.float16),
                        target=rng.random((len(channels), SIZE, SIZE)).astype(np.float16))
    _update_metrics(folder, posterior=summary,
                    profiles={"virtual": {"mean_map": 0.6 - 0.05 * k}})
