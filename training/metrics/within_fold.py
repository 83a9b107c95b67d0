"""AUROC counted within folds: the one definition of "within-fold AUROC" (training and both research
studies read it from here).

Pooled out-of-fold AUROC compares every overturned item with every upheld one, across folds too. Each
fold's model has its own level (the base rate of its training letters, its own intercept), and a pair
whose items were scored by two different models ranks those levels, not the items: a constant
base-rate predictor, which cannot rank anything, scores below 0.5 pooled, because a fold whose training
letters were overturned more often holds fewer overturned test items. Within-fold AUROC counts only the
(overturned, upheld) pairs whose items were held out in the same fold, so every pair was ranked by one
model: the share of those pairs in which the overturned item scored higher, ties counting half (the
pair-weighted mean of the per-fold AUROCs). A constant predictor scores exactly 0.5.

A negative fold id marks an item held out in no fold (training.run.cross_validation.fold_ids). The
"folds" may be any grouping of items (e.g. fold x writer template in research/signal_hypotheses);
repeats are averaged, as every out-of-fold metric is (training.metrics.out_of_fold). Its 95% interval
resamples whole letters with the same bootstrap as every other interval (training.metrics.bootstrap);
a letter lies inside one fold, so a resample keeps the pairs' folds.
"""

from __future__ import annotations

import math

import numpy as np

from training.metrics.bootstrap import RankedScores, letter_bootstrap, percentile_interval

NAME = "within_fold_roc_auc"  # the metric's name after a prefix (cv_, cv_writer_)


class WithinFoldRanking:
    """Each repeat's folds ranked once (repeats x folds RankedScores), so that the within-fold AUROC of
    many letter resamples is a few array operations per fold."""

    def __init__(self, y, scores, folds):
        y = np.asarray(y, dtype=int)
        scores, folds = np.atleast_2d(np.asarray(scores, dtype=float)), np.atleast_2d(np.asarray(folds))
        self.per_repeat = [
            [(rows, RankedScores.of(y[rows], s[rows])) for rows in _fold_rows(f)]
            for s, f in zip(scores, folds, strict=True)
        ]

    def roc_auc(self, weights: np.ndarray) -> np.ndarray:
        """Per row of `weights` (resamples x items): each repeat's within-fold AUROC, averaged over repeats
        (NaN where no fold holds both an overturned and an upheld item)."""
        values = []
        for folds in self.per_repeat:
            concordant, pairs = np.zeros(len(weights)), np.zeros(len(weights))
            for rows, ranked in folds:
                c, p = ranked.concordance(weights[:, rows])
                concordant, pairs = concordant + c, pairs + p
            with np.errstate(invalid="ignore", divide="ignore"):
                values.append(np.where(pairs > 0, concordant / pairs, np.nan))
        return np.mean(values, axis=0) if values else np.full(len(weights), np.nan)


def _fold_rows(fold: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(fold == k) for k in np.unique(fold[fold >= 0])]


def within_fold_roc_auc(y, scores, folds) -> float:
    """The within-fold AUROC of `scores` (items, or repeats x items) held out in `folds` (same shape)."""
    n = np.atleast_2d(scores).shape[1]
    return float(WithinFoldRanking(y, scores, folds).roc_auc(np.ones((1, n)))[0]) if n else math.nan


def within_fold_metrics(y, scores, folds, groups, samples: int, seed: int, prefix: str) -> dict[str, float]:
    """`<prefix>within_fold_roc_auc` with its 95% letter-bootstrap interval (`_ci_low`, `_ci_high`)."""
    ranking = WithinFoldRanking(y, scores, folds)
    n = np.atleast_2d(scores).shape[1]
    point = float(ranking.roc_auc(np.ones((1, n)))[0]) if n else math.nan
    draws = letter_bootstrap(y, groups, samples, seed, lambda w: {"auc": ranking.roc_auc(w)})["auc"]
    low, high = percentile_interval(draws[np.isfinite(draws)])
    return {f"{prefix}{NAME}": point, f"{prefix}{NAME}_ci_low": low, f"{prefix}{NAME}_ci_high": high}
