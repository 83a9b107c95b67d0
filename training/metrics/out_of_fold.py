"""Metrics of pooled out-of-fold (OOF) predictions, with letter-level bootstrap CIs.

Each metric is computed per repeat on all items and averaged over repeats; `_repeat_std` is the
spread across repeats; a CI resamples whole letters (the items of a letter share a case) and
averages the repeats on each resample. Threshold metrics pool every repeat's predictions.

Two scores per item (`OOFScores`): ranking metrics (AUROC, PR-AUC) read `rank`, the model's
scores before calibration, because the shipped model's calibrator is one increasing map that
cannot change its ranking, whereas each fold's cross-fitted calibrator is a different map and
mixing them would scramble the pooled ranking; their AUROC is still reported, as
`calibrated_roc_auc`. Probability metrics (Brier, Brier skill, log loss, ECE, mean p) and the
threshold metrics read `prob`, the cross-fitted calibrated, capped probability serving would
have answered.

Names: every key is `<prefix><metric>[<suffix>]`, built here only. The prefixes are the model's
`cv_` and the references' `ref_base_rate_cv_` and `ref_category_cv_`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from training.metrics.bootstrap import RankedScores, letter_bootstrap, percentile_interval, weighted_brier_skill
from training.metrics.calibration_error import adaptive_ece

MODEL = "cv_"
WRITER = "cv_writer_"  # the model under writer-shift folds (training.data.folds.writer_folds)
REF_BASE_RATE = "ref_base_rate_cv_"
REF_CATEGORY = "ref_category_cv_"
PER_REPEAT = ("roc_auc", "pr_auc", "calibrated_roc_auc", "brier", "brier_skill", "log_loss", "ece", "mean_p")
WITH_CI = ("roc_auc", "pr_auc", "brier_skill")
THRESHOLD_METRICS = ("precision", "recall", "f1", "accuracy")


@dataclass
class OOFScores:
    """repeats x items each."""

    rank: np.ndarray  # before calibration: what ranking metrics read
    prob: np.ndarray  # calibrated (cross-fitted) and capped: what probability metrics read
    base: np.ndarray  # the constant training base rate of each item's fold: Brier skill is relative to it

    @classmethod
    def of(cls, rank, prob, base) -> OOFScores:
        return cls(np.atleast_2d(rank), np.atleast_2d(prob), np.atleast_2d(base))

    @classmethod
    def constant_ranked(cls, p, base) -> OOFScores:
        """A reference predictor: its probabilities are its ranking scores."""
        return cls.of(p, p, base)


def probability_metrics(y: np.ndarray, rank: np.ndarray, prob: np.ndarray, base: np.ndarray) -> dict[str, float]:
    both = len(np.unique(y)) == 2
    brier = skm.brier_score_loss(y, prob)
    brier_base = skm.brier_score_loss(y, base)
    return {
        "roc_auc": skm.roc_auc_score(y, rank) if both else math.nan,
        "pr_auc": skm.average_precision_score(y, rank) if y.sum() else math.nan,
        "calibrated_roc_auc": skm.roc_auc_score(y, prob) if both else math.nan,
        "brier": brier,
        "brier_skill": 1 - brier / brier_base if brier_base > 0 else math.nan,
        "log_loss": skm.log_loss(y, np.clip(prob, 1e-6, 1 - 1e-6), labels=[0, 1]),
        "ece": adaptive_ece(y, prob),
        "mean_p": float(np.mean(prob)),
    }


def threshold_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    pred = p >= threshold
    return {
        "precision": skm.precision_score(y, pred, zero_division=0),
        "recall": skm.recall_score(y, pred, zero_division=0),
        "f1": skm.f1_score(y, pred, zero_division=0),
        "accuracy": skm.accuracy_score(y, pred),
    }


def _per_repeat(y, scores: OOFScores) -> dict[str, np.ndarray]:
    values = [probability_metrics(y, r, p, b) for r, p, b in zip(scores.rank, scores.prob, scores.base)]
    return {name: np.array([v[name] for v in values], dtype=float) for name in PER_REPEAT}


def _resampled(y, scores: OOFScores) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """The WITH_CI metrics of letter resamples (training.metrics.bootstrap.letter_bootstrap's weights),
    each averaged over repeats as the point estimates are."""
    ranked = [RankedScores.of(y, r) for r in scores.rank]

    def statistic(weights: np.ndarray) -> dict[str, np.ndarray]:
        per_repeat = {
            "roc_auc": [r.roc_auc(weights) for r in ranked],
            "pr_auc": [r.average_precision(weights) for r in ranked],
            "brier_skill": [weighted_brier_skill(y, p, b, weights) for p, b in zip(scores.prob, scores.base)],
        }
        return {name: np.mean(values, axis=0) for name, values in per_repeat.items()}

    return statistic


def oof_metrics(
    y, scores: OOFScores, groups, threshold: float, samples: int, seed: int, prefix: str
) -> dict[str, float]:
    y = np.asarray(y, dtype=int)
    per_repeat = _per_repeat(y, scores)
    out = {f"{prefix}{name}": float(np.mean(v)) for name, v in per_repeat.items()}
    if len(scores.prob) > 1:
        out.update({f"{prefix}{name}_repeat_std": float(np.std(per_repeat[name])) for name in WITH_CI})
    pooled = threshold_metrics(np.tile(y, len(scores.prob)), scores.prob.ravel(), threshold)
    out.update({f"{prefix}{name}": float(v) for name, v in pooled.items()})
    draws = letter_bootstrap(y, groups, samples, seed, _resampled(y, scores))
    for name in WITH_CI:
        out[f"{prefix}{name}_ci_low"], out[f"{prefix}{name}_ci_high"] = percentile_interval(draws[name])
    out[f"{prefix}bootstrap_resamples_used"] = float(len(draws["roc_auc"]))
    return out


def paired_difference(y, a: OOFScores, b: OOFScores, groups, samples: int, seed: int, prefix: str) -> dict[str, float]:
    """Model a minus model b on the same items and folds: AUROC and Brier skill, each with a 95%
    interval from the same letter resamples for both models."""
    y = np.asarray(y, dtype=int)
    names = ("roc_auc", "brier_skill")
    ma, mb = _per_repeat(y, a), _per_repeat(y, b)
    out = {f"{prefix}{name}": float(np.mean(ma[name]) - np.mean(mb[name])) for name in names}
    resampled_a, resampled_b = _resampled(y, a), _resampled(y, b)

    def diff(weights: np.ndarray) -> dict[str, np.ndarray]:
        da, db = resampled_a(weights), resampled_b(weights)
        return {name: da[name] - db[name] for name in names}

    draws = letter_bootstrap(y, groups, samples, seed, diff)
    for name in names:
        out[f"{prefix}{name}_ci_low"], out[f"{prefix}{name}_ci_high"] = percentile_interval(draws[name])
    return out


def headline_defined(metrics: dict[str, float]) -> bool:
    """The metrics a version is registered on must be numbers: never move an alias to NaN."""
    keys = [f"{MODEL}{name}" for name in ("roc_auc", "pr_auc", "brier_skill", "ece")]
    return all(k in metrics and math.isfinite(metrics[k]) for k in keys)
