"""The metric protocol against independent references (numpy, scikit-image)."""

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from vsbench.metrics import MetricAccumulator, MetricError, per_image_metrics


def _structured(rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] / size
    blobs = sum(np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.004)
                for cx, cy in rng.uniform(0.1, 0.9, (6, 2)))
    return np.clip(0.8 * blobs + 0.05 * rng.standard_normal((size, size)), 0, 1)


@pytest.fixture(params=["random", "structured"])
def pair(request):
    rng = np.random.default_rng(0)
    size = 64 if request.param == "random" else 96
    if request.param == "random":
        target = rng.uniform(0, 1, (3, 5, size, size))
        pred = np.clip(target + 0.2 * rng.standard_normal(target.shape), 0, 1)
    else:
        target = np.stack([[_structured(rng, size) for _ in range(5)] for _ in range(3)])
        pred = np.clip(0.7 * target + 0.1 + 0.05 * rng.standard_normal(target.shape), 0, 1)
    return pred.astype(np.float32), target.astype(np.float32)


def test_metrics_match_numpy_and_skimage(pair):
    pred, target = pair
    got = per_image_metrics(torch.from_numpy(pred), torch.from_numpy(target))
    for b in range(pred.shape[0]):
        for c in range(pred.shape[1]):
            p, t = pred[b, c].astype(np.float64), target[b, c].astype(np.float64)
            assert got["mse"][b, c].item() == pytest.approx(np.mean((p - t) ** 2), abs=1e-4)
            assert got["mae"][b, c].item() == pytest.approx(np.mean(np.abs(p - t)), abs=1e-4)
            assert got["pcc"][b, c].item() == pytest.approx(
                np.corrcoef(p.ravel(), t.ravel())[0, 1], abs=1e-4)
            ref = structural_similarity(t, p, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, win_size=11)
            assert got["ssim"][b, c].item() == pytest.approx(ref, abs=1e-6)


def test_identical_images_score_perfectly():
    x = torch.rand(2, 5, 32, 32)
    got = per_image_metrics(x, x)
    assert torch.all(got["mse"] == 0) and torch.all(got["mae"] == 0)
    assert torch.allclose(got["pcc"], torch.ones(2, 5, dtype=torch.float64))
    assert torch.allclose(got["ssim"], torch.ones(2, 5, dtype=torch.float64), atol=1e-6)


def test_constant_prediction_has_zero_pcc_and_constant_truth_is_undefined():
    target = torch.rand(1, 2, 32, 32)
    pred = torch.rand(1, 2, 32, 32)
    pred[0, 0] = 0.5
    target[0, 1] = 0.25
    pcc = per_image_metrics(pred, target)["pcc"]
    assert pcc[0, 0].item() == 0.0
    assert math.isnan(pcc[0, 1].item())


def test_accumulator_means_and_average():
    acc = MetricAccumulator(["A", "B"])
    target = torch.zeros(2, 2, 16, 16)
    pred = torch.zeros(2, 2, 16, 16)
    pred[0, 0] = 0.5  # image 0, channel A: MSE 0.25, MAE 0.5
    pred[1, 1] = 1.0  # image 1, channel B: MSE 1, MAE 1
    acc.update(pred, target, ["s0", "s1"])
    summary = acc.compute()
    assert summary["n_images"] == 2
    assert summary["channels"]["A"]["mse"] == pytest.approx(0.125)
    assert summary["channels"]["B"]["mae"] == pytest.approx(0.5)
    assert summary["average"]["mse"] == pytest.approx((0.125 + 0.5) / 2)
    rows = acc.per_image()
    assert len(rows) == 4 and rows[0]["sample_id"] == "s0" and rows[1]["channel"] == "B"


def test_nan_prediction_names_method_and_image():
    acc = MetricAccumulator(["A"])
    pred = torch.rand(2, 1, 16, 16)
    pred[1, 0, 3, 3] = float("nan")
    with pytest.raises(MetricError, match="mymethod predicted NaN or Inf for test image s1"):
        acc.update(pred, torch.rand(2, 1, 16, 16), ["s0", "s1"], method="mymethod")


def test_wrong_channel_count_and_tiny_images_are_errors():
    acc = MetricAccumulator(["A", "B"])
    with pytest.raises(MetricError, match="predicted 1 channels, the dataset has 2"):
        acc.update(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16), ["s0"])
    with pytest.raises(MetricError, match="smaller than the SSIM window"):
        per_image_metrics(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))
