"""Instance scores on hand-made label images, checked against a brute-force computation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from vsbench.biometrics.matching import AP_THRESHOLDS, iou_matrix, match_instances


def brute_iou(true: np.ndarray, pred: np.ndarray) -> dict[tuple[int, int], float]:
    """IoU of every pair of objects, from boolean masks (no contingency table)."""
    out = {}
    for a in np.unique(true[true > 0]):
        for b in np.unique(pred[pred > 0]):
            inter = np.logical_and(true == a, pred == b).sum()
            union = np.logical_or(true == a, pred == b).sum()
            out[(int(a), int(b))] = inter / union
    return out


def brute_matches(true: np.ndarray, pred: np.ndarray, threshold: float) -> list[float]:
    """The IoUs of the best one-to-one matching at ``threshold``, by trying every assignment
    (most matches, then the largest total IoU)."""
    ious = brute_iou(true, pred)
    ts = [int(a) for a in np.unique(true[true > 0])]
    ps = [int(b) for b in np.unique(pred[pred > 0])]
    best: tuple[int, float, list[float]] = (0, 0.0, [])
    k = min(len(ts), len(ps))
    for chosen in itertools.permutations(ps, k):
        hits = [ious[(a, b)] for a, b in zip(ts, chosen) if ious[(a, b)] >= threshold]
        key = (len(hits), sum(hits), hits)
        if key[:2] > best[:2]:
            best = key
    return best[2]


def square(labels: np.ndarray, value: int, y: int, x: int, h: int, w: int) -> None:
    labels[y:y + h, x:x + w] = value


@pytest.fixture
def scene():
    """Ground truth: 4 squares. Prediction: one exact (relabelled 7), one shifted (IoU
    60/90 = 0.667 here), one shifted too far (IoU < 0.5), one missed, one spurious object."""
    true = np.zeros((40, 40), np.int32)
    pred = np.zeros((40, 40), np.int32)
    square(true, 1, 0, 0, 6, 10)   # exact copy in pred as label 7
    square(pred, 7, 0, 0, 6, 10)
    square(true, 2, 10, 0, 6, 10)  # shifted by 2 columns: inter 6*8=48, union 72 -> 0.667
    square(pred, 3, 10, 2, 6, 10)
    square(true, 3, 20, 0, 6, 10)  # shifted by 6 columns: inter 24, union 96 -> 0.25
    square(pred, 5, 20, 6, 6, 10)
    square(true, 4, 30, 0, 6, 6)   # missed
    square(pred, 9, 30, 30, 5, 5)  # spurious
    return true, pred


def test_scores_match_the_brute_force_computation(scene):
    true, pred = scene
    scores = match_instances(true, pred)
    hits = brute_matches(true, pred, 0.5)
    assert (scores.n_true, scores.n_pred, scores.matched) == (4, 4, len(hits)) == (4, 4, 2)
    assert scores.precision == pytest.approx(2 / 4)
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.f1 == pytest.approx(2 * 2 / 8)
    assert scores.mean_iou == pytest.approx(np.mean(hits)) == pytest.approx((1 + 48 / 72) / 2)
    assert scores.count_error == 0.0
    # AP: at every threshold, TP / (TP + FP + FN) with TP from the brute-force matching.
    expected = np.mean([len(h) / (8 - len(h)) for h in
                        (brute_matches(true, pred, t) for t in AP_THRESHOLDS)])
    assert scores.ap == pytest.approx(expected)


def test_iou_matrix_equals_mask_iou(scene):
    true, pred = scene
    from vsbench.biometrics.matching import relabel

    t, p = relabel(true), relabel(pred)
    matrix = iou_matrix(t, p)
    for (a, b), value in brute_iou(t, p).items():
        assert matrix[a - 1, b - 1] == pytest.approx(value)


def test_a_good_match_is_not_traded_for_two_poor_ones():
    """True A overlaps pred X at IoU 0.6 and pred Y at 0.3, true B overlaps X at 0.45:
    maximising the total IoU alone would pair A-Y and B-X and lose the only real match."""
    rng = np.random.default_rng(0)
    for _ in range(30):  # random layouts of overlapping rectangles
        true = np.zeros((30, 30), np.int32)
        pred = np.zeros((30, 30), np.int32)
        for label in range(1, 5):
            y, x = rng.integers(0, 22, 2)
            square(true, label, y, x, *rng.integers(4, 9, 2))
            y2, x2 = np.clip([y, x] + rng.integers(-3, 4, 2), 0, 25)
            square(pred, label, y2, x2, *rng.integers(4, 9, 2))
        scores = match_instances(true, pred)
        assert scores.matched == len(brute_matches(true, pred, 0.5))


def test_identical_objects_under_other_labels_score_perfectly(scene):
    true, _ = scene
    relabelled = np.where(true > 0, 100 - true, 0)
    scores = match_instances(true, relabelled)
    assert (scores.precision, scores.recall, scores.f1, scores.mean_iou, scores.ap) == (
        1.0, 1.0, 1.0, 1.0, 1.0)


def test_empty_sides():
    true = np.zeros((8, 8), np.int32)
    true[2:5, 2:5] = 1
    empty = np.zeros_like(true)
    none_found = match_instances(true, empty)
    assert none_found.recall == 0.0 and none_found.f1 == 0.0 and none_found.count_error == 1.0
    assert math.isnan(none_found.precision) and math.isnan(none_found.mean_iou)
    nothing = match_instances(empty, empty)
    assert math.isnan(nothing.f1) and math.isnan(nothing.ap)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="shape"):
        iou_matrix(np.zeros((4, 4), int), np.zeros((4, 5), int))
