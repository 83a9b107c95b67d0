"""The one letter-level bootstrap every confidence interval comes from, the ranking metrics it scores
resamples with, and the intervals of one split's test metrics."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

# Resamples x items cells per block of resamples: bounds the bootstrap's memory at any corpus size.
BLOCK_CELLS = 4_000_000


def letter_bootstrap(
    y, groups, samples: int, seed: int, statistic: Callable[[np.ndarray], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """`statistic` on `samples` bootstrap resamples of whole letters (the items of one letter share
    a case and are not independent), drawn with replacement.

    A resample is passed as weights, resamples x items: each item weighs as many times as its
    letter was drawn, which is the resample's rows without copying them, so one call of
    `statistic` scores a block of resamples with a few array operations (RankedScores and
    weighted_brier_skill below). Resamples holding a single class are dropped (AUROC is undefined);
    the length of each returned array counts the resamples used. The draws are those of one
    `default_rng(seed).choice(letters)` per resample, letters in sorted order."""
    y = np.asarray(y, dtype=int)
    letters, item_letter = np.unique(np.asarray(groups), return_inverse=True)
    n_letters = len(letters)
    has_positive = np.bincount(item_letter, weights=y, minlength=n_letters) > 0
    has_negative = np.bincount(item_letter, weights=1 - y, minlength=n_letters) > 0
    rng = np.random.default_rng(seed)
    rows = max(1, BLOCK_CELLS // max(len(y), n_letters, 1))
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, samples if n_letters else 0, rows):
        block = min(rows, samples - start)
        draws = rng.integers(0, n_letters, size=(block, n_letters))
        offsets = (np.arange(block) * n_letters)[:, None]
        counts = np.bincount((draws + offsets).ravel(), minlength=block * n_letters).reshape(block, n_letters)
        both = (counts @ has_positive > 0) & (counts @ has_negative > 0)
        parts.append(statistic(counts[both][:, item_letter].astype(float)))
    if not parts:
        parts.append(statistic(np.zeros((0, len(y)))))
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


@dataclass(frozen=True)
class RankedScores:
    """Items sorted by score into runs of tied scores, once, so that the ranking metrics of many
    weightings (resamples) are cumulative sums over the runs."""

    order: np.ndarray  # items by ascending score
    starts: np.ndarray  # where each run of tied scores begins in `order`
    positive: np.ndarray  # each sorted item's label, as 0/1 floats

    @classmethod
    def of(cls, y, score) -> RankedScores:
        score = np.asarray(score, dtype=float)
        order = np.argsort(score, kind="stable")
        ranked = score[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]]) if len(ranked) else np.zeros(0, int)
        return cls(order, starts, np.asarray(y, dtype=float)[order])

    def _run_weights(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positive, negative) weight of each run of ties, resamples x runs, ascending score."""
        w = weights[:, self.order]
        if w.shape[1] == 0:
            empty = np.zeros((len(w), 0))
            return empty, empty
        return np.add.reduceat(w * self.positive, self.starts, axis=1), np.add.reduceat(
            w * (1 - self.positive), self.starts, axis=1
        )

    def concordance(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weighted (positive, negative) pairs in which the positive scores higher, ties counting
        half; weighted pairs) per row of `weights`: the two sums AUROC is the ratio of, kept apart so
        that pairs can be added up over groups (training.metrics.within_fold)."""
        pos, neg = self._run_weights(weights)
        below = np.cumsum(neg, axis=1) - neg
        return (pos * (below + neg / 2)).sum(axis=1), pos.sum(axis=1) * neg.sum(axis=1)

    def roc_auc(self, weights: np.ndarray) -> np.ndarray:
        """Weighted AUROC per row of `weights`: the chance a positive outranks a negative, ties
        counting half (the Mann-Whitney statistic, equal to the area under the ROC curve)."""
        concordant, pairs = self.concordance(weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            return concordant / pairs

    def average_precision(self, weights: np.ndarray) -> np.ndarray:
        """Weighted average precision per row (scikit-learn's definition: the precision at each
        threshold weighted by the recall it adds, thresholds at the distinct scores)."""
        pos, neg = (m[:, ::-1] for m in self._run_weights(weights))
        tp, flagged = np.cumsum(pos, axis=1), np.cumsum(pos + neg, axis=1)
        precision = np.divide(tp, flagged, out=np.zeros_like(tp), where=flagged > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (pos * precision).sum(axis=1) / pos.sum(axis=1)


def weighted_brier_skill(y, prob, base, weights: np.ndarray) -> np.ndarray:
    """1 - Brier / Brier of `base` per row of `weights` (NaN where the base's Brier is 0)."""
    y = np.asarray(y, dtype=float)
    model, reference = weights @ (y - prob) ** 2, weights @ (y - base) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(reference > 0, 1 - model / reference, np.nan)


def brier_skill_ci(y, prob, base, groups, samples: int, seed: int, prefix: str) -> dict[str, float]:
    """`<prefix>brier_skill` (against quoting `base`) with its 95% interval, resampling letters."""
    y, prob, base = (np.asarray(a, dtype=float) for a in (y, prob, base))
    point = weighted_brier_skill(y, prob, base, np.ones((1, len(y))))[0]
    draws = letter_bootstrap(y, groups, samples, seed, lambda w: {"skill": weighted_brier_skill(y, prob, base, w)})
    low, high = percentile_interval(draws["skill"][np.isfinite(draws["skill"])])
    name = f"{prefix}brier_skill"
    return {name: float(point), f"{name}_ci_low": low, f"{name}_ci_high": high}


def percentile_interval(values) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap draws (NaN when there are none)."""
    return tuple(float(v) for v in np.percentile(values, [2.5, 97.5])) if len(values) else (math.nan, math.nan)


def paired_bootstrap_auc_diff(y, p_a, p_b, groups, samples: int, seed: int, prefix: str) -> dict[str, float]:
    """AUROC(a) - AUROC(b) with a 95% percentile interval, resampling letters, both models scored
    on the same resample."""
    y, p_a, p_b = map(np.asarray, (y, p_a, p_b))
    a, b = RankedScores.of(y, p_a), RankedScores.of(y, p_b)
    diffs = letter_bootstrap(y, groups, samples, seed, lambda w: {"diff": a.roc_auc(w) - b.roc_auc(w)})["diff"]
    both = len(np.unique(y)) == 2
    point = skm.roc_auc_score(y, p_a) - skm.roc_auc_score(y, p_b) if both else math.nan
    low, high = percentile_interval(diffs)
    return {
        prefix: float(point),
        f"{prefix}_ci_low": low,
        f"{prefix}_ci_high": high,
        f"{prefix}_resamples_used": float(len(diffs)),
        "baseline_test_roc_auc": float(skm.roc_auc_score(y, p_b)) if both else math.nan,
    }


def letter_bootstrap_ci(y, p, groups, samples: int, seed: int, prefix: str = "test_") -> dict[str, float]:
    """95% percentile intervals of AUROC and PR-AUC, resampling letters (not items: the items of a
    letter share a case and are not independent). Resamples with a single class are skipped."""
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    ranked = RankedScores.of(y, p)
    draws = letter_bootstrap(
        y, groups, samples, seed, lambda w: {"roc_auc": ranked.roc_auc(w), "pr_auc": ranked.average_precision(w)}
    )
    out = {}
    for name, values in draws.items():
        out[f"{prefix}{name}_ci_low"], out[f"{prefix}{name}_ci_high"] = percentile_interval(values)
    out[f"{prefix}bootstrap_resamples_used"] = float(len(draws["roc_auc"]))
    return out
