"""Out-of-fold calibration (training.run.cross_fitted_calibration) and the pooled OOF metrics
(training.metrics.out_of_fold) on synthetic data small enough to recompute with sklearn:
cross-fitting never lets a fold's own scores or labels into its calibrator, metrics average
repeats, Brier skill is relative to each fold's training base rate, CIs resample letters and
bracket the point estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from serving.calibration import apply_calibration, fit_calibration
from training.metrics import out_of_fold as cv_metrics
from training.metrics.calibration_error import adaptive_ece
from training.metrics.out_of_fold import (
    MODEL,
    PER_REPEAT,
    REF_BASE_RATE,
    REF_CATEGORY,
    THRESHOLD_METRICS,
    WITH_CI,
    OOFScores,
    headline_defined,
    oof_metrics,
    paired_difference,
    probability_metrics,
    threshold_metrics,
)
from training.run.cross_fitted_calibration import cross_fitted_calibration


def oof_example(letters: int = 60, items_per_letter: int = 2, folds: int = 3, repeats: int = 2, seed: int = 0):
    """(y, P raw (repeats x items), fold ids (repeats x items), groups, P_base) with a learnable
    but miscalibrated score and letters kept inside one fold."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"L{k:03d}" for k in range(letters)], items_per_letter)
    y = (rng.random(len(groups)) < 0.3).astype(int)
    y[:2] = [1, 0]
    P, F = [], []
    for _ in range(repeats):
        letter_fold = rng.permutation(np.arange(letters) % folds)
        fold = np.repeat(letter_fold, items_per_letter)
        logit = 2.0 * (y - 0.5) + rng.normal(0, 1.2, len(y)) + 1.5  # shifted: raw scores too high
        P.append(1 / (1 + np.exp(-logit)))
        F.append(fold)
    P, F = np.array(P), np.array(F)
    return y, P, F, groups, fold_base_rates(y, F)


def S(P, B) -> OOFScores:
    """Scores whose probabilities are also their ranking scores."""
    return OOFScores.constant_ranked(P, B)


def fold_base_rates(y, F):
    """The constant training base rate of each item's fold (the base-rate reference)."""
    base = np.empty(F.shape)
    for r in range(len(F)):
        for k in np.unique(F[r]):
            base[r, F[r] == k] = y[F[r] != k].mean()
    return base


# --- cross-fitted calibration ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_cross_fitted_calibration_fits_each_fold_on_the_other_folds(method):
    y, P, F, _, _ = oof_example()
    out = cross_fitted_calibration(P[0], y, F[0], method)
    assert out.shape == P[0].shape and np.all((out >= 0) & (out <= 1))
    for k in np.unique(F[0]):
        held = F[0] == k
        spec = fit_calibration(method, P[0][~held], y[~held])
        np.testing.assert_allclose(out[held], apply_calibration(spec, P[0][held]), atol=1e-12)


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_a_held_out_fold_never_sees_its_own_scores_or_labels(method):
    """Perturbing fold k's raw scores and labels leaves its calibrator unchanged: its calibrated
    values move only as the (unchanged) map applied to the new scores, and with unchanged scores
    not at all; the other folds' calibrators do change."""
    y, P, F, _, _ = oof_example(letters=90)
    p, fold = P[0], F[0]
    before = cross_fitted_calibration(p, y, fold, method)
    held = fold == 0
    y2 = y.copy()
    y2[held] = 1 - y2[held]  # flip every label of fold 0
    after_labels = cross_fitted_calibration(p, y2, fold, method)
    np.testing.assert_array_equal(after_labels[held], before[held])
    assert not np.allclose(after_labels[~held], before[~held])  # fold 0 is training data for the others

    p2 = p.copy()
    p2[held] = np.random.default_rng(5).random(held.sum())  # new raw scores for fold 0
    after_scores = cross_fitted_calibration(p2, y2, fold, method)
    spec = fit_calibration(method, p[~held], y[~held])
    np.testing.assert_allclose(after_scores[held], apply_calibration(spec, p2[held]), atol=1e-12)


def test_cross_fitted_calibration_is_not_in_sample_calibration():
    """Fitting one calibrator on every item (in-sample) gives different, optimistic numbers."""
    y, P, F, _, _ = oof_example()
    crossed = cross_fitted_calibration(P[0], y, F[0], "isotonic")
    in_sample = apply_calibration(fit_calibration("isotonic", P[0], y), P[0])
    assert not np.allclose(crossed, in_sample)
    assert skm.brier_score_loss(y, in_sample) < skm.brier_score_loss(y, crossed)


def test_cross_fitted_calibration_improves_miscalibrated_scores():
    y, P, F, _, _ = oof_example(letters=200)
    out = cross_fitted_calibration(P[0], y, F[0], "sigmoid")
    assert skm.brier_score_loss(y, out) < skm.brier_score_loss(y, P[0])
    assert abs(out.mean() - y.mean()) < abs(P[0].mean() - y.mean())


def test_no_calibration_is_identity_and_order_does_not_matter():
    y, P, F, _, _ = oof_example()
    np.testing.assert_array_equal(cross_fitted_calibration(P[0], y, F[0], "none"), P[0])
    order = np.random.default_rng(1).permutation(len(y))
    a = cross_fitted_calibration(P[0], y, F[0], "sigmoid")
    b = cross_fitted_calibration(P[0][order], y[order], F[0][order], "sigmoid")
    np.testing.assert_allclose(b, a[order], atol=1e-9)


# --- probability and threshold metrics -------------------------------------------------------


def test_probability_metrics_equal_sklearn():
    y, P, F, _, B = oof_example()
    m = probability_metrics(y, P[0], P[0], B[0])
    assert set(m) == set(PER_REPEAT)
    brier = skm.brier_score_loss(y, P[0])
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, P[0]))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, P[0]))
    assert m["brier"] == pytest.approx(brier)
    assert m["brier_skill"] == pytest.approx(1 - brier / skm.brier_score_loss(y, B[0]))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, P[0]))
    assert m["ece"] == pytest.approx(adaptive_ece(y, P[0]))
    assert m["mean_p"] == pytest.approx(P[0].mean())


def test_brier_skill_is_relative_to_each_folds_training_base_rate():
    """By hand: two folds of two items. Fold 0 = items 0,1 (y 1,0), fold 1 = items 2,3 (y 0,0) ->
    fold 0's training rate is 0 and fold 1's is 1/2."""
    y = np.array([1, 0, 0, 0])
    base = fold_base_rates(y, np.array([[0, 0, 1, 1]]))[0]
    assert base.tolist() == [0.0, 0.0, 0.5, 0.5]
    p = np.array([0.6, 0.2, 0.1, 0.3])
    brier = (0.16 + 0.04 + 0.01 + 0.09) / 4
    brier_base = (1 + 0 + 0.25 + 0.25) / 4
    assert probability_metrics(y, p, p, base)["brier_skill"] == pytest.approx(1 - brier / brier_base)
    assert probability_metrics(y, base, base, base)["brier_skill"] == 0.0
    assert probability_metrics(y, y.astype(float), y.astype(float), base)["brier_skill"] == 1.0


def test_single_class_gives_nan_auc_not_an_error():
    m = probability_metrics(np.zeros(4, dtype=int), p := np.array([0.1, 0.2, 0.3, 0.4]), p, np.full(4, 0.25))
    assert math.isnan(m["roc_auc"]) and math.isnan(m["pr_auc"])
    assert math.isfinite(m["brier"]) and math.isfinite(m["log_loss"])


def test_threshold_metrics_equal_sklearn():
    y, P, _, _, _ = oof_example()
    m = threshold_metrics(y, P[0], 0.7)
    pred = P[0] >= 0.7
    assert set(m) == set(THRESHOLD_METRICS)
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert threshold_metrics(y, P[0], 1.1)["precision"] == 0.0  # no positive prediction: 0, not an error


# --- oof_metrics -----------------------------------------------------------------------------


def expected_keys(prefix: str, repeats: int) -> set[str]:
    keys = {f"{prefix}{n}" for n in (*PER_REPEAT, *THRESHOLD_METRICS)}
    keys |= {f"{prefix}{n}_ci_{side}" for n in WITH_CI for side in ("low", "high")}
    keys.add(f"{prefix}bootstrap_resamples_used")
    if repeats > 1:
        keys |= {f"{prefix}{n}_repeat_std" for n in WITH_CI}
    return keys


@pytest.mark.parametrize("repeats", [1, 3])
def test_oof_metrics_keys(repeats):
    y, P, _, groups, B = oof_example(repeats=repeats)
    for prefix in (MODEL, REF_BASE_RATE, REF_CATEGORY):
        m = oof_metrics(y, S(P, B), groups, 0.5, 50, 0, prefix)
        assert set(m) == expected_keys(prefix, repeats)
        assert all(isinstance(v, float) for v in m.values())
    assert (MODEL, REF_BASE_RATE, REF_CATEGORY) == ("cv_", "ref_base_rate_cv_", "ref_category_cv_")


def sklearn_bootstrap(y, scores: OOFScores, groups, samples: int, seed: int) -> dict[str, list[float]]:
    """The CIs' draws the slow way: resample letters one at a time, score each resample with
    sklearn on its rows, average the repeats."""
    letters = np.unique(groups)
    rng = np.random.default_rng(seed)
    draws = {name: [] for name in WITH_CI}
    for _ in range(samples):
        drawn = rng.choice(letters, size=len(letters), replace=True)
        rows = np.concatenate([np.flatnonzero(groups == g) for g in drawn])
        if len(np.unique(y[rows])) < 2:
            continue
        triples = zip(scores.rank, scores.prob, scores.base)
        per_repeat = [probability_metrics(y[rows], r[rows], p[rows], b[rows]) for r, p, b in triples]
        for name in WITH_CI:
            draws[name].append(np.mean([m[name] for m in per_repeat]))
    return draws


def test_oof_metric_cis_equal_a_per_resample_sklearn_bootstrap():
    y, P, _, groups, B = oof_example(letters=30, repeats=2, seed=4)
    scores = OOFScores.of(P, np.clip(P * 0.8, 0, 1), B)
    m = oof_metrics(y, scores, groups, 0.5, 60, 9, MODEL)
    draws = sklearn_bootstrap(y, scores, groups, 60, 9)
    assert m[f"{MODEL}bootstrap_resamples_used"] == len(draws["roc_auc"])
    for name in WITH_CI:
        low, high = np.percentile(draws[name], [2.5, 97.5])
        assert m[f"{MODEL}{name}_ci_low"] == pytest.approx(low, abs=1e-10), name
        assert m[f"{MODEL}{name}_ci_high"] == pytest.approx(high, abs=1e-10), name


def test_oof_metrics_average_repeats_and_pool_threshold_metrics():
    y, P, F, groups, B = oof_example(repeats=3)
    m = oof_metrics(y, S(P, B), groups, 0.6, 50, 0, MODEL)
    aucs = [skm.roc_auc_score(y, p) for p in P]
    assert m["cv_roc_auc"] == pytest.approx(np.mean(aucs))
    assert m["cv_roc_auc_repeat_std"] == pytest.approx(np.std(aucs))
    assert m["cv_pr_auc"] == pytest.approx(np.mean([skm.average_precision_score(y, p) for p in P]))
    skills = [1 - skm.brier_score_loss(y, p) / skm.brier_score_loss(y, b) for p, b in zip(P, B)]
    assert m["cv_brier_skill"] == pytest.approx(np.mean(skills))
    assert m["cv_brier"] == pytest.approx(np.mean([skm.brier_score_loss(y, p) for p in P]))
    assert m["cv_mean_p"] == pytest.approx(P.mean())
    assert m["cv_ece"] == pytest.approx(np.mean([adaptive_ece(y, p) for p in P]))
    pooled_y, pooled_pred = np.tile(y, 3), P.ravel() >= 0.6
    assert m["cv_f1"] == pytest.approx(skm.f1_score(pooled_y, pooled_pred))
    assert m["cv_precision"] == pytest.approx(skm.precision_score(pooled_y, pooled_pred))
    assert m["cv_recall"] == pytest.approx(skm.recall_score(pooled_y, pooled_pred))
    assert m["cv_accuracy"] == pytest.approx(skm.accuracy_score(pooled_y, pooled_pred))


def test_one_repeat_as_a_vector_or_a_matrix():
    y, P, _, groups, B = oof_example(repeats=1)
    as_vector = oof_metrics(y, S(P[0], B[0]), groups, 0.5, 30, 0, MODEL)
    assert as_vector == oof_metrics(y, S(P, B), groups, 0.5, 30, 0, MODEL)


def test_cis_bracket_the_point_estimate_and_are_deterministic():
    y, P, _, groups, B = oof_example(repeats=2)
    m = oof_metrics(y, S(P, B), groups, 0.5, 200, 3, MODEL)
    assert m["cv_bootstrap_resamples_used"] == 200.0
    for name in WITH_CI:
        low, point, high = m[f"cv_{name}_ci_low"], m[f"cv_{name}"], m[f"cv_{name}_ci_high"]
        assert low < point < high, name
    assert oof_metrics(y, S(P, B), groups, 0.5, 200, 3, MODEL) == m
    assert oof_metrics(y, S(P, B), groups, 0.5, 200, 4, MODEL) != m


def test_cis_resample_letters_not_items():
    """Repeating every item of every letter three times leaves the CIs as they are (same letters
    drawn, AUROC / AP / Brier invariant to uniform duplication)."""
    y1, P1, F1, g1, _ = oof_example(letters=50, items_per_letter=1, repeats=2)
    y3, P3, F3, g3 = np.repeat(y1, 3), np.repeat(P1, 3, axis=1), np.repeat(F1, 3, axis=1), np.repeat(g1, 3)
    one = oof_metrics(y1, S(P1, fold_base_rates(y1, F1)), g1, 0.5, 100, 0, MODEL)
    three = oof_metrics(y3, S(P3, fold_base_rates(y3, F3)), g3, 0.5, 100, 0, MODEL)
    for name in WITH_CI:
        for suffix in ("", "_ci_low", "_ci_high"):
            assert three[f"cv_{name}{suffix}"] == pytest.approx(one[f"cv_{name}{suffix}"], abs=1e-12), name + suffix


def test_base_rate_reference_has_zero_brier_skill():
    y, _, _, groups, B = oof_example(repeats=3)
    m = oof_metrics(y, S(B, B), groups, 0.5, 50, 0, REF_BASE_RATE)
    assert m["ref_base_rate_cv_brier_skill"] == 0.0
    assert m["ref_base_rate_cv_brier_skill_ci_low"] == m["ref_base_rate_cv_brier_skill_ci_high"] == 0.0
    assert m["ref_base_rate_cv_brier_skill_repeat_std"] == 0.0
    assert m["ref_base_rate_cv_recall"] == 0.0  # it never reaches 0.5


def test_single_class_resamples_are_skipped_and_no_resample_gives_nan():
    y = np.array([1, 0, 0, 0, 0, 0])
    p = np.array([[0.8, 0.3, 0.2, 0.4, 0.1, 0.5]])
    groups = np.array(["a", "a", "b", "c", "d", "e"])
    m = oof_metrics(y, S(p, np.full((1, 6), 1 / 6)), groups, 0.5, 150, 0, MODEL)
    assert 50 < m["cv_bootstrap_resamples_used"] < 150
    m = oof_metrics(np.zeros(6, dtype=int), S(p, np.full((1, 6), 0.1)), groups, 0.5, 50, 0, MODEL)
    assert m["cv_bootstrap_resamples_used"] == 0.0
    assert all(math.isnan(m[f"cv_{n}_ci_{s}"]) for n in WITH_CI for s in ("low", "high"))
    assert not headline_defined(m)


# --- paired difference and headline ----------------------------------------------------------


def test_paired_difference_of_a_model_with_itself_is_zero():
    y, P, _, groups, B = oof_example()
    d = paired_difference(y, S(P, B), S(P, B), groups, 50, 0, "cv_diff_vs_baseline_")
    assert set(d) == {
        f"cv_diff_vs_baseline_{n}{s}" for n in ("roc_auc", "brier_skill") for s in ("", "_ci_low", "_ci_high")
    }
    assert all(v == 0.0 for v in d.values())


def test_paired_difference_is_the_difference_of_the_metrics():
    y, P, F, groups, B = oof_example()
    Q = np.array([cross_fitted_calibration(P[r], y, F[r], "sigmoid") for r in range(len(P))])
    d = paired_difference(y, S(Q, B), S(P, B), groups, 100, 0, "d_")
    a, b = (oof_metrics(y, S(X, B), groups, 0.5, 10, 0, "") for X in (Q, P))
    assert d["d_roc_auc"] == pytest.approx(a["roc_auc"] - b["roc_auc"])
    assert d["d_brier_skill"] == pytest.approx(a["brier_skill"] - b["brier_skill"])
    assert d["d_brier_skill"] > 0  # calibration improves the miscalibrated raw scores
    assert d["d_brier_skill_ci_low"] <= d["d_brier_skill"] <= d["d_brier_skill_ci_high"]


def test_headline_defined():
    y, P, _, groups, B = oof_example()
    m = oof_metrics(y, S(P, B), groups, 0.5, 20, 0, MODEL)
    assert headline_defined(m)
    for key in ("cv_roc_auc", "cv_pr_auc", "cv_brier_skill", "cv_ece"):
        assert not headline_defined({**m, key: math.nan}), key
        assert not headline_defined({**m, key: math.inf}), key
        assert not headline_defined({k: v for k, v in m.items() if k != key}), key
    # the references' numbers are not the headline
    assert headline_defined({**m, "ref_category_cv_roc_auc": math.nan})
    assert not headline_defined(oof_metrics(y, S(P, B), groups, 0.5, 20, 0, REF_CATEGORY))
    assert cv_metrics.MODEL == "cv_"


def test_ranking_metrics_read_raw_scores_and_probability_metrics_the_calibrated_ones():
    """Per-fold calibrators are different monotone maps: pooled, they can reorder items across
    folds. AUROC / PR-AUC must come from the raw scores, Brier / ECE / mean p from the calibrated."""
    y, P, F, groups, B = oof_example(repeats=1)
    Q = np.array([cross_fitted_calibration(P[0], y, F[0], "isotonic")])
    m = probability_metrics(y, P[0], Q[0], B[0])
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, P[0]))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, P[0]))
    assert m["calibrated_roc_auc"] == pytest.approx(skm.roc_auc_score(y, Q[0]))
    assert m["calibrated_roc_auc"] != pytest.approx(m["roc_auc"])
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, Q[0]))
    assert m["mean_p"] == pytest.approx(Q[0].mean())
    split = oof_metrics(y, OOFScores.of(P, Q, B), groups, 0.5, 30, 0, MODEL)
    assert split["cv_roc_auc"] == pytest.approx(m["roc_auc"])
    assert split["cv_brier_skill"] == pytest.approx(m["brier_skill"])
    assert split["cv_recall"] == pytest.approx(skm.recall_score(y, Q[0] >= 0.5))
