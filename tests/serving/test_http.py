"""`imr serve` (serving/http.py): every status code of the HTTP API, the request limits, what is
(not) logged, the adaptive batching, and one real `imr serve` process scored over a socket.

It serves the session's shared baseline (conftest.shared_baseline, trained on the small synthetic
corpus)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from browser import free_port
from conftest import BASELINE_NAME, wait_ready
from fastapi.testclient import TestClient
from live_server import serve_in_thread

from serving.http import create_app
from serving.http_batching import BatchingScorer, ScoringError
from serving.serve_settings import ServeSettings

MODEL_NAME = BASELINE_NAME
ALIAS = "testing"
# Stands in for clinical text: it must reach the model but never a log line.
SECRET = "Zqxj-sentinel-clinical-text"
ITEMS = [
    {"id": "a", "treatment": "MRI of the lumbar spine without contrast"},
    {
        "treatment": "Norco 10/325mg #60",
        "case_summary": f"Chronic low back pain on opioids. {SECRET}",
        "claims_administrator_guideline": "Decision based on MTUS Chronic Pain Medical Treatment Guidelines.",
        "patient_age": 52,
        "patient_sex": "male",
        "days_since_injury": 800,
    },
    {
        "id": 7,
        "treatment": "Physical therapy 2x6 for the right knee",
        "case_summary": "Right knee pain after a fall.",
        "patient_age": 38,
        "patient_sex": "female",
        "days_since_injury": 90,
        "partial_approval": True,
        "original_request": "Physical therapy 3x6",
        "authorized_portion": "Physical therapy 2x3",
    },
]
IMR = Path(sys.executable).parent / "imr"
JSON = {"content-type": "application/json"}
LOCAL = "http://localhost"  # the service answers loopback Host names only (serving.http_middleware.TrustedHosts)
TEXT = {"content-type": "text/plain"}


@pytest.fixture(scope="module")
def env(baseline_store):
    """(TrainResult, store folder, letters folder) of the session's baseline; MLFLOW_TRACKING_URI
    points at its store for the whole module."""
    return baseline_store.result, baseline_store.root, baseline_store.letters


@pytest.fixture(scope="module")
def predictor(env):
    from serving.predictor import load_predictor

    return load_predictor(env[0].model_uri)


@pytest.fixture(scope="module")
def client(env):
    """The app serving models:/NAME@ALIAS, loaded by its own lifespan, ready."""
    app = create_app(f"models:/{MODEL_NAME}@{ALIAS}")
    with TestClient(app, base_url=LOCAL) as c:
        wait_ready(c)
        yield c


def small_client(predictor, **limits) -> TestClient:
    return TestClient(create_app(None, settings=ServeSettings(**limits), predictor=predictor), base_url=LOCAL)


def fields(response) -> list[str]:
    return [d["field"] for d in response.json()["detail"]]


# --- 200 -----------------------------------------------------------------------------------


def test_health_version_and_docs(client, env, predictor):
    result = env[0]
    assert client.get("/health").json() == {"status": "ready"}
    version = client.get("/version")
    assert version.status_code == 200
    base_rate = version.json()["base_rate"]
    assert isinstance(base_rate, float) and 0 < base_rate < 1
    assert version.json() == {
        "name": MODEL_NAME,
        "version": result.model_version,
        "run_id": result.run_id,
        "family": "baseline",
        "feature_view": "pre_decision",
        "base_rate": base_rate,
        "trust": predictor.info()["trust"],
    }
    assert version.json()["trust"].startswith("Tested on ")
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    assert {"/v1/predict", "/v1/predict-letter", "/health", "/version"} <= set(schema.json()["paths"])
    letter_body = schema.json()["paths"]["/v1/predict-letter"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/pdf", "text/plain"} <= set(letter_body)
    assert client.get("/docs").status_code == 200


def test_predict_in_request_order_with_ids(client, predictor, env):
    r = client.post("/v1/predict", json={"items": ITEMS})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == client.get("/version").json()
    expected = predictor.predict([{k: v for k, v in item.items() if k != "id"} for item in ITEMS])
    assert len(body["predictions"]) == len(ITEMS)
    for item, got, want in zip(ITEMS, body["predictions"], expected, strict=True):
        assert got["p_overturned"] == pytest.approx(want["p_overturned"], abs=1e-12)
        assert "predicted_decision" not in got and "decision" not in got  # no threshold given: no decision
        for field in ("in_distribution", "ood_reason", "base_rate", "band", "observed_rate_scored_alike", "answer"):
            assert got[field] == want[field], field
        assert got["base_rate"] == body["model"]["base_rate"]
        assert (got["model_name"], got["model_version"]) == (MODEL_NAME, env[0].model_version)
        if "id" in item:
            assert got["id"] == item["id"]
        else:
            assert "id" not in got
    assert body["predictions"][2]["id"] == 7  # an integer id stays an integer


def test_a_decision_only_with_a_threshold_in_the_request(client, predictor):
    body = {"items": [{k: v for k, v in item.items() if k != "id"} for item in ITEMS]}
    plain = client.post("/v1/predict", json=body).json()["predictions"]
    assert all("predicted_decision" not in p for p in plain)
    for threshold in (0.0, 1.0, sorted(p["p_overturned"] for p in plain)[1]):
        r = client.post("/v1/predict", json=body | {"threshold": threshold})
        assert r.status_code == 200
        got = r.json()["predictions"]
        assert [p["p_overturned"] for p in got] == [p["p_overturned"] for p in plain]
        assert [p["predicted_decision"] for p in got] == [
            "Overturned" if p["p_overturned"] >= threshold else "Upheld" for p in plain
        ]
    for bad in (-0.1, 1.5, "high"):
        r = client.post("/v1/predict", json=body | {"threshold": bad})
        assert r.status_code == 422 and fields(r) == ["threshold"]


def test_evaluation_is_the_packaged_one_with_its_trust_sentence(client, predictor, env):
    """GET /v1/evaluation: the package's figures (the run's own metrics, rounded) and the sentence built from them."""
    from serving.answer import trust_sentence

    r = client.get("/v1/evaluation")
    assert r.status_code == 200
    body = r.json()
    m = env[0].metrics
    assert body["protocol"] == "cv" and body["base_rate"] == pytest.approx(m["base_rate"])
    for name in ("within_fold_roc_auc", "within_fold_roc_auc_ci_low", "roc_auc", "brier_skill_ci_high"):
        assert body[name] == pytest.approx(m[f"cv_{name}"], abs=5e-5), name
    assert body["writer_within_fold_roc_auc"] == pytest.approx(m["cv_writer_within_fold_roc_auc"], abs=5e-5)
    assert body["trust"] == trust_sentence(predictor.evaluation) == client.get("/version").json()["trust"]
    assert f"higher {round(100 * body['within_fold_roc_auc'])} times in 100" in body["trust"]
    assert [row["band"] for row in body["bands"]["rows"]] == ["lower than usual", "about usual", "higher than usual"]


def test_predict_letter_multipart_and_raw(client, predictor, env):
    from features.dataset import item_rows
    from features.extract import read_letter_text
    from features.parser import parse_letter

    letters = env[2]
    pdf, text = min(letters.glob("*.pdf")), min(letters.glob("0*.txt"))  # a PDF; a text letter with no header
    with_header = min(letters.glob("CM*.txt"))
    cases = [
        (text, {"files": {"file": (text.name, text.read_bytes(), "text/plain")}}),
        (pdf, {"files": {"file": ("letter.pdf", pdf.read_bytes(), "application/pdf")}}),
        (pdf, {"content": pdf.read_bytes(), "headers": {"content-type": "application/pdf"}}),
        (
            with_header,
            {"content": with_header.read_bytes(), "headers": {"content-type": "text/plain; charset=utf-8"}},
        ),
    ]
    for path, kwargs in cases:
        r = client.post("/v1/predict-letter", **kwargs)
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        letter = parse_letter(read_letter_text(path))
        expected = predictor.predict(item_rows(letter, "x", "x"))
        assert body["case_number"] == letter.case_number
        assert [p["treatment"] for p in body["predictions"]] == [i.treatment for i in letter.items]
        assert [p["item_index"] for p in body["predictions"]] == list(range(len(letter.items)))
        assert [p["p_overturned"] for p in body["predictions"]] == pytest.approx(
            [e["p_overturned"] for e in expected], abs=1e-12
        )
        assert all(p["case_number"] == letter.case_number for p in body["predictions"])
        assert [p["answer"] for p in body["predictions"]] == [e["answer"] for e in expected]
        assert all("predicted_decision" not in p for p in body["predictions"])
        assert [p["letter_decision"] for p in body["predictions"]] == [i.decision for i in letter.items]
        assert all(p["base_rate"] == body["model"]["base_rate"] is not None for p in body["predictions"])
        assert all("decision" not in p and isinstance(p["in_distribution"], bool) for p in body["predictions"])
    assert cases[1][0].stem == client.post("/v1/predict-letter", **cases[1][1]).json()["case_number"]
    decided = client.post("/v1/predict-letter?threshold=0", **cases[1][1]).json()["predictions"]
    assert {p["predicted_decision"] for p in decided} == {"Overturned"}
    assert client.post("/v1/predict-letter?threshold=2", **cases[1][1]).status_code == 422


def test_out_of_distribution_items_are_flagged_capped_and_not_echoed(client, env):
    letters = env[2]
    summary = max(letters.glob("0*.txt")).read_text()  # a whole letter's text stands in for a long summary
    items = [
        {"id": "nonsense", "treatment": f"asdf qwerty {SECRET}", "case_summary": summary},
        {"id": "short", "treatment": "MRI of the lumbar spine", "case_summary": f"{SECRET} back pain."},
        {"id": "real", "treatment": "MRI of the lumbar spine", "case_summary": summary},
    ]
    r = client.post("/v1/predict", json={"items": items})
    assert r.status_code == 200
    nonsense, short, real = r.json()["predictions"]
    base_rate = r.json()["model"]["base_rate"]
    assert nonsense["in_distribution"] is False and nonsense["ood_reason"].startswith("treatment:")
    assert short["in_distribution"] is False and short["ood_reason"].startswith("case_summary:")
    assert nonsense["p_overturned"] <= base_rate and short["p_overturned"] <= base_rate
    assert (real["in_distribution"], real["ood_reason"]) == (True, None)
    assert SECRET not in r.text and "asdf" not in r.text and "qwerty" not in r.text


# --- 422: bad input, the field named, nothing echoed ----------------------------------------

BAD_JSON = [
    ('{"items": [', "body", "json_invalid"),
    ("{'items': []}", "body", "json_invalid"),
    ("[]", "body", "model_attributes_type"),
    ("null", "body", "model_attributes_type"),
    ("{}", "items", "missing"),
    ('{"items": null}', "items", "list_type"),
    ('{"items": []}', "items", "too_short"),
    ('{"items": [null]}', "items.0", "model_attributes_type"),
    ('{"items": [{}]}', "items.0.treatment", "missing"),
    ('{"items": [{"case_summary": "x"}]}', "items.0.treatment", "missing"),
    ('{"items": [{"treatment": ""}]}', "items.0.treatment", "string_too_short"),
    ('{"items": [{"treatment": "   "}]}', "items.0.treatment", "value_error"),
    ('{"items": [{"treatment": 5}]}', "items.0.treatment", "string_type"),
    ('{"items": [{"treatment": ["MRI"]}]}', "items.0.treatment", "string_type"),
    ('{"items": [{"treatment": "MRI", "patient_age": "old"}]}', "items.0.patient_age", "int_parsing"),
    ('{"items": [{"treatment": "MRI", "patient_age": 130}]}', "items.0.patient_age", "less_than_equal"),
    ('{"items": [{"treatment": "MRI", "patient_age": true}]}', "items.0.patient_age", "value_error"),
    ('{"items": [{"treatment": "MRI", "days_since_injury": false}]}', "items.0.days_since_injury", "value_error"),
    ('{"items": [{"treatment": "MRI", "patient_age": NaN}]}', "items.0.patient_age", "finite_number"),
    ('{"items": [{"treatment": "MRI", "patient_sex": "x"}]}', "items.0.patient_sex", "literal_error"),
    ('{"items": [{"treatment": "MRI", "days_since_injury": -1}]}', "items.0.days_since_injury", "greater_than_equal"),
    ('{"items": [{"treatment": "MRI", "partial_approval": [1]}]}', "items.0.partial_approval", "bool_type"),
    ('{"items": [{"treatment": "MRI", "id": 1.5}]}', "items.0.id", None),
    ('{"items": [{"treatment": "MRI", "id": {"a": 1}}]}', "items.0.id", None),
    # an unknown field's name is client text: a placeholder stands for it
    ('{"items": [{"treatment": "MRI", "treatmnet": "typo"}]}', "items.0.<unknown field>", "extra_forbidden"),
    (f'{{"items": [{{"treatment": "MRI", "{SECRET}": "typo"}}]}}', "items.0.<unknown field>", "extra_forbidden"),
    (f'{{"items": [{{"treatment": "MRI"}}], "{SECRET}": 1}}', "<unknown field>", "extra_forbidden"),
    # json.loads refuses these other than by a syntax error; still a 422 in the same shape
    ('{"items": [{"treatment": "MRI", "patient_age": ' + "7" * 5000 + "}]}", "body", "json_invalid"),
    ("[" * 100_000 + "]" * 100_000, "body", "json_invalid"),
]


@pytest.mark.parametrize("body,field,type_", BAD_JSON, ids=[b[0][:40].replace(SECRET, "SECRET") for b in BAD_JSON])
def test_bad_predict_requests_are_422_naming_the_field(client, body, field, type_):
    r = client.post(
        "/v1/predict", content=body.replace("MRI", f"MRI {SECRET}"), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert field in [d["field"] for d in detail]
    if type_:
        assert type_ in [d["type"] for d in detail if d["field"] == field]
    assert all(set(d) == {"loc", "field", "msg", "type"} for d in detail)
    assert SECRET not in r.text  # the submitted text is never echoed back


def test_too_many_items_is_422(predictor):
    with small_client(predictor, max_items=3) as c:
        wait_ready(c)
        assert c.post("/v1/predict", json={"items": ITEMS}).status_code == 200
        r = c.post("/v1/predict", json={"items": ITEMS + ITEMS[:1]})
        assert r.status_code == 422
        assert fields(r) == ["items"] and "at most 3" in r.json()["detail"][0]["msg"]


def test_explained_requests_have_their_own_item_limit(predictor, seed_paths):
    """An explained item costs far more than a plain one (a transformer re-scores it once per
    summary sentence), so explain has a lower item cap; the same items without explain pass."""
    from features.extract import read_letter_text
    from features.parser import parse_letter

    with small_client(predictor, max_explain_items=2) as c:
        wait_ready(c)
        assert c.post("/v1/predict", json={"items": ITEMS[:2], "explain": True}).status_code == 200
        r = c.post("/v1/predict", json={"items": ITEMS, "explain": True})
        assert r.status_code == 422 and fields(r) == ["items"]
        assert "at most 2 with explain" in r.json()["detail"][0]["msg"]
        assert c.post("/v1/predict", json={"items": ITEMS}).status_code == 200
        letter = next(p for p in seed_paths if len(parse_letter(read_letter_text(p)).items) > 2)
        upload = {"content": letter.read_bytes(), "headers": TEXT}
        r = c.post("/v1/predict-letter?explain=true", **upload)
        assert r.status_code == 422 and fields(r) == ["query.explain"]
        assert c.post("/v1/predict-letter", **upload).status_code == 200


def test_limits_from_environment(monkeypatch):
    monkeypatch.setenv("IMR_SERVE_MAX_ITEMS", "7")
    monkeypatch.setenv("IMR_SERVE_MAX_BODY_BYTES", "1000")
    settings = ServeSettings()
    assert (settings.max_items, settings.max_body_bytes, settings.max_batch_items) == (7, 1000, 64)
    assert ServeSettings(max_items=9).max_items == 9  # a CLI flag beats the environment
    assert ServeSettings.model_fields["max_body_bytes"].default == 5 * 1024 * 1024
    assert ServeSettings.model_fields["max_items"].default == 256


def test_wrong_content_types_are_415_and_other_junk_4xx(client):
    r = client.post("/v1/predict", content=json.dumps({"items": ITEMS}), headers={"content-type": "text/plain"})
    assert r.status_code == 415 and fields(r) == ["header.content-type"]
    r = client.post("/v1/predict", content=json.dumps({"items": ITEMS}))  # no content type at all
    assert r.status_code == 415
    r = client.post("/v1/predict-letter", json={"letter": "..."})
    assert r.status_code == 415 and fields(r) == ["header.content-type"]
    assert "'application/json'" in r.json()["detail"][0]["msg"]  # a plain media type is named
    r = client.post("/v1/predict", content=b"{}", headers={"content-type": f"text/{SECRET} x"})
    assert r.status_code == 415 and SECRET not in r.text  # anything else in the header is not repeated
    r = client.post(
        "/v1/predict", content=b'{"items": [{"treatment": "\xff\xfe"}]}', headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500


def test_rejected_letters_are_422_with_the_reason(client):
    cases = [
        (
            {"content": f"Dear {SECRET}, not a letter".encode(), "headers": {"content-type": "text/plain"}},
            "not an IMR Final Determination Letter",
        ),
        ({"content": b"   ", "headers": {"content-type": "text/plain"}}, "empty"),
        ({"content": b"%PDF-1.7 truncated", "headers": {"content-type": "application/pdf"}}, "PDF"),
        ({"content": b"\x00\x01\x02binary", "headers": {"content-type": "application/octet-stream"}}, "binary"),
        ({"files": {"file": ("a.txt", b"", "text/plain")}}, "empty"),
    ]
    for kwargs, reason in cases:
        r = client.post("/v1/predict-letter", **kwargs)
        assert r.status_code == 422, r.text
        assert fields(r) == ["file"] and r.json()["detail"][0]["type"] == "letter_rejected"
        assert reason in r.json()["detail"][0]["msg"]
    r = client.post("/v1/predict-letter", files={"letter": ("a.txt", b"text", "text/plain")})
    assert r.status_code == 422 and fields(r) == ["file"]
    r = client.post("/v1/predict-letter", data={"file": "text, not a file"}, files={"other": ("b.txt", b"x")})
    assert r.status_code == 422 and fields(r) == ["file"]
    r = client.post("/v1/predict-letter", data={"file": "a form, not multipart"})
    assert r.status_code == 415


# --- 413, 404, 405 -------------------------------------------------------------------------


def test_body_too_large_is_413(predictor, seed_paths):
    letter = seed_paths[0].read_bytes()
    limit = len(letter) + 100
    with small_client(predictor, max_body_bytes=limit) as c:
        wait_ready(c)
        assert c.post("/v1/predict-letter", content=letter, headers={"content-type": "text/plain"}).status_code == 200
        big = {"items": [{"treatment": "MRI", "case_summary": "x" * limit}]}
        r = c.post("/v1/predict", json=big)
        assert r.status_code == 413 and fields(r) == ["body"]
        r = c.post("/v1/predict-letter", content=letter + b" " * 200, headers={"content-type": "text/plain"})
        assert r.status_code == 413

        def chunks():  # no Content-Length: counted while read
            for _ in range(20):
                yield b"x" * (limit // 10)

        r = c.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_unknown_route_404_and_wrong_method_405(client):
    assert client.get("/v1/nope").status_code == 404
    assert client.post("/predict", json={"items": ITEMS}).status_code == 404
    assert client.get("/v1/predict").status_code == 405


# --- 503 while loading, or when loading failed ---------------------------------------------


def test_503_until_the_model_loads(monkeypatch, predictor):
    import serving.predictor

    release = threading.Event()

    def slow_load(uri, backend=None):
        assert release.wait(30)
        return predictor

    monkeypatch.setattr(serving.predictor, "load_predictor", slow_load)
    app = create_app("models:/slow/1")
    # while the model loads, everything that needs it is 503
    with TestClient(app, base_url=LOCAL) as c:
        r = c.get("/health")
        assert r.status_code == 503 and r.json() == {"status": "loading"}
        assert c.get("/version").status_code == 503
        r = c.post("/v1/predict", json={"items": ITEMS})
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert c.post("/v1/predict-letter", content=b"x", headers={"content-type": "text/plain"}).status_code == 503
        release.set()
        wait_ready(c, 30)
        assert c.post("/v1/predict", json={"items": ITEMS}).status_code == 200
    assert (
        TestClient(create_app("models:/never/1"), base_url=LOCAL).get("/health").status_code == 503
    )  # no lifespan ran


def test_a_model_that_cannot_load_is_503_failed(tmp_path):
    reasons = []
    app = create_app(str(tmp_path / "no-such-model"), on_load_error=reasons.append)
    with TestClient(app, base_url=LOCAL) as c:
        deadline = time.monotonic() + 30
        while not reasons and time.monotonic() < deadline:
            time.sleep(0.02)
        r = c.get("/health")
        assert r.status_code == 503 and r.json()["status"] == "failed" and "no-such-model" in r.json()["error"]
        assert c.post("/v1/predict", json={"items": ITEMS}).status_code == 503
    assert reasons and "ModelNotFoundError" in reasons[0]


# --- logging -------------------------------------------------------------------------------


def test_logs_have_method_path_status_items_latency_and_no_clinical_text(client, caplog, seed_paths):
    caplog.set_level(logging.DEBUG)
    client.post("/v1/predict", json={"items": ITEMS})
    client.post("/v1/predict", json={"items": [{"treatment": 5, "case_summary": SECRET}]})
    client.post("/v1/predict", content=f'{{"items": [{{"treatment": "{SECRET}"', headers=JSON)
    client.post("/v1/predict-letter", content=f"{SECRET} is not a letter".encode(), headers=TEXT)
    client.post("/v1/predict-letter", content=seed_paths[0].read_bytes(), headers=TEXT)
    client.get(f"/{SECRET}?q={SECRET}")
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the test client's
    assert SECRET not in "\n".join(r.getMessage() for r in server_side)
    lines = [m for r in caplog.records if r.name == "imr.serve" and (m := r.getMessage()).startswith(("POST", "GET"))]
    assert lines[0].startswith("POST /v1/predict 200 items=3 ") and lines[0].endswith("ms")
    assert lines[1].startswith("POST /v1/predict 422 items=- ")
    assert lines[3].startswith("POST /v1/predict-letter 422 ")
    assert lines[4].startswith("POST /v1/predict-letter 200 items=")
    assert lines[5].startswith("GET <other> 404 ")


class Broken:
    def info(self):
        return {
            "name": "broken",
            "version": "1",
            "run_id": None,
            "family": "baseline",
            "feature_view": "pre_decision",
            "base_rate": 0.1,
        }

    def predict(self, items):
        raise ValueError(f"cannot score {items[0]['treatment']}")


class Malformed(Broken):
    def predict(self, items):  # output the response model refuses, quoting the input
        return [{"p_overturned": item["treatment"], "predicted_decision": "?"} for item in items]


def test_a_model_failure_is_500_and_logs_no_message(caplog):
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(None, predictor=Broken()), base_url=LOCAL) as c:
        wait_ready(c)
        r = c.post("/v1/predict", json={"items": [{"treatment": SECRET}]})
    assert r.status_code == 500 and SECRET not in r.text
    assert r.json()["detail"] == [
        {
            "loc": ["server"],
            "field": "server",
            "msg": "the model failed to score the request (ValueError)",
            "type": "internal_error",
        }
    ]
    with TestClient(create_app(None, predictor=Malformed()), base_url=LOCAL) as c:
        wait_ready(c)
        r = c.post("/v1/predict", json={"items": [{"treatment": SECRET}]})
    assert r.status_code == 500 and SECRET not in r.text
    messages = [r.getMessage() for r in caplog.records]
    assert SECRET not in "\n".join(messages)
    assert any("scoring failed: builtins.ValueError" in m for m in messages)
    assert any("request failed: fastapi.exceptions.ResponseValidationError" in m for m in messages)
    assert "POST /v1/predict 500 items=1 " in "\n".join(messages)


# --- batching ------------------------------------------------------------------------------


class Recorder:
    """Scores item k as k/100; records each call's size; fails any call holding a 'bad' item."""

    def __init__(self, delay=0.02):
        self.calls: list[int] = []
        self.delay = delay

    def predict(self, items):
        self.calls.append(len(items))
        time.sleep(self.delay)
        if any(i.get("bad") for i in items):
            raise ValueError("bad item")
        return [{"p_overturned": i["k"] / 100} for i in items]


def test_concurrent_requests_are_scored_together_in_order():
    async def run():
        recorder = Recorder()
        scorer = BatchingScorer(recorder, max_batch_items=5)
        jobs = [[{"k": 10 * j + i} for i in range(1 + j % 3)] for j in range(12)]
        results = await asyncio.gather(*(scorer.predict(job) for job in jobs))
        await scorer.close()
        return recorder.calls, jobs, results

    calls, jobs, results = asyncio.run(run())
    for job, rows in zip(jobs, results, strict=True):
        assert [r["p_overturned"] for r in rows] == [i["k"] / 100 for i in job]
    assert sum(calls) == sum(map(len, jobs))
    assert len(calls) < len(jobs) and max(calls) <= 5  # batched, within the cap


def test_a_failing_request_does_not_fail_the_others_in_its_batch():
    async def run():
        scorer = BatchingScorer(Recorder(), max_batch_items=64)
        jobs = [[{"k": 1}], [{"k": 2, "bad": True}], [{"k": 3}]]
        results = await asyncio.gather(*(scorer.predict(job) for job in jobs), return_exceptions=True)
        await scorer.close()
        return results

    good1, bad, good3 = asyncio.run(run())
    assert good1 == [{"p_overturned": 0.01}] and good3 == [{"p_overturned": 0.03}]
    assert isinstance(bad, ScoringError)


# --- the real server -----------------------------------------------------------------------


def imr_command() -> list[str]:
    return [str(IMR)] if IMR.exists() else [sys.executable, "-m", "training.imr"]


def test_imr_serve_scores_over_a_socket(env, predictor, tmp_path):
    """The registered model, downloaded to a local folder (so the server starts without importing
    MLflow; the models:/ path through the registry is covered by the in-process `client`)."""
    import mlflow

    result, root, _ = env
    folder = mlflow.artifacts.download_artifacts(artifact_uri=result.model_uri, dst_path=str(tmp_path / "model"))
    port = free_port()
    log = tmp_path / "serve.log"
    cmd = [*imr_command(), "serve", "--model", folder, "--port", str(port)]
    environment = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=environment)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not ready in 90 s:\n{log.read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        r = httpx.post(f"http://127.0.0.1:{port}/v1/predict", json={"items": ITEMS[1:2]}, timeout=30)
        assert r.status_code == 200
        assert r.json()["predictions"][0]["p_overturned"] == pytest.approx(
            predictor.predict([{k: v for k, v in ITEMS[1].items()}])[0]["p_overturned"], abs=1e-12
        )
        assert r.json()["model"]["family"] == "baseline"
        base_rate = predictor.info()["base_rate"]
        assert r.json()["predictions"][0]["base_rate"] == r.json()["model"]["base_rate"] == base_rate
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    text = log.read_text()
    assert "POST /v1/predict 200 items=1 " in text
    assert SECRET not in text


@pytest.mark.slow  # starts imr serve
def test_imr_serve_exits_2_when_the_model_cannot_load(tmp_path):
    cmd = [*imr_command(), "serve", "--model", str(tmp_path / "missing"), "--port", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "not loaded" in proc.stderr and "missing" in proc.stderr
    proc = subprocess.run(
        [*imr_command(), "serve", "--model", "x", "--max-items", "0"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "--max-items (env IMR_SERVE_MAX_ITEMS)" in proc.stderr


# --- connection limits (serving/http_protocol.py), on a real uvicorn server -----------------


class Stub:
    """Scores every item 0.1 at once: the connection tests need a server, not a model."""

    def info(self):
        return Broken().info()

    def predict(self, items):
        return [
            {
                "p_overturned": 0.1,
                "base_rate": 0.1,
                "band": None,
                "observed_rate_scored_alike": None,
                "answer": "10.0% against a base rate of 10.0%.",
                "in_distribution": True,
                "ood_reason": None,
                "model_name": "stub",
                "model_version": "1",
            }
            for _ in items
        ]


@contextmanager
def live_server(http: str = "auto", **limits):
    """`imr serve`'s app and uvicorn options (stub model) on a free port, in a thread; yields the port."""
    with serve_in_thread(Stub(), http, **limits) as port:
        yield port


def read_until_closed(sock: socket.socket, limit: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    start, out = time.monotonic(), b""
    sock.settimeout(limit)
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except ConnectionResetError:  # closed with our unread bytes still queued: what was sent is in `out`
        pass
    return out, time.monotonic() - start


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def predict_once(port: int) -> int:
    return httpx.post(f"http://127.0.0.1:{port}/v1/predict", json={"items": ITEMS[:1]}, timeout=5).status_code


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_slow_or_silent_headers_are_408_and_closed_at_the_deadline(http):
    with live_server(http, header_timeout_s=0.5) as port:
        trickling = socket.create_connection(("127.0.0.1", port))
        silent = socket.create_connection(("127.0.0.1", port))
        trickling.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for _ in range(3):  # a byte every 0.2 s: each would reset uvicorn's own keep-alive timer
            time.sleep(0.2)
            try:
                trickling.sendall(b"x")
            except OSError:
                break
        response, _ = read_until_closed(trickling)
        assert status_of(response) == 408 and b'"type": "timeout"' in response
        response, waited = read_until_closed(silent)
        assert status_of(response) == 408 and waited < 2
        assert predict_once(port) == 200  # a normal client is unaffected


def test_slow_bodies_are_408_and_the_service_stays_responsive():
    with live_server(body_timeout_s=1.0) as port:
        slow = []
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(
                b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                b"content-length: 1000\r\n\r\n{"
            )
            slow.append(sock)
        start = time.monotonic()
        assert predict_once(port) == 200 and time.monotonic() - start < 0.9  # answered while they trickle
        for sock in slow:
            response, _ = read_until_closed(sock)
            assert status_of(response) == 408 and b'"field": "body"' in response
        assert 0.9 < time.monotonic() - start < 5


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_oversized_headers_are_refused_with_431_or_400(http):
    with live_server(http, max_header_bytes=8192) as port:
        big = socket.create_connection(("127.0.0.1", port))
        big.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        try:
            for _ in range(100):  # 1 MB, as it arrives: refused long before the end
                big.sendall(b"a" * 10_000)
        except OSError:
            pass
        response, _ = read_until_closed(big)
        assert status_of(response) in (431, 400)  # h11 refuses an oversized head itself, with 400
        many = socket.create_connection(("127.0.0.1", port))
        many.sendall(
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(5000)) + b"\r\n"
        )
        response, _ = read_until_closed(many)
        assert status_of(response) in (431, 400)
        assert predict_once(port) == 200


def test_header_count_and_size_are_431_in_the_error_shape(predictor):
    with small_client(predictor, max_headers=20, max_header_bytes=2048) as c:
        wait_ready(c)
        r = c.get("/health", headers={f"x-{i}": "1" for i in range(30)})
        assert r.status_code == 431 and fields(r) == ["header"] and r.json()["detail"][0]["type"] == "too_many_headers"
        r = c.get("/health", headers={"x-big": "a" * 4000})
        assert r.status_code == 431 and r.json()["detail"][0]["type"] == "header_too_large"
        assert c.get("/health", headers={f"x-{i}": "1" for i in range(10)}).status_code == 200


def test_connections_beyond_the_cap_are_503_until_idle_ones_are_dropped():
    with live_server(max_connections=3, header_timeout_s=1.0) as port:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        time.sleep(0.1)
        assert predict_once(port) == 503  # answered at once, not queued behind the idle ones
        for sock in idle:
            assert status_of(read_until_closed(sock)[0]) == 408
        assert predict_once(port) == 200


@pytest.mark.slow  # starts imr serve
def test_connection_limits_from_environment_and_flags(monkeypatch):
    monkeypatch.setenv("IMR_SERVE_HEADER_TIMEOUT_S", "3")
    monkeypatch.setenv("IMR_SERVE_MAX_CONNECTIONS", "9")
    settings = ServeSettings(body_timeout_s=4)
    assert (settings.header_timeout_s, settings.body_timeout_s, settings.max_connections) == (3, 4, 9)
    defaults = {
        name: ServeSettings.model_fields[name].default
        for name in ("header_timeout_s", "body_timeout_s", "max_header_bytes", "max_headers", "max_connections")
    }
    assert defaults == {
        "header_timeout_s": 10.0,
        "body_timeout_s": 30.0,
        "max_header_bytes": 32768,
        "max_headers": 100,
        "max_connections": 512,
    }
    proc = subprocess.run(
        [*imr_command(), "serve", "--model", "x", "--header-timeout", "0"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "--header-timeout (env IMR_SERVE_HEADER_TIMEOUT_S)" in proc.stderr


# --- the log line names the route from the app's router --------------------------------------


def test_log_names_the_matched_route_template_never_the_raw_path(caplog):
    caplog.set_level(logging.INFO, logger="imr.serve")
    app = create_app(None, predictor=Stub())

    @app.get("/v1/things/{thing_id}")  # a route added after the app was built: no list to update
    def thing(thing_id: str):
        return {}

    with TestClient(app, base_url=LOCAL) as c:
        wait_ready(c)
        caplog.clear()
        c.get(f"/v1/things/{SECRET}")
        c.get("/docs")
        c.get(f"/{SECRET}")
        c.get("/v1/predict")
    lines = [r.getMessage() for r in caplog.records if r.name == "imr.serve" and r.getMessage().startswith("GET")]
    assert [line.split()[1:3] for line in lines] == [
        ["/v1/things/{thing_id}", "200"],
        ["/docs", "200"],
        ["<other>", "404"],
        ["/v1/predict", "405"],
    ]
    assert SECRET not in "\n".join(r.getMessage() for r in caplog.records)
