"""Reviewer criteria served with explain (serving/criteria.py): the table's counts, the fallback to
every category, a scored letter's own items never counted, the files hashed in the package (a
tampered one refused), a model packaged without them still loading, and `criteria` in
`predict(explain=True)`, `imr predict --explain`, /v1/predict and /v1/predict-letter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import downloaded_model_folder
from fastapi.testclient import TestClient

from features.criteria import BY_ID
from serving.criteria import ALL, FILES, MIN_CATEGORY_ITEMS, TABLE_FILE, CriteriaTable, build_table, count
from serving.http import create_app
from serving.model_dir import META_FILE, ModelIntegrityError
from serving.prediction import CitedCriterion
from training.imr import main

FIELDS = set(CitedCriterion.model_fields)
PT = "Physical therapy 2 times a week for 6 weeks"  # physical_medicine
LIMIT = "The guidelines recommend up to 10 visits over 8 weeks."
NO_GAIN = "There is no documentation of functional improvement with the prior sessions."


def row(case: str, treatment: str, decision: str, rationale: str, summary: str = "") -> dict:
    return {
        "case_number": case,
        "treatment": treatment,
        "decision": decision,
        "rationale": rationale,
        "case_summary": summary or f"The summary of {case}.",
    }


@pytest.fixture
def rows() -> list[dict]:
    """12 physical therapy items of 12 letters (enough for its own counts) and one MRI item."""
    upheld = [row(f"CM-{i}", PT, "Upheld", f"{LIMIT} {NO_GAIN}") for i in range(8)]
    overturned = [row(f"CM-{i}", PT, "Overturned", LIMIT) for i in range(8, 12)]
    return [*upheld, *overturned, row("CM-99", "MRI of the lumbar spine", "Upheld", "There are no red flags.")]


@pytest.fixture
def table(rows, tmp_path) -> CriteriaTable:
    assert build_table(rows, tmp_path) == list(FILES)
    return CriteriaTable(tmp_path)


def by_id(criteria: list[dict]) -> dict[str, dict]:
    return {c["criterion"]: c for c in criteria}


def test_counts_per_category_and_decision(rows):
    counts = count(rows)
    assert counts["physical_medicine"]["items"] == [8, 4]
    assert counts["physical_medicine"]["cited"]["visit_limit"] == [8, 4]
    assert counts["physical_medicine"]["cited"]["functional_improvement"] == [8, 0]
    assert counts["imaging_diagnostics"] == {"items": [1, 0], "cited": {"red_flags": [1, 0]}}


def test_a_request_gets_its_categorys_criteria_most_cited_first(table):
    summary = "He completed 8 sessions of physical therapy with functional improvement in range of motion."
    criteria = table.for_records([{"treatment": PT, "case_summary": summary}])[0]
    assert [c["criterion"] for c in criteria][:2] == ["visit_limit", "functional_improvement"]
    assert all(set(c) == FIELDS for c in criteria)
    limit = by_id(criteria)["visit_limit"]
    assert (limit["upheld_count"], limit["overturned_count"]) == (8, 4)
    assert (limit["upheld_items"], limit["overturned_items"], limit["counted_in"]) == (8, 4, "physical_medicine")
    assert limit["kind"] == BY_ID["visit_limit"].kind and limit["label"] == BY_ID["visit_limit"].label
    assert limit["category"] == "physical_medicine"
    assert limit["in_request"] is True and by_id(criteria)["functional_improvement"]["in_request"] is True
    bare = table.for_records([{"treatment": PT}])[0]
    assert by_id(bare)["visit_limit"]["in_request"] is False


def test_a_category_with_too_few_items_shows_every_categorys_counts(table):
    criteria = table.for_records([{"treatment": "MRI of the knee"}])[0]
    assert 1 < MIN_CATEGORY_ITEMS and {c["counted_in"] for c in criteria} == {ALL}
    assert by_id(criteria)["visit_limit"]["upheld_count"] == 8 and by_id(criteria)["red_flags"]["upheld_count"] == 1
    assert criteria[0]["upheld_items"] + criteria[0]["overturned_items"] == 13


def test_a_scored_training_letter_is_not_counted(table, rows):
    own = rows[0]  # CM-0, Upheld, cites the visit limit and functional improvement
    scored = table.for_records([own])[0]
    assert (by_id(scored)["visit_limit"]["upheld_count"], scored[0]["upheld_items"]) == (7, 7)
    assert by_id(scored)["functional_improvement"]["upheld_count"] == 7
    # the same case summary identifies it without a case number
    assert by_id(table.for_records([{**own, "case_number": None}])[0])["visit_limit"]["upheld_count"] == 7
    # a request carries no decision: nothing is taken out; nor for a letter never trained on
    assert (
        by_id(table.for_records([{"treatment": PT, "case_summary": own["case_summary"]}])[0])["visit_limit"][
            "upheld_count"
        ]
        == 8
    )
    stranger = row("CM-new", PT, "Upheld", LIMIT, "Another letter altogether.")
    assert by_id(table.for_records([stranger])[0])["visit_limit"]["upheld_count"] == 8


# --- the packaged model (the session's shared baseline) ---------------------------------------


@pytest.fixture(scope="module")
def env(baseline_store):
    return baseline_store.result, baseline_store.root, baseline_store.letters


@pytest.fixture(scope="module")
def model_folder(env) -> Path:
    result, root, _ = env
    return downloaded_model_folder(result.model_uri, root / "dl-crit")


@pytest.fixture(scope="module")
def predictor(env):
    from serving.predictor import load_predictor

    return load_predictor(env[0].model_uri)


@pytest.fixture(scope="module")
def letter_rows(env) -> list[dict]:
    from features.ingest import ingest

    dsd, _ = ingest([env[2]])
    return [r for split in dsd.values() for r in split]


def check_fields(criteria: list[dict]) -> None:
    assert criteria and all(set(c) == FIELDS for c in criteria)
    for c in criteria:
        CitedCriterion.model_validate(c)
        assert c["upheld_count"] <= c["upheld_items"] and c["overturned_count"] <= c["overturned_items"]


def test_the_table_is_packaged_with_hashes_and_a_tampered_one_is_refused(model_folder, tmp_path):
    from serving.predictor import load_predictor

    meta = json.loads((model_folder / META_FILE).read_text())
    assert set(FILES) <= set(meta["files"])
    tampered = tmp_path / "tampered"
    shutil.copytree(model_folder, tampered)
    spec = json.loads((tampered / TABLE_FILE).read_text())
    next(iter(spec["categories"].values()))["items"][0] += 1
    (tampered / TABLE_FILE).write_text(json.dumps(spec))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_predictor(str(tampered))


def test_a_model_packaged_without_the_table_loads_with_no_criteria(model_folder, letter_rows, tmp_path):
    from serving.predictor import load_predictor

    older = tmp_path / "older"
    shutil.copytree(model_folder, older)
    meta = json.loads((older / META_FILE).read_text())
    for name in FILES:
        del meta["files"][name]
        (older / name).unlink()
    (older / META_FILE).write_text(json.dumps(meta))
    predictor = load_predictor(str(older))
    assert predictor.criteria is None
    assert predictor.predict([letter_rows[0]], explain=True)[0]["criteria"] == []


def test_explained_predictions_carry_criteria(predictor, letter_rows):
    request = {k: letter_rows[0][k] for k in ("treatment", "case_summary")}
    assert "criteria" not in predictor.predict([request])[0]
    check_fields(predictor.predict([request], explain=True)[0]["criteria"])


def test_imr_predict_explain_prints_criteria(env, letter_rows, tmp_path, capsys):
    requests = tmp_path / "in.jsonl"
    requests.write_text(json.dumps({"treatment": letter_rows[0]["treatment"]}) + "\n")
    assert main(["predict", "--model", env[0].model_uri, "--input", str(requests), "--explain"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    check_fields(out[0]["criteria"])


@pytest.fixture(scope="module")
def client(predictor):
    with TestClient(create_app(None, predictor=predictor), base_url="http://localhost") as c:
        while c.get("/health").status_code != 200:
            pass
        yield c


def test_http_predict_explain_has_criteria(client, letter_rows):
    item = {"treatment": letter_rows[0]["treatment"], "case_summary": letter_rows[0]["case_summary"]}
    plain = client.post("/v1/predict", json={"items": [item]}).json()["predictions"][0]
    assert "criteria" not in plain
    explained = client.post("/v1/predict", json={"items": [item], "explain": True}).json()["predictions"][0]
    check_fields(explained["criteria"])


def test_http_predict_letter_never_counts_the_scored_letter(client, predictor, env, letter_rows):
    letter = sorted(env[2].glob("*.pdf"))[0]
    own = [r for r in letter_rows if r["source"].endswith(letter.name)]
    assert own and all(r["case_number"] for r in own)
    response = client.post(
        "/v1/predict-letter?explain=true", content=letter.read_bytes(), headers={"content-type": "application/pdf"}
    )
    assert response.status_code == 200
    table, mine = predictor.criteria, count(own)
    assert table.trained_on(own[0])
    taken_out = 0
    for p in response.json()["predictions"]:
        check_fields(p["criteria"])
        for c in p["criteria"]:
            names = list(table.categories) if c["counted_in"] == ALL else [c["counted_in"]]

            def total(counts: dict, criterion: str = c["criterion"], names: list = names) -> list[int]:
                cited = [counts.get(n, {}).get("cited", {}).get(criterion, [0, 0]) for n in names]
                return [sum(n[0] for n in cited), sum(n[1] for n in cited)]

            full, less = total(table.categories), total(mine)
            assert [c["upheld_count"], c["overturned_count"]] == [full[0] - less[0], full[1] - less[1]]
            taken_out += sum(less)
    assert taken_out > 0  # the letter's own items cited criteria, and they were taken out of the counts
