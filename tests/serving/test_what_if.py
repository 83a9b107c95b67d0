"""What would change the answer (serving/what_if.py) and the criteria family's scorer
(serving/criteria_scorer.py), on a criteria model packaged by hand with known coefficients: a criterion
the request lacks, added by its standard sentence, moves the probability exactly as its coefficient says;
nothing is shown for a criterion the request documents; a sentence that does not document the criterion
for this request gives no probability. Then any family: the shared baseline re-scored with the sentence,
and `what_if` with its note in predict(explain=True), `imr predict --explain` and /v1/predict."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from features.criteria import CRITERIA, documented
from serving.calibration import apply_calibration
from serving.criteria import CriteriaTable, build_table
from serving.criteria_scorer import MODEL_FILE, feature_criteria, read_spec
from serving.model_dir import ModelIntegrityError, write_meta
from serving.predictor import Predictor
from serving.reasons import phrase_reasons
from serving.scorers import load_scorer
from serving.what_if import NOTE, SENTENCES, WhatIf, documenting_sentence, with_sentence

PT = "Physical therapy 2 times a week for 6 weeks"  # physical_medicine
MRI = "MRI of the lumbar spine without contrast"  # imaging_diagnostics
CALIBRATION = {"method": "sigmoid", "a": 0.6, "b": -0.9}  # shown probabilities are calibrated ones
COEF = {"conservative_care": 1.2, "physical_examination": -0.8, "functional_improvement": 0.5, "work_status": 0.3}
CATEGORY_COEF = {"physical_medicine": -0.4, "imaging_diagnostics": 0.2}
INTERCEPT = -0.5
# Rationales that cite (features.criteria.cited) these criteria, so the table lists them for both categories.
RATIONALE = (
    "There is no documentation of failed conservative care. The physical examination findings were not "
    "documented. There is no documentation of functional improvement. The work status was not stated. "
    "There are no red flags."
)


def spec() -> dict:
    features = feature_criteria()
    return {
        "features": features,
        "coef": [COEF.get(f, 0.0) for f in features],
        "categories": sorted(CATEGORY_COEF),
        "category_coef": [CATEGORY_COEF[c] for c in sorted(CATEGORY_COEF)],
        "category_share": [0.5, 0.5],
        "intercept": INTERCEPT,
        "C": 0.1,
    }


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("criteria-model")
    (folder / MODEL_FILE).write_text(json.dumps(spec()))
    rows = [
        {"case_number": f"CM-{i}", "treatment": t, "decision": d, "rationale": RATIONALE, "case_summary": f"S{i}."}
        for i, (t, d) in enumerate([(t, d) for t in (PT, MRI) for d in ["Upheld"] * 8 + ["Overturned"] * 4])
    ]
    files = [MODEL_FILE, *build_table(rows, folder)]
    write_meta(folder, "criteria", "pre_decision", 0.5, files, {"C": 0.1}, CALIBRATION, 0.3)
    return folder


@pytest.fixture(scope="module")
def predictor(model_dir) -> Predictor:
    scorer = load_scorer(model_dir)
    return Predictor(scorer, "hand-made", None, criteria=CriteriaTable(model_dir))


def shown(logit: float) -> float:
    return float(apply_calibration(CALIBRATION, np.array([1 / (1 + math.exp(-logit))]))[0])


def logit_of(summary: str, treatment: str, category: str) -> float:
    return INTERCEPT + CATEGORY_COEF[category] + sum(w for c, w in COEF.items() if documented(c, summary, treatment))


def test_every_standard_sentence_documents_its_criterion_for_some_request():
    documentable = {c.id for c in CRITERIA if c.documents is not None}
    assert set(SENTENCES) == documentable
    treatments = [PT, MRI, "Naproxen 550mg #60", "Norco 10/325mg #60", "Walker", "EMG of the lower extremities"]
    for criterion in SENTENCES:
        found = [t for t in treatments if documenting_sentence(criterion, {"treatment": t, "case_summary": "Pain."})]
        assert found, criterion


def test_the_sentence_is_appended_as_its_own_sentence():
    assert with_sentence("Low back pain", "Rest failed.") == "Low back pain. Rest failed."
    assert with_sentence("Low back pain.  ", "Rest failed.") == "Low back pain. Rest failed."
    assert with_sentence(None, "Rest failed.") == "Rest failed."


def test_the_scorer_is_its_coefficients(model_dir):
    scorer = load_scorer(model_dir)
    summary = "Physical therapy and NSAIDs failed to relieve the pain. She is working modified duty."
    p = scorer.predict_proba([{"treatment": PT, "case_summary": summary}])[0]
    assert p == pytest.approx(shown(logit_of(summary, PT, "physical_medicine")))


def test_reasons_are_criteria_phrases_with_their_effect_in_points(model_dir):
    """The criteria family explains as every family does (serving.reasons): the clause documenting a
    criterion left out, a criterion the request lacks added with what_if's sentence. For this model each
    effect is its coefficient's, in points of the shown (calibrated) probability."""
    scorer = load_scorer(model_dir)
    summary = "Physical therapy and NSAIDs failed to relieve the pain."
    called_for = {"conservative_care": True, "physical_examination": False, "functional_improvement": False}
    reasons = phrase_reasons(
        scorer.predict_proba, [{"treatment": PT, "case_summary": summary}], top=10, criteria=[called_for]
    )[0]
    logit = logit_of(summary, PT, "physical_medicine")
    by_criterion = {(r["kind"], c): r for r in reasons for c in r["criteria"]}
    documented_cc = by_criterion[("documents", "conservative_care")]
    assert documented_cc["effect"] == pytest.approx(100 * (shown(logit) - shown(logit - 1.2)), abs=0.01)
    assert documented_cc["direction"] == "up" and documented_cc["quote"].startswith("Physical therapy and NSAIDs")
    # lacking one: the effect is minus what documenting it would add
    exam = by_criterion[("lacks", "physical_examination")]
    assert exam["effect"] == pytest.approx(100 * (shown(logit) - shown(logit - 0.8)), abs=0.01) and exam["effect"] > 0
    gains = by_criterion[("lacks", "functional_improvement")]
    assert gains["effect"] == pytest.approx(100 * (shown(logit) - shown(logit + 0.5)), abs=0.01)
    assert gains["direction"] == "down" and gains["quote"] is None
    assert all(abs(r["effect"]) >= 0.05 for r in reasons)  # criteria with a zero coefficient are no reason


def test_a_missing_criterion_added_moves_the_probability_as_its_coefficient_says(predictor):
    summary = "Low back pain for a year after lifting at work."
    row = predictor.predict([{"treatment": PT, "case_summary": summary}], explain=True)[0]
    what_if = WhatIf.model_validate(row["what_if"]).model_dump()
    assert what_if["note"] == NOTE and "not a promise" in NOTE
    changes = {w["criterion"]: w for w in what_if["criteria"]}
    logit = logit_of(summary, PT, "physical_medicine")
    assert row["p_overturned"] == pytest.approx(shown(logit))
    for criterion, coef in COEF.items():  # functional gains also document treatment_response, whose coef is 0
        entry = changes[criterion]
        assert documented(criterion, with_sentence(summary, entry["sentence"]), PT)
        assert entry["p_overturned_if_documented"] == pytest.approx(shown(logit + coef))
        assert entry["change"] == pytest.approx(shown(logit + coef) - shown(logit))
        assert (entry["change"] > 0) == (coef > 0)
    assert changes["functional_improvement"]["also_documents"] in ([], ["treatment_response"])
    # largest rise first
    rises = [w["change"] for w in what_if["criteria"] if w["change"] is not None]
    assert rises == sorted(rises, reverse=True)
    # every entry is a cited criterion the request lacks
    lacking = {c["criterion"] for c in row["criteria"] if c["in_request"] is False}
    assert set(changes) == lacking


def test_nothing_is_shown_for_a_criterion_the_request_documents(predictor):
    summary = "Physical therapy and NSAIDs failed to relieve the pain. She is working modified duty."
    row = predictor.predict([{"treatment": PT, "case_summary": summary}], explain=True)[0]
    criteria = {w["criterion"] for w in row["what_if"]["criteria"]}
    assert "conservative_care" not in criteria and "work_status" not in criteria
    assert {"physical_examination", "red_flags"} <= criteria


def test_a_sentence_that_does_not_document_the_criterion_for_this_request_gives_no_probability(predictor):
    """A repeat study needs a request for a study (features/criteria_request.py): none for physical therapy."""
    table_row = {"treatment": PT, "case_summary": "Low back pain."}
    assert documenting_sentence("repeat_study", table_row) is None
    assert documenting_sentence("repeat_study", {"treatment": MRI, "case_summary": "Low back pain."})


def test_a_malformed_criteria_model_is_refused(tmp_path):
    bad = {**spec(), "features": [*spec()["features"][:-1], "medical_rationale"]}  # not a summary fact
    for broken in (bad, {**spec(), "coef": spec()["coef"][:-1]}, {**spec(), "extra": 1}):
        path = tmp_path / "criteria_model.json"
        path.write_text(json.dumps(broken))
        with pytest.raises(ModelIntegrityError, match="not a criteria model"):
            read_spec(path)
    path.write_text(json.dumps(spec()).replace("-0.5", "NaN", 1))
    with pytest.raises(ModelIntegrityError, match="not a criteria model"):
        read_spec(path)


# --- any family: the session's shared baseline -------------------------------------------------


@pytest.fixture(scope="module")
def baseline(raw_baseline_store):
    from serving.predictor import load_predictor

    return raw_baseline_store, load_predictor(raw_baseline_store.result.model_uri)


def test_the_baseline_is_re_scored_with_the_sentence_added(baseline):
    _, predictor = baseline
    request = {"treatment": "Physical therapy 2x6 lumbar spine", "case_summary": "Low back pain for a year."}
    row = predictor.predict([request], explain=True)[0]
    entries = [w for w in row["what_if"]["criteria"] if w["sentence"] is not None]
    assert entries, "the small corpus's table cites criteria for physical therapy"
    for entry in entries:
        variant = dict(request, case_summary=with_sentence(request["case_summary"], entry["sentence"]))
        again = predictor.predict([variant])[0]["p_overturned"]
        assert entry["p_overturned_if_documented"] == pytest.approx(again)
        assert entry["change"] == pytest.approx(again - row["p_overturned"])
    assert "what_if" not in predictor.predict([request])[0]


def test_imr_predict_explain_and_http_carry_what_if_with_its_note(baseline, tmp_path, capsys):
    from serving.http import create_app
    from training.imr import main

    store, predictor = baseline
    request = {"treatment": "Physical therapy 2x6 lumbar spine", "case_summary": "Low back pain for a year."}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(request) + "\n")
    assert main(["predict", "--model", store.result.model_uri, "--input", str(path), "--explain"]) == 0
    printed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert WhatIf.model_validate(printed["what_if"]).note == NOTE
    with TestClient(create_app(None, predictor=predictor), base_url="http://localhost") as client:
        while client.get("/health").status_code != 200:
            pass
        plain = client.post("/v1/predict", json={"items": [request]}).json()["predictions"][0]
        explained = client.post("/v1/predict", json={"items": [request], "explain": True}).json()["predictions"][0]
    assert "what_if" not in plain
    assert explained["what_if"] == printed["what_if"] and explained["what_if"]["note"] == NOTE
