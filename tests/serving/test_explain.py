"""Reasons of the transformer family: the change in score when each sentence of the case summary is
left out (serving/reasons.py, via TransformerScorer.reasons), beside its precedents and reviewer
criteria. The baseline's term reasons are tested in test_precedents.py beside its precedents."""

from __future__ import annotations

import numpy as np
import pytest

from features.views import split_sentences
from serving.reasons import readable_feature, sentence_reasons

SUMMARY = (
    "The worker fell from a ladder. An x-ray showed a fracture of the wrist. "
    "Pain improved with rest. The request is for a brace."
)


def fake_model(records):
    """P rises with 'fracture' and falls with 'improved' in the summary; other words do nothing."""
    return np.array(
        [0.3 + 0.4 * ("fracture" in r["case_summary"]) - 0.2 * ("improved" in r["case_summary"]) for r in records]
    )


def test_sentence_reasons_find_the_sentences_that_move_the_score():
    reasons = sentence_reasons(fake_model, [{"treatment": "wrist brace", "case_summary": SUMMARY}])[0]
    assert [(r["text"], r["direction"]) for r in reasons] == [
        ("An x-ray showed a fracture of the wrist.", "up"),
        ("Pain improved with rest.", "down"),
    ]
    assert reasons[0]["effect"] == pytest.approx(0.4) and reasons[1]["effect"] == pytest.approx(-0.2)
    assert all(r["kind"] == "sentence" for r in reasons)


def test_no_summary_no_sentence_reasons():
    assert sentence_reasons(fake_model, [{"treatment": "wrist brace"}]) == [[]]


def test_baseline_feature_names_read_as_words():
    assert readable_feature("text__lumbar spine") == ("term", "lumbar spine")
    assert readable_feature("categorical__treatment_category_opioids") == ("feature", "treatment category = opioids")
    assert readable_feature("categorical__patient_sex_male") == ("feature", "patient sex = male")
    assert readable_feature("numeric__days_since_injury") == ("feature", "days since injury")


def test_transformer_predictions_explain_with_summary_sentences(tf_model_folder, tf_splits):
    from serving.predictor import load_predictor

    predictor = load_predictor(str(tf_model_folder))
    row = next(r for r in tf_splits["train"] if len(split_sentences(r["case_summary"])) > 3)
    plain = predictor.predict([row])[0]
    explained = predictor.predict([row], explain=True)[0]
    assert explained["p_overturned"] == plain["p_overturned"] and "reasons" not in plain
    reasons = explained["reasons"]
    assert reasons and all(r["kind"] == "sentence" for r in reasons)
    sentences = [" ".join(s.split()) for s in split_sentences(row["case_summary"])]
    for reason in reasons:  # each effect is the raw score with the sentence minus the score without it
        index = next(i for i, s in enumerate(sentences) if s.startswith(reason["text"].removesuffix(" …")))
        without = dict(
            row, case_summary=" ".join(s for j, s in enumerate(split_sentences(row["case_summary"])) if j != index)
        )
        scorer = predictor.scorer.inner if hasattr(predictor.scorer, "inner") else predictor.scorer
        p = scorer.predict_proba([row, without])
        assert reason["effect"] == pytest.approx(p[0] - p[1], abs=1e-4)
    assert explained["precedents"] and explained["precedents"][0]["similarity"] > 0
    # reviewer criteria do not depend on the family (serving/criteria.py; tests/serving/test_reviewer_criteria.py)
    assert explained["criteria"] and {"criterion", "upheld_count", "overturned_count", "in_request"} <= set(
        explained["criteria"][0]
    )
