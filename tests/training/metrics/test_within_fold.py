"""Within-fold AUROC (training.metrics.within_fold): pairs counted only inside a fold, against a direct
per-fold sklearn computation; a constant base-rate predictor scores 0.5 within fold where its pooled
AUROC does not; its letter-bootstrap interval equals the per-resample computation on the resample's rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from training.metrics.bootstrap import letter_bootstrap
from training.metrics.within_fold import WithinFoldRanking, within_fold_metrics, within_fold_roc_auc


def example(letters: int = 45, per_letter: int = 2, folds: int = 3, repeats: int = 2, seed: int = 1):
    """(y, scores repeats x items, fold ids repeats x items, groups): letters inside one fold, each
    fold's scores shifted by its own level, as separate fold models' are."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"L{k:03d}" for k in range(letters)], per_letter)
    y = (rng.random(len(groups)) < 0.3).astype(int)
    y[:2] = [1, 0]
    scores, fold_ids = [], []
    for _ in range(repeats):
        fold = np.repeat(rng.permutation(np.arange(letters) % folds), per_letter)
        level = rng.normal(0, 1.5, folds)[fold]
        scores.append(np.round(y + rng.normal(0, 1.3, len(y)) + level, 1))  # rounded: ties to count half
        fold_ids.append(fold)
    return y, np.array(scores), np.array(fold_ids), groups


def direct(y, scores, folds, weights=None) -> float:
    """Per repeat: the per-fold sklearn AUROCs weighted by their (weighted) pairs; then the mean."""
    weights = np.ones(len(y)) if weights is None else weights
    per_repeat = []
    for s, f in zip(np.atleast_2d(scores), np.atleast_2d(folds)):
        aucs, pairs = [], []
        for k in np.unique(f):
            rows = (f == k) & (weights > 0)
            pos, neg = weights[rows] @ y[rows], weights[rows] @ (1 - y[rows])
            if pos and neg:
                aucs.append(skm.roc_auc_score(y[rows], s[rows], sample_weight=weights[rows]))
                pairs.append(pos * neg)
        per_repeat.append(np.average(aucs, weights=pairs))
    return float(np.mean(per_repeat))


def test_within_fold_auroc_equals_the_pair_weighted_per_fold_auroc():
    y, scores, folds, _ = example()
    assert within_fold_roc_auc(y, scores, folds) == pytest.approx(direct(y, scores, folds), abs=1e-12)
    # and it is not the pooled AUROC, which ranks the folds' levels too
    pooled = np.mean([skm.roc_auc_score(y, s) for s in scores])
    assert abs(pooled - within_fold_roc_auc(y, scores, folds)) > 0.01


def test_one_repeat_as_a_vector_and_items_in_no_fold_left_out():
    y, scores, folds, _ = example(repeats=1)
    assert within_fold_roc_auc(y, scores[0], folds[0]) == pytest.approx(direct(y, scores, folds), abs=1e-12)
    held_out = folds[0].copy()
    held_out[:10] = -1  # not held out in any fold
    kept = held_out >= 0
    assert within_fold_roc_auc(y, scores[0], held_out) == pytest.approx(
        direct(y[kept], scores[0][kept], folds[0][kept]), abs=1e-12
    )


def test_a_constant_base_rate_predictor_is_a_coin_within_fold_but_not_pooled():
    """Each fold's model predicts its training letters' overturn rate: within a fold every pair is
    tied (0.5); pooled, a fold with more overturned test items had fewer in training, so it scores lower."""
    y, _, folds, _ = example(repeats=3)
    base = np.stack([np.array([y[f != k].mean() for k in f]) for f in folds])
    assert within_fold_roc_auc(y, base, folds) == pytest.approx(0.5, abs=1e-12)
    pooled = np.mean([skm.roc_auc_score(y, b) for b in base])
    assert pooled < 0.5 - 0.02


def test_the_vectorised_resamples_equal_a_direct_computation_on_each():
    y, scores, folds, groups = example()
    ranking = WithinFoldRanking(y, scores, folds)
    seen = []

    def statistic(w):
        seen.append(w)
        return {"auc": ranking.roc_auc(w)}

    draws = letter_bootstrap(y, groups, 30, 0, statistic)["auc"]
    weights = np.concatenate(seen)
    assert len(weights) == len(draws) > 20
    for value, w in zip(draws, weights):
        assert value == pytest.approx(direct(y, scores, folds, w), abs=1e-12)


def test_within_fold_metrics_names_and_interval():
    y, scores, folds, groups = example()
    m = within_fold_metrics(y, scores, folds, groups, 200, 0, "cv_writer_")
    assert set(m) == {
        "cv_writer_within_fold_roc_auc",
        "cv_writer_within_fold_roc_auc_ci_low",
        "cv_writer_within_fold_roc_auc_ci_high",
    }
    assert m["cv_writer_within_fold_roc_auc"] == pytest.approx(within_fold_roc_auc(y, scores, folds))
    assert m["cv_writer_within_fold_roc_auc_ci_low"] < m["cv_writer_within_fold_roc_auc"]
    assert m["cv_writer_within_fold_roc_auc"] < m["cv_writer_within_fold_roc_auc_ci_high"]
    assert m == within_fold_metrics(y, scores, folds, groups, 200, 0, "cv_writer_")  # deterministic


def test_no_fold_with_both_classes_is_undefined_not_an_error():
    y = np.array([1, 1, 0, 0])
    assert math.isnan(within_fold_roc_auc(y, np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 0, 1, 1])))


def test_the_research_studies_read_the_same_definition():
    from research.signal_hypotheses.study import stratified_auc
    from research.transformer_recipes import study

    y, scores, folds, _ = example(repeats=1)
    assert stratified_auc(y, scores[0], folds[0]) == within_fold_roc_auc(y, scores[0], folds[0])
    assert study.within_fold_roc_auc is within_fold_roc_auc
