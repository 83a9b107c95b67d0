"""Reasons (serving/reasons.py): each candidate phrase of a request left out in turn, its effect the change
in the probability in percentage points, for every family alike. First with small models written here
(what the numbers must be), then with the session's baseline, the tiny transformer and an ensemble of
the two: no reason is a bare token, none is about the worker, and each effect is what re-scoring the
request without the phrase gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from serving.reason_phrases import request_phrases
from serving.reason_stoplist import FORBIDDEN_WORDS, about_the_worker, bare
from serving.reasons import MIN_EFFECT_PP, phrase_reasons

# Sentences that document no reviewer criterion: each is a finding of its own.
SUMMARY = (
    "The wrist was caught in a press at work. He smokes a pack a day. "
    "His sleep is poor because of the pain. The hand feels cold in the morning."
)


def keyword_model(weights: dict[str, float], base: float = 0.3):
    """P = base + the weights of the words found in the case summary (additive, so effects can be summed)."""

    def predict(records):
        return np.array(
            [base + sum(w for word, w in weights.items() if word in (r.get("case_summary") or "")) for r in records]
        )

    return predict


def test_an_effect_is_the_probability_with_minus_without_the_phrase_in_points():
    reasons = phrase_reasons(
        keyword_model({"press": 0.04, "sleep": -0.02}), [{"treatment": "wrist brace", "case_summary": SUMMARY}]
    )[0]
    by_text = {r["text"]: r for r in reasons}
    assert by_text["The wrist was caught in a press at work"]["effect"] == pytest.approx(4.0)
    assert by_text["The wrist was caught in a press at work"]["direction"] == "up"
    assert by_text["His sleep is poor because of the pain"]["effect"] == pytest.approx(-2.0)
    assert by_text["His sleep is poor because of the pain"]["direction"] == "down"
    assert [r["text"] for r in reasons] == [
        "The wrist was caught in a press at work",
        "His sleep is poor because of the pain",
    ]
    assert all(r["kind"] == "finding" for r in reasons)  # the treatment and the smoking do not move this model


def test_effects_of_separate_phrases_of_an_additive_model_sum_to_leaving_them_all_out():
    predict = keyword_model({"press": 0.04, "sleep": -0.02, "cold": 0.011, "pack": -0.007})
    record = {"treatment": "wrist brace", "case_summary": SUMMARY}
    reasons = phrase_reasons(predict, [record], top=100)[0]
    found = request_phrases(record)
    findings = [c for c in found.candidates if c.drop]
    everything = frozenset().union(*(c.drop for c in findings))
    assert sum(len(c.drop) for c in findings) == len(everything)  # the phrases do not overlap
    without_all = predict([dict(record, case_summary=found.summary(everything))])[0]
    p = predict([found.full()])[0]
    assert sum(r["effect"] for r in reasons) == pytest.approx(100 * (p - without_all), abs=0.02)
    assert all((r["effect"] > 0) == (r["direction"] == "up") for r in reasons)


def test_reasons_are_ranked_by_size_and_the_tiny_ones_left_out():
    weights = {"press": 0.0004, "sleep": -0.05, "cold": 0.1, "pack": 0.0001}
    reasons = phrase_reasons(keyword_model(weights), [{"treatment": "wrist brace", "case_summary": SUMMARY}])[0]
    assert [r["effect"] for r in reasons] == [10.0, -5.0]  # 0.04 and 0.01 points are under MIN_EFFECT_PP
    assert MIN_EFFECT_PP > 0.04
    assert (
        len(
            phrase_reasons(
                keyword_model({"press": 0.1, "sleep": 0.2, "cold": 0.3}),
                [{"treatment": "x", "case_summary": SUMMARY}],
                top=2,
            )[0]
        )
        == 2
    )


def test_a_criterion_the_request_lacks_is_scored_as_if_it_were_documented():
    # the sentence added is serving.what_if's for functional improvement
    model = keyword_model({"household chores": 0.03})
    record = {"treatment": "Physical therapy 8 sessions", "case_summary": SUMMARY}
    reasons = phrase_reasons(model, [record], criteria=[{"functional_improvement": False, "red_flags": False}])[0]
    (lacks,) = [r for r in reasons if r["kind"] == "lacks"]
    # lacking it: 3 points lower than documenting it would be
    assert lacks["criteria"] == ["functional_improvement"] and lacks["effect"] == pytest.approx(-3.0)
    assert lacks["quote"] is None and lacks["direction"] == "down"


def test_the_treatment_is_scored_by_leaving_its_name_out():
    def by_treatment(records):
        return np.array([0.2 + 0.05 * ("MRI" in r["treatment"]) for r in records])

    (reason,) = phrase_reasons(by_treatment, [{"treatment": "MRI of the lumbar spine", "case_summary": SUMMARY}])[0]
    assert reason == {
        "kind": "treatment",
        "text": "MRI of the lumbar spine (imaging diagnostics)",
        "quote": None,
        "criteria": [],
        "effect": 5.0,
        "direction": "up",
    }


TOKEN_SUMMARY = (
    "Right. L4-L5. Physician requested. 10 mg. Treating physician. Bilateral L5-S1. Dated 11/30/2016. "
    "Case summary. Left side. "
    "Positive straight leg raise on the right."
)


def test_no_bare_token_becomes_a_reason_even_when_the_model_leans_on_it():
    """A model moved most by sides, levels, roles and units: without the stop list they would top the reasons."""
    tokens = ("Right", "L4-L5", "Physician", "mg", "Treating", "L5-S1", "Dated", "Case summary", "Left")
    reasons = phrase_reasons(
        keyword_model({**dict.fromkeys(tokens, 0.05), "straight leg": 0.01}),
        [{"treatment": "lumbar epidural steroid injection", "case_summary": TOKEN_SUMMARY}],
        top=100,
    )[0]
    # only the clinical sentence is a reason (it documents examination findings)
    assert [(r["kind"], r["quote"], r["effect"]) for r in reasons] == [
        ("documents", "Positive straight leg raise on the right.", 1.0)
    ]
    found = request_phrases({"treatment": "x", "case_summary": TOKEN_SUMMARY})
    assert len(found.units) > 8  # the bare clauses were there to be chosen


def test_no_summary_no_phrase_reasons():
    assert phrase_reasons(keyword_model({"press": 0.1}), [{"treatment": "wrist brace"}]) == [[]]
    assert phrase_reasons(keyword_model({}), []) == []


# ------------------------------------------------------------------- the families, trained on the small corpus


def check_reasons(scorer, rows) -> list[dict]:
    """Every family's reasons: none bare or about the worker, sizes in points, each one re-scored by hand."""
    every = phrase_reasons(scorer.predict_proba, rows, top=100)
    flat = [r for reasons in every for r in reasons]
    assert flat, "no reason at all: the check below could not fail"
    assert not [r["text"] for r in flat if bare(r["text"]) or about_the_worker(r["text"])]
    assert all(abs(r["effect"]) >= MIN_EFFECT_PP and (r["effect"] > 0) == (r["direction"] == "up") for r in flat)
    assert all(abs(r["effect"]) <= 100 for r in flat)
    row, reasons = next((row, reasons) for row, reasons in zip(rows, every) if reasons)
    found = request_phrases(row)
    by_text = {c.text: c for c in found.candidates}
    for reason in reasons[:3]:
        p = scorer.predict_proba([found.full(), found.variant(by_text[reason["text"]])])
        assert reason["effect"] == pytest.approx(100 * (p[0] - p[1]), abs=0.006)
    return flat


@pytest.fixture(scope="module")
def small_corpus_rows(small_corpus) -> list[dict]:
    from features.ingest import ingest

    dsd, _ = ingest([small_corpus])
    rows = [row for split in dsd.values() for row in split]
    # the summaries hold sides, levels and units, so a reason could be one
    units = [u.lower() for r in rows for u in request_phrases(r).units]
    assert any(w in FORBIDDEN_WORDS for u in units for w in u.split()) and any("l4-l5" in u for u in units)
    return rows[::3]


@pytest.fixture(scope="module")
def baseline_folder(raw_baseline_store, tmp_path_factory) -> Path:
    from conftest import downloaded_model_folder

    return downloaded_model_folder(raw_baseline_store.result.model_uri, tmp_path_factory.mktemp("baseline"))


@pytest.fixture(scope="module")
def transformer_folder(tf_model_folder) -> Path:
    return next(tf_model_folder.glob("artifacts/*/imr_model.json")).parent


@pytest.fixture(scope="module")
def ensemble_folder(baseline_folder, transformer_folder, tmp_path_factory) -> Path:
    """An ensemble package of the two (equal weights, no calibration), as training.families.ensemble lays it out."""
    from serving.ensemble_scorer import COMBINER_FILE, MEMBERS_DIR
    from serving.model_dir import write_meta

    folder = tmp_path_factory.mktemp("ensemble")
    for name, member in (("baseline", baseline_folder), ("transformer", transformer_folder)):
        shutil.copytree(member, folder / MEMBERS_DIR / name)
    spec = {"members": ["baseline", "transformer"], "mean": [0.0, 0.0], "scale": [1.0, 1.0], "coef": [0.5, 0.5]}
    (folder / COMBINER_FILE).write_text(json.dumps(spec | {"intercept": 0.0}))
    files = [str(p.relative_to(folder)) for p in sorted(folder.rglob("*")) if p.is_file()]
    write_meta(folder, "ensemble", "pre_decision", 0.5, files)
    return folder


def test_baseline_reasons_are_readable_phrases(baseline_folder, small_corpus_rows):
    from serving.scorers import load_scorer

    check_reasons(load_scorer(baseline_folder), small_corpus_rows)


def test_transformer_reasons_are_readable_phrases(transformer_folder, small_corpus_rows):
    from serving.scorers import load_scorer

    scorer = load_scorer(transformer_folder)
    # the raw scores: the tiny model's calibration on 36 letters is nearly flat, so its effects round to nothing
    check_reasons(getattr(scorer, "inner", scorer), small_corpus_rows)


def test_ensemble_reasons_are_readable_phrases_in_one_unit(ensemble_folder, small_corpus_rows):
    from serving.scorers import load_scorer

    scorer = load_scorer(ensemble_folder)
    flat = check_reasons(scorer, small_corpus_rows)
    assert {r["kind"] for r in flat} <= {"treatment", "documents", "lacks", "finding"}
    assert not any("member" in r for r in flat)  # one model, one unit: never a member's own units


def test_transformer_predictions_explain_with_phrases(tf_model_folder, tf_splits):
    from serving.predictor import load_predictor

    predictor = load_predictor(str(tf_model_folder))
    row = next(r for r in tf_splits["train"] if len(r["case_summary"]) > 200)
    plain = predictor.predict([row])[0]
    explained = predictor.predict([row], explain=True)[0]
    assert explained["p_overturned"] == plain["p_overturned"] and "reasons" not in plain
    assert all(set(r) == {"kind", "text", "quote", "criteria", "effect", "direction"} for r in explained["reasons"])
    # the reasons are those of the probability the caller sees: the calibrated one
    assert (
        explained["reasons"]
        == phrase_reasons(
            predictor.scorer.predict_proba,
            [row],
            criteria=[{c["criterion"]: c["in_request"] for c in explained["criteria"]}],
        )[0]
    )
    assert "precedents_note" in explained
    # reviewer criteria do not depend on the family (serving/criteria.py; tests/serving/test_reviewer_criteria.py)
    assert explained["criteria"] and {"criterion", "upheld_count", "overturned_count", "in_request"} <= set(
        explained["criteria"][0]
    )


def test_a_model_without_the_criteria_table_still_gives_documented_criteria_as_reasons(baseline_folder):
    """Without the table (a model packaged without it) no category's criteria are known: every criterion the
    summary documents is still a `documents` candidate, as serving.reason_phrases.request_phrases looks for
    them all, rather than none."""
    from serving.predictor import load_predictor

    predictor = load_predictor(str(baseline_folder))
    predictor.criteria = None
    summary = (
        "Physical therapy and NSAIDs failed to relieve the low back pain. On examination there is tenderness "
        "with reduced range of motion. An MRI showed a disc herniation that matches the symptoms."
    )
    row = {"treatment": "Lumbar epidural steroid injection", "case_summary": summary}
    explained = predictor.predict([row], explain=True)[0]
    assert explained["criteria"] == [] and any(r["kind"] == "documents" for r in explained["reasons"])
    assert explained["reasons"] == phrase_reasons(predictor.scorer.predict_proba, [row])[0]
