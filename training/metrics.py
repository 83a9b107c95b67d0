"""Test metrics for the Overturned class, threshold choice, and the reference predictors."""

from __future__ import annotations

import math
from collections import defaultdict
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


class AlwaysUpheld:
    """Predicts the train overturn rate for every item, so it always says Upheld at 0.5."""

    name = "ref_upheld"

    def fit(self, categories: Sequence[str], y: Sequence[int]) -> AlwaysUpheld:
        self.rate = float(np.mean(y)) if len(y) else 0.0
        return self

    def predict_proba(self, categories: Sequence[str]) -> np.ndarray:
        return np.full(len(categories), self.rate)


class CategoryRate:
    """The overturn rate of the item's treatment category in train, smoothed toward the overall
    rate as if each category had `prior_items` more items at that rate: a category seen twice
    must not score 0 or 1 (an unseen one gets the overall rate)."""

    name = "ref_category"

    def __init__(self, prior_items: float = 10.0):
        self.prior_items = prior_items

    def fit(self, categories: Sequence[str], y: Sequence[int]) -> CategoryRate:
        counts: dict[str, list[int]] = defaultdict(list)
        for c, label in zip(categories, y):
            counts[c].append(int(label))
        self.overall = float(np.mean(y)) if len(y) else 0.0
        m = self.prior_items
        self.rates = {c: (sum(v) + m * self.overall) / (len(v) + m) for c, v in counts.items()}
        return self

    def predict_proba(self, categories: Sequence[str]) -> np.ndarray:
        return np.array([self.rates.get(c, self.overall) for c in categories])


def letter_resamples(y, groups, samples: int, seed: int):
    """Row indices of `samples` bootstrap resamples of whole groups (letters: the items of one
    letter share a case and are not independent), drawn with replacement. Resamples holding a
    single class are skipped, since AUROC is undefined there; callers count what they get."""
    y, groups = np.asarray(y), np.asarray(groups)
    letters = np.unique(groups)
    index = {g: np.flatnonzero(groups == g) for g in letters}
    rng = np.random.default_rng(seed)
    for _ in range(samples):
        rows = np.concatenate([index[g] for g in rng.choice(letters, size=len(letters), replace=True)])
        if len(np.unique(y[rows])) == 2:
            yield rows


def paired_bootstrap_auc_diff(y, p_a, p_b, groups, samples: int, seed: int, prefix: str) -> dict[str, float]:
    """AUROC(a) - AUROC(b) with a 95% percentile interval, resampling letters, both models scored
    on the same resample."""
    y, p_a, p_b = map(np.asarray, (y, p_a, p_b))
    diffs = [
        skm.roc_auc_score(y[rows], p_a[rows]) - skm.roc_auc_score(y[rows], p_b[rows])
        for rows in letter_resamples(y, groups, samples, seed)
    ]
    point = skm.roc_auc_score(y, p_a) - skm.roc_auc_score(y, p_b) if len(np.unique(y)) == 2 else math.nan
    low, high = np.percentile(diffs, [2.5, 97.5]) if diffs else (math.nan, math.nan)
    return {
        prefix: float(point),
        f"{prefix}_ci_low": float(low),
        f"{prefix}_ci_high": float(high),
        f"{prefix}_resamples_used": float(len(diffs)),
        "baseline_test_roc_auc": float(skm.roc_auc_score(y, p_b)) if len(np.unique(y)) == 2 else math.nan,
    }
