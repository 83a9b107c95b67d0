"""Metrics of the Overturned class at a threshold (one split's test or validation items), and the
threshold choice."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn import metrics as skm


def choose_threshold(y_true: Sequence[int], p: Sequence[float]) -> float:
    """Threshold maximising F1 on validation (ties: the higher threshold, fewer false alarms).
    With no overturned item to find, fall back to 0.5."""
    y, p = np.asarray(y_true), np.asarray(p, dtype=float)
    if y.sum() == 0:
        return 0.5
    precision, recall, thresholds = skm.precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    # thresholds ascend: the last tie (to rounding) is the highest threshold, with fewer false alarms
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)[-1]
    return float(thresholds[best])


def binary_metrics(
    y_true: Sequence[int], p: Sequence[float], threshold: float, prefix: str = "test_"
) -> dict[str, float]:
    """AUROC and PR-AUC (NaN when the split has a single class), precision/recall/F1 of
    Overturned at the threshold, accuracy and Brier score."""
    y, p = np.asarray(y_true), np.asarray(p, dtype=float)
    pred = p >= threshold
    both = len(np.unique(y)) == 2
    out = {
        "roc_auc": skm.roc_auc_score(y, p) if both else math.nan,
        "pr_auc": skm.average_precision_score(y, p) if y.sum() else math.nan,
        "precision": skm.precision_score(y, pred, zero_division=0),
        "recall": skm.recall_score(y, pred, zero_division=0),
        "f1": skm.f1_score(y, pred, zero_division=0),
        "accuracy": skm.accuracy_score(y, pred),
        "brier": skm.brier_score_loss(y, p) if len(y) else math.nan,
    }
    return {f"{prefix}{k}": float(v) for k, v in out.items()}
