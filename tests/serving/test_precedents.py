"""Precedents (serving/precedents.py) and explanations of the baseline (serving/reasons.py): the
index packaged with hashes, search and its filters, one item per case, the similarity cut-off and
the "no close precedent" note, the self-precedent exclusion, the rationale kept out of every query,
`imr search`, `imr predict --explain`, `predict(explain=True)` and the HTTP routes. One small
baseline is trained once for the module, as in test_predict.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import RAW_BASELINE_NAME, downloaded_model_folder
from fastapi.testclient import TestClient

from serving import precedents
from serving.http import create_app
from serving.precedents import (
    FILES,
    MATRIX_FILE,
    MIN_SIMILARITY,
    Filters,
    PrecedentIndex,
    PrecedentQueryError,
    build_index,
)
from serving.reasons import phrase_reasons
from training.imr import main

MODEL_NAME = RAW_BASELINE_NAME
SHOWN = {
    "case_number",
    "decision_date",
    "treatment",
    "treatment_category",
    "decision",
    "claims_administrator_guideline",
    "maximus_guideline",
    "rationale_excerpt",
    "similarity",
}


@pytest.fixture(scope="module")
def env(raw_baseline_store):
    return raw_baseline_store.result, raw_baseline_store.root, raw_baseline_store.letters


@pytest.fixture(scope="module")
def predictor(env):
    from serving.predictor import load_predictor

    return load_predictor(env[0].model_uri)


@pytest.fixture(scope="module")
def model_folder(env) -> Path:
    result, root, _ = env
    return downloaded_model_folder(result.model_uri, root / "dl")


@pytest.fixture(scope="module")
def rows(env) -> list[dict]:
    """Every decided item of the training letters, as dataset rows (rationales included)."""
    from features.ingest import ingest

    dsd, _ = ingest([env[2]])
    return [row for split in dsd.values() for row in split]


@pytest.fixture(scope="module")
def pdf_row(rows) -> dict:
    """An item of a bundled PDF letter (it has a case number)."""
    return next(r for r in rows if r["case_number"])


def test_the_index_is_packaged_with_hashes_and_verified(model_folder, rows, tmp_path):
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    meta = json.loads((model_folder / "imr_model.json").read_text())
    assert set(FILES) <= set(meta["files"])
    assert len(PrecedentIndex(model_folder)) == len(rows)  # every decided item of the training letters
    np.load(model_folder / MATRIX_FILE, allow_pickle=False)  # no pickle inside
    copy = tmp_path / "model"
    shutil.copytree(model_folder, copy)
    with (copy / MATRIX_FILE).open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="precedents/matrix.npz: sha256"):
        load_predictor(str(copy))


def test_search_returns_the_precedent_fields_best_first(predictor):
    found = predictor.search({"treatment": "MRI of the lumbar spine"}, k=4)
    assert len(found) == 4
    assert all(set(p) == SHOWN for p in found)
    similarities = [p["similarity"] for p in found]
    assert similarities == sorted(similarities, reverse=True) and similarities[-1] >= MIN_SIMILARITY
    assert all(0 < len(p["rationale_excerpt"]) <= 600 for p in found)
    assert "mri" in found[0]["treatment"].lower()
    assert len({p["case_number"] for p in found}) == 4  # one item per case


def test_filters(predictor):
    overturned = predictor.search({"treatment": "physical therapy"}, 50, Filters(decision="Overturned"))
    assert overturned and {p["decision"] for p in overturned} == {"Overturned"}
    opioids = predictor.search({"treatment": "Norco"}, 50, Filters(category="opioids"))
    assert opioids and {p["treatment_category"] for p in opioids} == {"opioids"}
    dated = predictor.search({"treatment": "MRI"}, 50, Filters(since="2017-01-01", until="2017-01-31"))
    assert dated and all("2017-01-01" <= p["decision_date"] <= "2017-01-31" for p in dated)
    everything = predictor.precedents.search({"treatment": "MRI"}, 500, min_similarity=0.15)
    assert any(p["decision_date"] is None for p in everything)  # the header-less letters have no dates
    assert len(dated) < len(everything)
    for bad in (Filters(decision="Maybe"), Filters(category="nope"), Filters(since="01/02/2017")):
        with pytest.raises(PrecedentQueryError):
            predictor.search({"treatment": "MRI"}, 5, bad)


def test_a_letter_in_the_index_is_never_its_own_precedent(predictor, rows):
    def key(item):
        return (
            item["case_number"],
            item["treatment"],
            item["rationale_excerpt"]
            if "rationale_excerpt" in item
            else precedents.rationale_excerpt(item["rationale"]),
        )

    letters = {}
    for row in rows:
        letters.setdefault(row["letter_id"], set()).add(key(row))
    assert any(r["case_number"] is None for r in rows)  # header-less letters: only their case summary identifies them
    shown = 0
    for row in rows:
        own = letters[row["letter_id"]]
        explained = predictor.predict([row], explain=True)[0]
        assert not own & {key(p) for p in explained["precedents"]}
        shown += len(explained["precedents"])
        # without the case number (a request typed in), the same case summary still identifies the letter
        request = {k: row[k] for k in ("treatment", "case_summary", "claims_administrator_guideline")}
        assert not own & {key(p) for p in predictor.search(request, 20)}
    assert shown > len(rows)  # precedents were found, so the check could fail
    # the exclusion is what keeps them out: without a summary or case number the letter's own items come first
    row = rows[0]
    assert key(row) in {key(p) for p in predictor.search({"treatment": row["treatment"]}, 20)}


def test_the_rationale_never_feeds_the_query(predictor, rows):
    index = predictor.precedents
    row = next(r for r in rows if r["rationale"])
    changed = dict(row, rationale="zebra quasar " * 50, maximus_guideline="zebra", decision="Overturned")
    assert (index.vector(row) != index.vector(changed)).nnz == 0
    assert predictor.search(row, 10) == predictor.search(changed, 10)


def test_rationales_are_not_indexed(rows, tmp_path):
    marked = [
        dict(r, rationale=f"Zebraquasar {i} is not recommended. Therefore not necessary.") for i, r in enumerate(rows)
    ]
    build_index(marked, tmp_path)
    index = PrecedentIndex(tmp_path)
    assert not any("zebraquasar" in term for v in index.vectorizers for term in v.vocabulary_)
    assert all(r["rationale_excerpt"].startswith("Zebraquasar") for r in index.rows)  # displayed only


def test_plain_predictions_carry_no_evidence_and_explained_ones_do(predictor, rows):
    plain = predictor.predict(rows[:3])
    assert not any({"reasons", "precedents"} & set(p) for p in plain)
    explained = predictor.predict(rows[:3], explain=True)
    for p, e in zip(plain, explained, strict=True):
        assert {k: e[k] for k in p} == p  # explaining never changes the score
        assert e["reasons"] and 1 <= len(e["precedents"]) <= 5
        assert (e["precedents_note"] is None) == (len(e["precedents"]) == 5)
        assert len({q["case_number"] for q in e["precedents"]}) == len(e["precedents"])


def test_baseline_reasons_are_points_of_probability_from_leaving_phrases_out(predictor, rows):
    """Each reason's effect is the probability with the request as it is minus without the phrase (or,
    for a criterion it lacks, with it documented), in percentage points."""
    from serving.reason_phrases import request_phrases

    scorer = predictor.scorer
    row = next(r for r in rows if len(r["case_summary"]) > 300)
    cited = predictor.criteria.for_records([row])[0]
    criteria = {c["criterion"]: c["in_request"] for c in cited}
    reasons = phrase_reasons(scorer.predict_proba, [row], top=100, criteria=[criteria])[0]
    assert len(reasons) > 3 and {r["kind"] for r in reasons} >= {"treatment", "finding"}
    assert all((r["effect"] > 0) == (r["direction"] == "up") for r in reasons)
    sizes = [abs(r["effect"]) for r in reasons]
    assert sizes == sorted(sizes, reverse=True)
    found = request_phrases(row, criteria)
    variants = {c.text: found.variant(c) for c in found.candidates}
    p = scorer.predict_proba([found.full(), *(variants[r["text"]] for r in reasons)])
    assert [r["effect"] for r in reasons] == pytest.approx(list(100 * (p[0] - p[1:])), abs=0.006)
    assert len(phrase_reasons(scorer.predict_proba, [row])[0]) <= 6


def run_cli(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines() if line.strip()], out.err


def test_imr_search(env, capsys):
    uri = env[0].model_uri
    code, found, _ = run_cli(["search", "MRI of the lumbar spine", "--model", uri, "--k", "3"], capsys)
    assert code == 0 and len(found) == 3 and all(set(p) == SHOWN for p in found)
    code, found, _ = run_cli(
        [
            "search",
            "MRI",
            "--model",
            uri,
            "--k",
            "50",
            "--decision",
            "Upheld",
            "--since",
            "2016-12-01",
            "--until",
            "2017-01-15",
        ],
        capsys,
    )
    assert code == 0 and found
    assert all(p["decision"] == "Upheld" and "2016-12-01" <= p["decision_date"] <= "2017-01-15" for p in found)
    code, found, err = run_cli(["search", "MRI", "--model", uri, "--category", "nope"], capsys)
    assert code == 2 and not found and "unknown treatment category" in err
    code, found, err = run_cli(["search", "asdf qwerty", "--model", uri], capsys)
    assert code == 0 and not found and err.startswith("imr search: no close precedent in the ")
    code, found, err = run_cli(["search", "MRI", "--model", uri, "--min-similarity", "0.1"], capsys)
    assert code == 2 and not found and "min_similarity must be between 0.15 and 1" in err


def test_imr_predict_explain(env, pdf_row, tmp_path, capsys):
    requests = tmp_path / "in.jsonl"
    requests.write_text(
        json.dumps({"id": "a", "treatment": pdf_row["treatment"], "case_summary": pdf_row["case_summary"]}) + "\n"
    )
    code, out, _ = run_cli(["predict", "--model", env[0].model_uri, "--input", str(requests), "--explain"], capsys)
    assert code == 0 and out[0]["id"] == "a" and out[0]["reasons"] and out[0]["precedents"]
    assert pdf_row["case_number"] not in {p["case_number"] for p in out[0]["precedents"]}
    code, out, _ = run_cli(["predict", "--model", env[0].model_uri, "--input", str(requests)], capsys)
    assert code == 0 and "reasons" not in out[0] and "precedents" not in out[0]


def test_imr_predict_letters_explain_excludes_the_letter(env, capsys):
    letter = sorted(env[2].glob("*.pdf"))[0]
    code, out, _ = run_cli(["predict", "--model", env[0].model_uri, "--letters", str(letter), "--explain"], capsys)
    assert code == 0 and out
    for row in out:
        assert row["precedents"] and row["case_number"] not in {p["case_number"] for p in row["precedents"]}


@pytest.fixture(scope="module")
def client(predictor):
    with TestClient(create_app(None, predictor=predictor), base_url="http://localhost") as c:
        while c.get("/health").status_code != 200:
            pass
        yield c


def test_the_evaluation_ships_with_the_model_and_is_served(model_folder, predictor, env, client):
    meta = json.loads((model_folder / "imr_model.json").read_text())
    assert "evaluation.json" in meta["files"]
    evaluation = predictor.evaluation
    metrics = env[0].metrics
    assert evaluation["protocol"] == "cv"
    assert evaluation["roc_auc"] == pytest.approx(metrics["cv_roc_auc"], abs=1e-4)
    assert evaluation["roc_auc_ci_low"] <= evaluation["roc_auc"] <= evaluation["roc_auc_ci_high"]
    from serving.answer import trust_sentence

    assert client.get("/v1/evaluation").json() == evaluation | {"trust": trust_sentence(evaluation)}


def test_http_search(client):
    response = client.get("/v1/search", params={"q": "MRI of the lumbar spine", "k": 3, "decision": "Upheld"})
    assert response.status_code == 200
    found = response.json()["precedents"]
    assert len(found) == 3 and all(set(p) == SHOWN and p["decision"] == "Upheld" for p in found)
    bad = client.get("/v1/search", params={"q": "MRI", "since": "yesterday"})
    assert bad.status_code == 422 and "ISO date" in bad.json()["detail"][0]["msg"]
    assert client.get("/v1/search", params={"q": "MRI", "k": 0}).status_code == 422
    assert client.get("/v1/search").status_code == 422
    assert client.get("/v1/search", params={"q": "MRI", "min_similarity": 0.1}).status_code == 422
    nothing = client.get("/v1/search", params={"q": "asdf qwerty"}).json()
    assert nothing["precedents"] == [] and nothing["note"].startswith("no close precedent in the ")


def test_http_predict_explain(client, pdf_row):
    item = {"id": 1, "treatment": pdf_row["treatment"], "case_summary": pdf_row["case_summary"]}
    plain = client.post("/v1/predict", json={"items": [item]}).json()["predictions"][0]
    assert "reasons" not in plain and "precedents" not in plain
    explained = client.post("/v1/predict", json={"items": [item], "explain": True}).json()["predictions"][0]
    assert explained["p_overturned"] == plain["p_overturned"] and explained["id"] == 1
    reason_fields = {"kind", "text", "quote", "criteria", "effect", "direction"}
    assert explained["reasons"] and reason_fields == set(explained["reasons"][0])
    assert explained["precedents"] and set(explained["precedents"][0]) == SHOWN and "precedents_note" in explained
    assert pdf_row["case_number"] not in {p["case_number"] for p in explained["precedents"]}


def test_http_predict_letter_explain(client, env):
    data = sorted(env[2].glob("*.pdf"))[0].read_bytes()
    pdf = {"content-type": "application/pdf"}
    plain = client.post("/v1/predict-letter", content=data, headers=pdf).json()
    assert "reasons" not in plain["predictions"][0]
    response = client.post("/v1/predict-letter?explain=true", content=data, headers=pdf)
    assert response.status_code == 200
    for p in response.json()["predictions"]:
        assert p["reasons"] and p["precedents"]
        assert p["case_number"] not in {q["case_number"] for q in p["precedents"]}
        assert p["letter_decision"] in ("Upheld", "Overturned")
