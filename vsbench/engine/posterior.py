"""The posterior tier of a run: a stochastic method's prediction judged as a distribution.

A method whose plugin declares ``stochastic=True`` (a diffusion sampler) is sampled
``n_samples`` times per test image: the first sample is the run's prediction (what the pixel
tier scored, unchanged), the other ``n_samples - 1`` are drawn here, all samples of an image in
one batch (each batch of the loader is repeated ``n_samples - 1`` times along its batch axis,
so images' samples run together on a GPU and on a CPU alike). The ensemble is scored by
:class:`vsbench.posterior.PosteriorScores` (per-pixel CRPS, central-interval coverage and the
calibration curve, diversity, MAE of the first sample and of the sample mean) and the sample
mean by the metric protocol (``per_image_metrics_mean.csv``). A deterministic method is a point
mass: its one prediction is the ensemble, so its CRPS is its MAE and every method has the
column. The cost is recorded (seconds per image and per drawn sample), and the first test
field's samples are kept for the report (``posterior_samples.npz``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from vsbench import atomic
from vsbench import config as cfg
from vsbench.biometrics.feature_posterior import FeatureEnsembles
from vsbench.contract import checked_predict
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.engine.record import csv_text
from vsbench.engine.predict_step import predict_step
from vsbench.engine.runtime import loader_options, to_device
from vsbench.layout import (FEATURE_POSTERIOR_FILE, PER_IMAGE_FEATURE_POSTERIOR_FILE,
                            PER_IMAGE_MEAN_FILE, PER_IMAGE_POSTERIOR_FILE, POSTERIOR_SAMPLES_FILE)
from vsbench.method import Method
from vsbench.metrics import MetricAccumulator
from vsbench.posterior import SUMMARY_VERSION, PosteriorScores
from vsbench.progress import progress_bar

SEED_OFFSET = 7919  # the extra samples' noise: seeded from the run's seed, apart from training


def repeat_batch(batch: Mapping[str, Any], times: int) -> dict[str, Any]:
    """``batch`` with every per-image tensor repeated ``times`` times, image by image (image
    0's copies first), labels included."""
    def rep(value: Any) -> Any:
        if isinstance(value, torch.Tensor) and value.ndim >= 1:
            return value.repeat_interleave(times, dim=0)
        if isinstance(value, Mapping):
            return {k: rep(v) for k, v in value.items()}
        return value
    return {key: rep(value) for key, value in batch.items()}


@torch.inference_mode()
def draw_samples(method: Method, data: PairedImageDataset, run: cfg.RunConfig,
                 device: torch.device, extra: int, name: str = "the method"
                 ) -> Iterator[tuple[list[str], np.ndarray, np.ndarray, float]]:
    """Per batch of test images: their ids, ``extra`` new samples ``(B, extra, C, H, W)``,
    the real stains ``(B, C, H, W)`` and the seconds spent sampling. Every sample is held to
    the prediction contract (:mod:`vsbench.contract`; ``name`` names the method)."""
    predict = checked_predict(method.predict, data.source.info.channels, name, finite=True)
    per_batch = max(1, run.eval_batch_size // extra)
    options = loader_options(run, device) | {"persistent_workers": False}
    loader = torch.utils.data.DataLoader(data, batch_size=per_batch, shuffle=False, **options)
    for batch in loader:
        batch = to_device(batch, device, run.channels_last)
        ids = [data.records[int(i)].sample_id for i in batch["index"]]
        repeated = repeat_batch(batch, extra)
        output, seconds = predict_step(predict, repeated, run, device, len(ids) * extra)
        image = output.image.clamp(0, 1)
        samples = image.reshape(len(ids), extra, *image.shape[1:]).cpu().numpy()
        yield ids, samples, batch["fluorescence"].float().cpu().numpy(), seconds


def _rows_to_csv(path: Path, rows: list[dict]) -> None:
    atomic.write_text(path, csv_text(rows))


def score_posterior(folder: Path, channels: list[str], first: Mapping[str, np.ndarray],
                    targets: Mapping[str, np.ndarray] | None, *, stochastic: bool,
                    n_samples: int, seed: int, method: Method | None = None,
                    data: PairedImageDataset | None = None, run: cfg.RunConfig | None = None,
                    device: torch.device | None = None,
                    cell_features: FeatureEnsembles | None = None,
                    cell_features_note: str | None = None, console: Any = None
                    ) -> dict[str, Any]:
    """Score the posterior tier, write its files into ``folder`` and return the ``posterior``
    summary of ``metrics.json``.

    ``first``: each test field's prediction (the run's, ``(C, H, W)``); ``targets``: the real
    stains by id (for a deterministic method; a stochastic one reads them from ``data``). A
    stochastic method is sampled ``n_samples - 1`` more times on ``data`` (with ``run``'s
    batch size and precision, on ``device``). ``cell_features``: the accumulator that measures
    every sample's cell features on the ground truth's objects
    (:mod:`vsbench.biometrics.feature_posterior`); None: ``cell_features_note`` says why not.
    ``console``: where the sampling's progress bar is drawn (None: no bar)."""
    ensembles = _Ensembles(channels, cell_features)
    seconds, drawn = 0.0, 0
    if stochastic and n_samples > 1:
        if method is None or data is None or run is None or device is None:
            raise ValueError("a stochastic method is sampled: pass method, data, run, device")
        seconds, drawn = _sample(ensembles, first, method, data, run, device, n_samples, seed,
                                 Path(folder), console)
    else:
        if targets is None:
            raise ValueError("a point mass is scored against targets: pass targets")
        for sample_id in first:
            ensembles.add(sample_id, np.asarray(first[sample_id], np.float32)[None],
                          np.asarray(targets[sample_id], np.float32))
    mean, files = ensembles.write(Path(folder))
    features = _feature_summary(Path(folder), cell_features, cell_features_note)
    summary = {"version": SUMMARY_VERSION, "stochastic": bool(stochastic),
               "n_samples": n_samples if stochastic else 1, **ensembles.scores.summary(),
               "sample_mean": {"channels": mean["channels"], "average": mean["average"]},
               "features": features, "files": files + features.get("files", [])}
    if stochastic and n_samples > 1:
        summary["seconds"] = {
            "sampling": round(seconds, 4),
            "per_image": round(seconds / max(drawn, 1), 5),
            "per_image_per_sample": round(seconds / max(drawn * (n_samples - 1), 1), 5),
            "device": str(device)}
    else:
        summary["note"] = ("deterministic: scored as a point mass (CRPS = MAE, no spread)"
                           if not stochastic else "n_samples = 1: one sample, no spread")
    return summary


class _Ensembles:
    """Each test field's ensemble scored as it comes (CRPS and coverage, the sample mean's
    pixel metrics, the cell features of every sample), and the first one kept for the
    report's gallery."""

    def __init__(self, channels: list[str], cell_features: FeatureEnsembles | None) -> None:
        self.channels, self.cell_features = channels, cell_features
        self.scores, self.mean_scores = PosteriorScores(channels), MetricAccumulator(channels)
        self.gallery: dict[str, np.ndarray] = {}

    def add(self, sample_id: str, ensemble: np.ndarray, target: np.ndarray) -> None:
        """Score one field's ensemble ``(S, C, H, W)`` against its real stain."""
        self.scores.add(sample_id, ensemble, target)
        if self.cell_features is not None:
            self.cell_features.add(sample_id, ensemble)
        self.mean_scores.update(torch.from_numpy(ensemble.mean(axis=0)[None]).float(),
                                torch.from_numpy(target[None]).float(), [sample_id],
                                method="sample mean")
        if not self.gallery:
            self.gallery.update(sample_id=np.array(sample_id),
                                samples=ensemble.astype(np.float16),
                                target=target.astype(np.float16))

    def write(self, folder: Path) -> tuple[dict[str, Any], list[str]]:
        """Write the per-image tables and the gallery; return the sample mean's summary and
        the files written."""
        _rows_to_csv(folder / PER_IMAGE_POSTERIOR_FILE, self.scores.rows)
        _rows_to_csv(folder / PER_IMAGE_MEAN_FILE, self.mean_scores.per_image())
        atomic.write_npz(folder / POSTERIOR_SAMPLES_FILE,
                         channels=np.array(self.channels, dtype=str), **self.gallery)
        return (self.mean_scores.compute(),
                [PER_IMAGE_POSTERIOR_FILE, PER_IMAGE_MEAN_FILE, POSTERIOR_SAMPLES_FILE])


def _sample(ensembles: _Ensembles, first: Mapping[str, np.ndarray], method: Method,
            data: PairedImageDataset, run: cfg.RunConfig, device: torch.device,
            n_samples: int, seed: int, folder: Path, console: Any) -> tuple[float, int]:
    """Draw ``n_samples - 1`` more samples per field beside the run's ``first``; score each
    field's ensemble. Returns the sampling seconds and the fields sampled."""
    seconds, drawn = 0.0, 0
    torch.manual_seed(seed + SEED_OFFSET)
    with progress_bar(console, f"posterior: {n_samples - 1} more samples", len(data)) as bar:
        # the run folder's parent is named after the method (results/runs/DATASET/METHOD)
        for batch_ids, samples, real, spent in draw_samples(
                method, data, run, device, n_samples - 1, name=folder.parent.name):
            seconds += spent
            for i, sample_id in enumerate(batch_ids):
                ensembles.add(sample_id, np.concatenate(
                    [np.asarray(first[sample_id], np.float32)[None], samples[i]]), real[i])
                drawn += 1
            bar.advance(len(batch_ids))
    return seconds, drawn


def _feature_summary(folder: Path, cell_features: FeatureEnsembles | None,
                     note: str | None) -> dict[str, Any]:
    """The cell features' posterior summary (its tables written), or why there is none."""
    if cell_features is None:
        return {"skipped": note or "no cell features were measured"}
    scored = cell_features.scored()
    rows = cell_features.rows(scored)
    _rows_to_csv(folder / FEATURE_POSTERIOR_FILE, rows)
    _rows_to_csv(folder / PER_IMAGE_FEATURE_POSTERIOR_FILE, cell_features.per_image(scored))
    return cell_features.summary(rows)
