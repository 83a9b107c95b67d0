"""What a person reads beside a probability (serving.answer): the band never contradicts the probability,
"about usual" unless the packaged skill supports more, and the trust sentence built from a packaged
evaluation's own numbers, with the three Brier-skill wordings."""

from __future__ import annotations

import numpy as np
import pytest

from serving.answer import answer_for, band_label, brier_wording, scored_alike, trust_sentence
from serving.model_evaluation import ABOUT, HIGHER, LOWER, Evaluation

BASE = 0.107


def bands(lower=0.072, upper=0.113, supported=True, shown=(True, True, True), rates=(0.057, 0.095, 0.17)) -> dict:
    names = (LOWER, ABOUT, HIGHER)
    ranges = ((0.0, lower), (lower, upper), (upper, 1.0))
    return {
        "lower_edge": lower,
        "upper_edge": upper,
        "skill_supported": supported,
        "skill": "lower 95% bound of the within-fold AUROC: letter folds 0.560, writer shift 0.520; above 0.5",
        "rows": [
            {
                "band": name,
                "low": low,
                "high": high,
                "items": 112,
                "overturned": round(112 * rate),
                "observed_rate": rate,
                "observed_ci_low": rate / 2,
                "observed_ci_high": rate * 1.5,
                "shown": show,
            }
            for name, (low, high), rate, show in zip(names, ranges, rates, shown)
        ],
    }


def evaluation(**figures) -> dict:
    """A packaged evaluation as serving reads it (every field, through the pydantic model)."""
    body = {
        "protocol": "cv",
        "base_rate": BASE,
        "letters": 152,
        "within_fold_roc_auc": 0.634,
        "within_fold_roc_auc_ci_low": 0.512,
        "within_fold_roc_auc_ci_high": 0.761,
        "roc_auc": 0.70,
        "roc_auc_ci_low": 0.6,
        "roc_auc_ci_high": 0.8,
        "brier_skill": 0.01,
        "brier_skill_ci_low": -0.02,
        "brier_skill_ci_high": 0.04,
        "bands": bands(),
    }
    return Evaluation.model_validate(body | figures).model_dump()


PROBABILITIES = np.linspace(0.0, 0.4, 401)


@pytest.mark.parametrize(
    "packaged",
    [
        bands(),
        bands(supported=False),
        bands(shown=(False, True, False)),
        # a package whose edges lie on the wrong side of the base rate (hand-edited, or a bug upstream)
        bands(lower=0.2, upper=0.05),
        bands(lower=0.01, upper=0.02),
    ],
)
def test_no_label_contradicts_the_probability(packaged):
    for p in PROBABILITIES:
        label = band_label(p, BASE, packaged)
        if p < BASE:
            assert label != HIGHER, p
        if p > BASE:
            assert label != LOWER, p
        answer = answer_for(p, BASE, {"bands": packaged})
        assert answer["band"] == label
        assert "overturned" not in answer["answer"].split(":")[0].lower()  # the head names no decision


def test_about_usual_whenever_skill_does_not_support_a_band():
    packaged = bands(supported=False)
    assert {band_label(p, BASE, packaged) for p in PROBABILITIES} == {ABOUT}
    answer = answer_for(0.02, BASE, {"bands": packaged})
    assert answer["answer"].startswith("2.0% against a base rate of 10.7%: about usual.")
    assert "cannot tell this request from the average one" in answer["answer"]
    # what became of items scored alike is still said, from the package
    assert "of decided items it scored below 7.2%, 6% were overturned (95% CI 3% to 9%)" in answer["answer"]
    assert answer["observed_rate_scored_alike"] == 0.057


def test_a_supported_band_is_named_with_its_observed_rate():
    answer = answer_for(0.2, BASE, {"bands": bands()})
    assert answer["band"] == HIGHER
    assert answer["answer"] == (
        "20.0% against a base rate of 10.7%: higher than usual; of decided items it scored above 11.3%, "
        "17% were overturned (95% CI 8% to 26%)."
    )
    assert band_label(0.03, BASE, bands()) == LOWER
    assert band_label(0.1, BASE, bands()) == ABOUT
    # a band whose rate did not clear the base rate is not named, even with skill
    assert band_label(0.2, BASE, bands(shown=(True, True, False))) == ABOUT


def test_the_range_a_probability_falls_in_matches_training():
    """Below the lower edge: lower; above the upper edge: higher; the edges themselves: about usual
    (training.metrics.bands.band_members assigns them the same way)."""
    packaged = bands()
    assert scored_alike(0.072, packaged)["band"] == ABOUT and scored_alike(0.0719, packaged)["band"] == LOWER
    assert scored_alike(0.113, packaged)["band"] == ABOUT and scored_alike(0.1131, packaged)["band"] == HIGHER


def test_a_model_without_bands_says_the_probability_and_base_rate_only():
    assert answer_for(0.07, BASE, None) == {
        "band": None,
        "observed_rate_scored_alike": None,
        "answer": "7.0% against a base rate of 10.7%.",
    }


def test_the_trust_sentence_takes_every_number_from_the_package():
    assert trust_sentence(evaluation()) == (
        "Tested on 152 letters it was not trained on: when it compared an overturned item with an upheld one, "
        "it put the overturned one higher 63 times in 100 (a coin: 50; the range we are 95% sure of: 51 to 76). "
        "Its probabilities are no better than quoting the 10.7% base rate."
    )
    other = trust_sentence(
        evaluation(
            letters=40,
            within_fold_roc_auc=0.71,
            within_fold_roc_auc_ci_low=0.58,
            within_fold_roc_auc_ci_high=0.83,
            base_rate=0.2,
            writer_within_fold_roc_auc=0.55,
            writer_within_fold_roc_auc_ci_low=0.41,
            writer_within_fold_roc_auc_ci_high=0.68,
        )
    )
    assert "Tested on 40 letters" in other and "higher 71 times in 100" in other and "58 to 83" in other
    assert "When the letter's writer was new to it too: 55 in 100 (41 to 68)." in other
    assert "the 20.0% base rate" in other


@pytest.mark.parametrize(
    ("low", "high", "words"),
    [(0.01, 0.05, "better than"), (-0.02, 0.04, "no better than"), (-0.09, -0.01, "worse than")],
)
def test_the_three_brier_wordings(low, high, words):
    assert brier_wording(low, high) == words
    sentence = trust_sentence(evaluation(brier_skill_ci_low=low, brier_skill_ci_high=high))
    assert sentence.endswith(f"Its probabilities are {words} quoting the 10.7% base rate.")


def test_split_mode_reads_the_test_auroc_and_an_old_package_says_nothing():
    split = evaluation(protocol="split", letters=23, within_fold_roc_auc=None, roc_auc=0.66, roc_auc_ci_low=0.4)
    assert "Tested on 23 letters" in trust_sentence(split) and "66 times in 100" in trust_sentence(split)
    assert "40 to 80" in trust_sentence(split)
    assert trust_sentence(None) is None
    old = Evaluation.model_validate({"protocol": "cv", "roc_auc": 0.6, "base_rate": 0.1}).model_dump()
    assert trust_sentence(old) is None  # no interval packaged: no claim
