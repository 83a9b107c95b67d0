"""Score bands (training.metrics.bands): edges from the out-of-fold probabilities that never cross the
base rate, observed rates counted directly, and the rule for naming a band: skill under both letter
folds and writer shift, and a band rate whose CI excludes the base rate."""

from __future__ import annotations

import numpy as np
import pytest

from serving.model_evaluation import ABOUT, HIGHER, LOWER, Bands
from training.metrics.bands import band_edges, band_members, score_bands, skill_supported

SKILLED = {"cv_within_fold_roc_auc_ci_low": 0.56, "cv_writer_within_fold_roc_auc_ci_low": 0.52}


def example(letters: int = 120, repeats: int = 2, signal: float = 2.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"L{k:03d}" for k in range(letters)], 2)
    y = (rng.random(len(groups)) < 0.15).astype(int)
    logit = -2 + signal * (y - 0.15) + rng.normal(0, 0.8, (repeats, len(y)))
    return y, 1 / (1 + np.exp(-logit)), groups


@pytest.mark.parametrize("shift", [-0.3, 0.0, 0.3])
def test_edges_never_cross_the_base_rate(shift):
    """Even when every probability lies on one side of the base rate."""
    y, prob, _ = example()
    prob = np.clip(prob + shift, 0.001, 0.999)
    base = float(y.mean())
    lower, upper = band_edges(prob, base)
    assert lower <= base <= upper
    members = band_members(prob, lower, upper)
    assert not (prob[members[HIGHER]] < base).any() and not (prob[members[LOWER]] > base).any()
    assert sum(m.astype(int) for m in members.values()).min() == 1  # each score in one band exactly


def test_edges_are_the_tertiles_when_they_straddle_the_base_rate():
    prob = np.linspace(0.01, 0.31, 301)
    lower, upper = band_edges(prob, 0.15)
    assert lower == pytest.approx(np.quantile(prob, 1 / 3)) and upper == pytest.approx(np.quantile(prob, 2 / 3))


def test_observed_rates_are_counted_directly_and_their_cis_bracket_them():
    y, prob, groups = example()
    base = float(y.mean())
    bands = score_bands(y, prob, groups, base, SKILLED, 300, 0)
    Bands.model_validate(bands)  # the packaged shape
    members = band_members(prob, bands["lower_edge"], bands["upper_edge"])
    for row in bands["rows"]:
        mask = members[row["band"]]
        assert row["observed_rate"] == pytest.approx(np.tile(y, (len(prob), 1))[mask].mean())
        assert row["items"] == round(mask.sum() / len(prob))
        assert row["observed_ci_low"] <= row["observed_rate"] <= row["observed_ci_high"]
    rates = {r["band"]: r["observed_rate"] for r in bands["rows"]}
    assert rates[LOWER] < base < rates[HIGHER]  # the planted signal


def test_a_band_is_shown_only_with_skill_and_a_rate_clear_of_the_base_rate():
    y, prob, groups = example(signal=4.0)
    base = float(y.mean())
    shown = {r["band"]: r["shown"] for r in score_bands(y, prob, groups, base, SKILLED, 300, 0)["rows"]}
    assert shown == {LOWER: True, ABOUT: True, HIGHER: True}
    for unskilled in (
        {**SKILLED, "cv_writer_within_fold_roc_auc_ci_low": 0.49},  # not under writer shift
        {"cv_within_fold_roc_auc_ci_low": 0.7},  # writer shift not measured
        {},
    ):
        bands = score_bands(y, prob, groups, base, unskilled, 300, 0)
        assert not bands["skill_supported"]
        assert {r["band"]: r["shown"] for r in bands["rows"]} == {LOWER: False, ABOUT: True, HIGHER: False}
    # no signal: skill claimed, but the bands' rates do not clear the base rate
    y, prob, groups = example(signal=0.0, letters=60)
    rows = score_bands(y, prob, groups, float(y.mean()), SKILLED, 300, 0)["rows"]
    for row in rows:
        clear = row["observed_ci_high"] < y.mean() or row["observed_ci_low"] > y.mean()
        assert row["shown"] == (row["band"] == ABOUT or clear)


def test_skill_rule_words_name_both_bounds():
    held, words = skill_supported(SKILLED)
    assert held and "letter folds 0.560" in words and "writer shift 0.520" in words
    held, words = skill_supported({"cv_within_fold_roc_auc_ci_low": 0.5, "cv_writer_within_fold_roc_auc_ci_low": 0.9})
    assert not held and "not above 0.5" in words  # 0.5 itself is not above a coin
