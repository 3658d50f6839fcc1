"""Instance scores: objects of a predicted label image matched one-to-one to the ground truth's.

The intersection over union (IoU) of every pair of objects comes from one contingency table
of the two label images; pairs are assigned one-to-one by the Hungarian algorithm
(:func:`scipy.optimize.linear_sum_assignment`) among the pairs of ``IoU >= threshold`` (0.5
by default), maximising the number of matches and then their total IoU. Pairs below the
threshold are removed first, as StarDist does: otherwise maximising the total IoU could trade
one good match for two poor ones. ``ap`` is the average over IoU thresholds
0.5, 0.55, ..., 0.95 of ``TP / (TP + FP + FN)`` (the "average precision" of the DSB 2018, of
Cellpose and of StarDist).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

AP_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


@dataclass(frozen=True)
class InstanceScores:
    """The instance scores of one predicted label image against the ground truth's."""

    n_true: int
    n_pred: int
    matched: int  # true positives at the threshold
    precision: float  # matched / n_pred (NaN without predicted objects)
    recall: float  # matched / n_true (NaN without true objects)
    f1: float  # 2 matched / (n_true + n_pred) (NaN when both are empty)
    mean_iou: float  # mean IoU of the matched pairs (NaN without a match)
    count_error: float  # |n_pred - n_true| / n_true (NaN without true objects)
    ap: float  # mean TP / (TP + FP + FN) over AP_THRESHOLDS (NaN when both are empty)

    def to_json(self) -> dict[str, float]:
        """The scores as a plain dict."""
        return asdict(self)


def iou_matrix(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """``(n_true, n_pred)`` IoU of every pair of objects of two label images (labels
    ``1..N`` each, 0 background; see :func:`relabel`)."""
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape:
        raise ValueError(f"label images differ in shape: {true.shape} and {pred.shape}")
    n_true, n_pred = int(true.max(initial=0)), int(pred.max(initial=0))
    pairs = true.ravel().astype(np.int64) * (n_pred + 1) + pred.ravel().astype(np.int64)
    overlap = np.bincount(pairs, minlength=(n_true + 1) * (n_pred + 1)).reshape(
        n_true + 1, n_pred + 1)
    area_true, area_pred = overlap.sum(axis=1), overlap.sum(axis=0)
    inter = overlap[1:, 1:].astype(np.float64)
    union = area_true[1:, None] + area_pred[None, 1:] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def relabel(labels: np.ndarray) -> np.ndarray:
    """``labels`` with its objects numbered ``1..N`` in order of their old labels."""
    from skimage.segmentation import relabel_sequential

    labels = np.asarray(labels)
    if labels.min(initial=0) < 0:
        raise ValueError("label images must not hold negative labels")
    return relabel_sequential(labels.astype(np.int64))[0].astype(np.int32)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def matched_ious(iou: np.ndarray, threshold: float) -> np.ndarray:
    """The IoUs of the one-to-one matches at ``IoU >= threshold`` of an :func:`iou_matrix`
    (most matches, then the largest total IoU)."""
    from scipy.optimize import linear_sum_assignment

    eligible = iou >= threshold
    if not eligible.any():
        return np.zeros(0)
    # A match is worth 1 plus its IoU / (n + 1): more matches always win over more IoU.
    gain = np.where(eligible, 1.0 + iou / (min(iou.shape) + 1), 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    keep = eligible[rows, cols]
    return iou[rows[keep], cols[keep]]


def match_instances(true: np.ndarray, pred: np.ndarray,
                    threshold: float = 0.5) -> InstanceScores:
    """Match the objects of ``pred`` one-to-one to those of ``true`` and score them."""
    iou = iou_matrix(relabel(true), relabel(pred))
    n_true, n_pred = iou.shape
    hits = matched_ious(iou, threshold)
    matched = int(hits.size)
    total = n_true + n_pred
    ap_terms = []
    for t in AP_THRESHOLDS:
        tp = matched if t == threshold else int(matched_ious(iou, t).size)
        ap_terms.append(_ratio(tp, total - tp))  # TP + FP + FN = n_true + n_pred - TP
    return InstanceScores(
        n_true=n_true, n_pred=n_pred, matched=matched,
        precision=_ratio(matched, n_pred), recall=_ratio(matched, n_true),
        f1=_ratio(2 * matched, total),
        mean_iou=float(hits.mean()) if matched else math.nan,
        count_error=_ratio(abs(n_pred - n_true), n_true),
        ap=float(np.mean(ap_terms)) if total else math.nan)
