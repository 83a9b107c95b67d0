"""Threshold choice, test metrics for the Overturned class, the two reference predictors and the
vectorised letter bootstrap, on examples small enough to check by hand or against sklearn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from training.metrics import bootstrap
from training.metrics.binary import binary_metrics, choose_threshold
from training.metrics.bootstrap import RankedScores, letter_bootstrap, weighted_brier_skill
from training.metrics.reference_predictors import AlwaysUpheld, CategoryRate

KEYS = ("roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy", "brier")


# --- choose_threshold ----------------------------------------------------------------------


def test_choose_threshold_picks_the_f1_maximum():
    # Ranked: .8(1) .7(1) .4(0) .35(1) .2(0) .1(0). F1 at each cut:
    # .8: 1/2  .7: 4/5  .4: 2/3  .35: 6/7 (TP 3, FP 1)  .2: 3/4  .1: 2/3
    y = [0, 0, 1, 1, 0, 1]
    p = [0.1, 0.4, 0.35, 0.8, 0.2, 0.7]
    t = choose_threshold(y, p)
    assert t == pytest.approx(0.35)
    assert isinstance(t, float)
    assert binary_metrics(y, p, t)["test_f1"] == pytest.approx(6 / 7)


def test_choose_threshold_ties_go_to_the_higher_threshold():
    # .9 alone: TP1 FN1 -> F1 2/3; at .5: TP2 FP2 -> P 1/2, R 1 -> F1 2/3 as well.
    y = [1, 0, 0, 1, 0]
    p = [0.9, 0.7, 0.6, 0.5, 0.1]
    assert choose_threshold(y, p) == pytest.approx(0.9)


def test_choose_threshold_is_one_of_the_scores_and_independent_of_order():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    p = rng.random(40)
    t = choose_threshold(y, p)
    assert t in set(p.tolist())
    order = rng.permutation(40)
    assert choose_threshold(y[order], p[order]) == t
    # no other cut does better
    best = binary_metrics(y, p, t)["test_f1"]
    assert all(binary_metrics(y, p, c)["test_f1"] <= best + 1e-12 for c in p)


def test_choose_threshold_without_positives_falls_back_to_half():
    assert choose_threshold([0, 0, 0], [0.2, 0.9, 0.4]) == 0.5


# --- binary_metrics ------------------------------------------------------------------------


def test_binary_metrics_perfect_separation():
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.5)
    assert set(m) == {f"test_{k}" for k in KEYS}
    assert m["test_roc_auc"] == 1.0
    assert m["test_pr_auc"] == 1.0
    assert m["test_precision"] == m["test_recall"] == m["test_f1"] == m["test_accuracy"] == 1.0
    assert m["test_brier"] == pytest.approx((0.01 + 0.04 + 0.04 + 0.01) / 4)
    assert all(type(v) is float for v in m.values())


def test_binary_metrics_by_hand():
    # threshold .65 -> predicted [0, 0, 1, 1]: TP 1 (.9), FP 1 (.7), FN 1 (.6), TN 1 (.2)
    # AUROC: positive/negative pairs won 3 of 4; AP: ranks .9(1) .7(0) .6(1) -> 1/2*1 + 1/2*2/3
    m = binary_metrics([0, 1, 0, 1], [0.2, 0.6, 0.7, 0.9], 0.65, prefix="val_")
    assert m == pytest.approx(
        {
            "val_roc_auc": 0.75,
            "val_pr_auc": 0.5 + 1 / 3,
            "val_precision": 0.5,
            "val_recall": 0.5,
            "val_f1": 0.5,
            "val_accuracy": 0.5,
            "val_brier": (0.04 + 0.16 + 0.49 + 0.01) / 4,
        }
    )


def test_threshold_is_inclusive():
    m = binary_metrics([0, 1], [0.3, 0.6], 0.6)
    assert m["test_recall"] == 1.0 and m["test_precision"] == 1.0


def test_single_class_split_gives_nan_auc_not_an_error():
    m = binary_metrics([0, 0, 0], [0.1, 0.2, 0.3], 0.25)
    assert math.isnan(m["test_roc_auc"])
    assert math.isnan(m["test_pr_auc"])
    assert m["test_precision"] == 0.0 and m["test_recall"] == 0.0 and m["test_f1"] == 0.0
    assert m["test_accuracy"] == pytest.approx(2 / 3)
    assert m["test_brier"] == pytest.approx((0.01 + 0.04 + 0.09) / 3)

    m = binary_metrics([1, 1], [0.4, 0.9], 0.5)
    assert math.isnan(m["test_roc_auc"])
    assert m["test_recall"] == 0.5 and m["test_precision"] == 1.0


# --- reference predictors ------------------------------------------------------------------


def test_always_upheld_predicts_the_train_rate_and_never_overturned():
    ref = AlwaysUpheld().fit(["a", "b", "c", "d"], [0, 1, 0, 0])
    assert ref.name == "ref_upheld"
    p = ref.predict_proba(["x", "y", "a"])
    assert p.tolist() == [0.25, 0.25, 0.25]
    m = binary_metrics([0, 1, 0], p, 0.5)
    assert m["test_recall"] == 0.0 and m["test_accuracy"] == pytest.approx(2 / 3)
    assert m["test_roc_auc"] == 0.5
    assert AlwaysUpheld().fit([], []).predict_proba(["a"]).tolist() == [0.0]


def test_category_rate_without_smoothing_uses_train_rates_and_the_overall_rate_for_unseen():
    cats = ["mri", "mri", "pt", "pt", "pt", "drug"]
    y = [1, 0, 0, 0, 1, 0]
    ref = CategoryRate(prior_items=0).fit(cats, y)
    assert ref.name == "ref_category"
    p = ref.predict_proba(["mri", "pt", "drug", "surgery"])
    assert p == pytest.approx([0.5, 1 / 3, 0.0, 2 / 6])
    assert len(ref.predict_proba([])) == 0


def test_category_rate_is_smoothed_toward_the_overall_rate_by_default():
    """(overturned + m * overall) / (items + m) with m = 10 prior items; overall = 2/6."""
    cats = ["mri", "mri", "pt", "pt", "pt", "drug"]
    y = [1, 0, 0, 0, 1, 0]
    ref = CategoryRate().fit(cats, y)
    assert ref.prior_items == 10
    overall = 1 / 3
    p = ref.predict_proba(["mri", "pt", "drug", "surgery"])
    assert p == pytest.approx([(1 + 10 * overall) / 12, (1 + 10 * overall) / 13, (10 * overall) / 11, overall])
    # a category seen a couple of times never scores 0 or 1
    two = CategoryRate().fit(["a", "a", "b", "b", "b", "b"], [1, 1, 0, 0, 0, 0])
    pa, pb = two.predict_proba(["a", "b"])
    assert 0 < pb < two.overall < pa < 1


def test_category_rate_smoothing_shrinks_with_more_items():
    """The more items a category has, the closer its rate is to its own raw rate."""
    small = CategoryRate().fit(["a"] * 2 + ["b"] * 8, [1, 1] + [0] * 8).predict_proba(["a"])[0]
    large = CategoryRate().fit(["a"] * 200 + ["b"] * 800, [1] * 200 + [0] * 800).predict_proba(["a"])[0]
    assert small < large < 1
    assert large == pytest.approx((200 + 10 * 0.2) / 210)
    assert CategoryRate(prior_items=1e9).fit(["a", "b"], [1, 0]).predict_proba(["a", "b"]) == pytest.approx([0.5, 0.5])


# --- letter_bootstrap and the weighted metrics -----------------------------------------------


def bootstrap_example(letters: int = 25, seed: int = 5):
    """Letters of 1-4 items, ~25% overturned, scores rounded to two decimals so ties occur."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"L{k:02d}" for k in rng.permutation(letters)], rng.integers(1, 5, letters))
    y = (rng.random(len(groups)) < 0.25).astype(int)
    p = np.round(np.clip(0.2 + 0.3 * y + rng.normal(0, 0.2, len(y)), 0.01, 0.99), 2)
    base = np.full(len(y), 0.25)
    return y, p, base, groups


def test_vectorised_metrics_equal_sklearn_on_every_resample():
    """Each resample's weighted AUROC, average precision and Brier skill equal sklearn's on that
    resample's rows (the drawn letters' items, repeated as often as the letter was drawn)."""
    y, p, base, groups = bootstrap_example()
    ranked = RankedScores.of(y, p)
    assert len(ranked.starts) < len(y)  # there are ties to get right
    seen = []

    def statistic(w):
        seen.append(w)
        return {
            "roc_auc": ranked.roc_auc(w),
            "pr_auc": ranked.average_precision(w),
            "brier_skill": weighted_brier_skill(y, p, base, w),
        }

    draws = letter_bootstrap(y, groups, 40, 0, statistic)
    weights = np.concatenate(seen)
    assert len(weights) == len(draws["roc_auc"]) > 30
    for k, w in enumerate(weights):
        rows = np.repeat(np.arange(len(y)), w.astype(int))
        yr, pr = y[rows], p[rows]
        assert draws["roc_auc"][k] == pytest.approx(skm.roc_auc_score(yr, pr), abs=1e-12)
        assert draws["pr_auc"][k] == pytest.approx(skm.average_precision_score(yr, pr), abs=1e-12)
        skill = 1 - skm.brier_score_loss(yr, pr) / skm.brier_score_loss(yr, base[rows])
        assert draws["brier_skill"][k] == pytest.approx(skill, abs=1e-12)


def test_letter_bootstrap_draws_whole_letters_as_old_per_resample_choice_did():
    """A resample's weights are its letters' draw counts, the draws of one rng.choice over the
    sorted letters per resample; single-class resamples are dropped."""
    y, p, base, groups = bootstrap_example(letters=8)
    letters = np.unique(groups)
    rng = np.random.default_rng(3)
    expected = []
    for _ in range(30):
        drawn = rng.choice(letters, size=len(letters), replace=True)
        w = np.array([np.sum(drawn == g) for g in groups], dtype=float)
        if 0 < (w * y).sum() < w.sum():
            expected.append(w)
    seen = []
    used = letter_bootstrap(y, groups, 30, 3, lambda w: seen.append(w) or {"n": np.ones(len(w))})["n"]
    assert len(used) == len(expected) < 30
    np.testing.assert_array_equal(np.concatenate(seen), np.array(expected))


def test_letter_bootstrap_blocks_give_the_same_resamples(monkeypatch):
    """Splitting the resamples into blocks (to bound memory) does not change them."""
    y, p, base, groups = bootstrap_example()
    ranked = RankedScores.of(y, p)
    whole = letter_bootstrap(y, groups, 50, 1, lambda w: {"auc": ranked.roc_auc(w)})["auc"]
    monkeypatch.setattr(bootstrap, "BLOCK_CELLS", 7 * len(y))  # blocks of 7 resamples
    blocked = letter_bootstrap(y, groups, 50, 1, lambda w: {"auc": ranked.roc_auc(w)})["auc"]
    np.testing.assert_array_equal(whole, blocked)


def test_letter_bootstrap_with_one_class_uses_no_resample():
    draws = letter_bootstrap([0, 0, 0], ["a", "b", "c"], 20, 0, lambda w: {"n": w.sum(axis=1)})
    assert len(draws["n"]) == 0
