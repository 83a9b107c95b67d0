"""The bounds of issue 24 on `imr serve` and `imr predict`: text fields no longer than a multiple
of the longest the model was trained on, numbers within what the data supports, `null` as "not
given" for every optional field, the Host header checked, every error in the one documented
shape, and /docs served without a CDN.

Serves the session's shared baseline (conftest.shared_baseline, trained on the small synthetic
corpus)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import wait_ready
from fastapi.testclient import TestClient
from letters import simple_letter

from serving.field_limits import FLOOR_CHARS, LEGACY_LONGEST, TEXT_FIELDS, FieldLimits
from serving.http import create_app
from serving.serve_settings import ServeSettings

LOCAL = "http://localhost"
SECRET = "Zqxj-sentinel-clinical-text"
TEXT = {"content-type": "text/plain"}
JSON = {"content-type": "application/json"}
MRI = "MRI of the lumbar spine without contrast"


@pytest.fixture(scope="module")
def predictor(baseline_store):
    from serving.predictor import load_predictor

    return load_predictor(baseline_store.result.model_uri)


@pytest.fixture(scope="module")
def client(predictor):
    with TestClient(create_app(None, predictor=predictor), base_url=LOCAL) as c:
        wait_ready(c)
        yield c


def limit_of(predictor, field: str) -> int:
    return FieldLimits.of(predictor).limits[field]


def summary_of(length: int) -> str:
    """Clinical-looking text of exactly `length` characters, the sentinel first."""
    text = f"{SECRET} chronic low back pain radiating to the left leg after lifting boxes. "
    return (text * (length // len(text) + 1))[:length]


def assert_error_shape(response, status: int) -> list[dict]:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    assert all(set(d) == {"loc", "field", "msg", "type"} for d in detail), detail
    return detail


# --- text fields: a multiple of the longest the model was trained on ---------------------------


def test_the_model_records_its_training_letters_longest_fields(predictor, baseline_store):
    from features.dataset import item_rows
    from features.ingest import expand_paths, parse_file

    longest = dict.fromkeys(TEXT_FIELDS, 0)
    for path in expand_paths([baseline_store.letters]):
        letter, _, _ = parse_file(path)
        for row in item_rows(letter, letter.case_number, str(path)) if letter else []:
            for name in TEXT_FIELDS:
                longest[name] = max(longest[name], len(row[name]))
    assert predictor.scorer.meta.field_lengths == longest  # cv mode: the model is fitted on every letter


def test_a_case_summary_over_the_bound_is_422_naming_field_and_limit(client, predictor):
    limit = limit_of(predictor, "case_summary")
    ok = client.post("/v1/predict", json={"items": [{"treatment": MRI, "case_summary": summary_of(limit)}]})
    assert ok.status_code == 200, ok.text
    items = [{"treatment": MRI}, {"treatment": MRI, "case_summary": summary_of(limit + 1)}]
    r = client.post("/v1/predict", json={"items": items, "explain": True})
    [detail] = assert_error_shape(r, 422)
    assert detail["field"] == "items.1.case_summary" and detail["type"] == "string_too_long"
    assert f"{limit:,}" in detail["msg"] and "longest case_summary" in detail["msg"]
    assert SECRET not in r.text


def test_every_text_field_is_bounded(client, predictor):
    for name in TEXT_FIELDS:
        item = {"treatment": MRI, name: "x" * (limit_of(predictor, name) + 1)}
        r = client.post("/v1/predict", json={"items": [item]})
        assert [d["field"] for d in assert_error_shape(r, 422)] == [f"items.0.{name}"]


def test_a_letter_with_a_summary_over_the_bound_is_422(client, predictor):
    letter = simple_letter("CM16-0000077", "U")
    assert "47 year old female" in letter
    padding = " ".join(["Lumbar pain persists."] * (limit_of(predictor, "case_summary") // 20))
    r = client.post(
        "/v1/predict-letter",
        content=letter.replace("47 year old female", f"47 year old female {padding}"),
        headers=TEXT,
    )
    [detail] = assert_error_shape(r, 422)
    assert detail["field"] == "file" and detail["type"] == "letter_too_long"
    assert detail["msg"].startswith("case_summary: ") and "Lumbar" not in r.text
    assert client.post("/v1/predict-letter", content=letter, headers=TEXT).status_code == 200


def test_the_factor_is_a_setting(predictor):
    limit = limit_of(predictor, "case_summary")
    with TestClient(
        create_app(None, settings=ServeSettings(field_length_factor=20), predictor=predictor), base_url=LOCAL
    ) as c:
        wait_ready(c)
        r = c.post("/v1/predict", json={"items": [{"treatment": MRI, "case_summary": summary_of(limit + 1)}]})
        assert r.status_code == 200


def test_limits_are_a_multiple_of_the_longest_with_a_floor_and_a_fixed_bound_for_old_models():
    limits = FieldLimits({"treatment": 150, "case_summary": 4794}, factor=10)
    assert limits.limits["case_summary"] == 47_940
    assert limits.limits["treatment"] == 10 * FLOOR_CHARS  # short in training: the floor
    assert limits.limits["rationale"] == 10 * FLOOR_CHARS  # not recorded: the floor
    [(field, msg)] = limits.problems({"treatment": "MRI", "case_summary": "y" * 47_941})
    assert field == "case_summary" and "47,941 characters" in msg and "47,940" in msg and "yy" not in msg
    assert limits.problems({"treatment": "MRI", "case_summary": "y" * 47_940}) == []
    old = FieldLimits(None, factor=10)
    assert set(old.limits.values()) == {10 * LEGACY_LONGEST}


def test_imr_predict_input_rejects_the_one_long_row_and_scores_the_others(predictor, tmp_path, capsys):
    from serving.cli import score_requests

    long = summary_of(limit_of(predictor, "case_summary") + 1)
    path = tmp_path / "requests.jsonl"
    rows = [{"id": "a", "treatment": MRI}, {"id": "b", "treatment": MRI, "case_summary": long}, {"treatment": MRI}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, failed = score_requests(predictor, path)
    assert failed == 1
    assert [set(row) >= {"p_overturned"} for row in out] == [True, False, True]
    assert out[1]["id"] == "b" and out[1]["error"].startswith("field 'case_summary': ")
    err = capsys.readouterr().err
    assert f"{path}:2: field 'case_summary'" in err and SECRET not in err + json.dumps(out)


def test_imr_predict_letters_rejects_a_letter_over_the_bound(predictor, tmp_path):
    from serving.cli import score_letters

    letter = simple_letter("CM16-0000078", "UO")
    padding = " ".join(["Lumbar pain persists."] * (limit_of(predictor, "case_summary") // 20))
    long = tmp_path / "long.txt"
    long.write_text(letter.replace("47 year old female", f"47 year old female {padding}"))
    fine = tmp_path / "fine.txt"
    fine.write_text(letter)
    out, failed = score_letters(predictor, [long, fine])
    assert failed == 1 and len(out) == 3
    assert out[0]["source"] == str(long) and out[0]["error"].startswith("case_summary: ")
    assert all("p_overturned" in row for row in out[1:])


# --- numbers and null -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item,field,type_",
    [
        ({"days_since_injury": 10**4000}, "days_since_injury", "less_than_equal"),
        ({"days_since_injury": 36_501}, "days_since_injury", "less_than_equal"),
        ({"days_since_injury": 1e300}, "days_since_injury", "int_parsing_size"),
        ({"patient_age": 10**400}, "patient_age", "less_than_equal"),
        ({"id": 10**30}, "id", "value_error"),
        ({"treatment": None}, "treatment", "string_type"),
        ({"treatmnet": None}, "<unknown field>", "extra_forbidden"),
    ],
    ids=["days-10**4000", "days-36501", "days-1e300", "age-huge", "id-huge", "treatment-null", "unknown-null"],
)
def test_numbers_are_bounded_and_null_treatment_refused(client, item, field, type_):
    r = client.post("/v1/predict", json={"items": [{"treatment": MRI} | item]})
    detail = assert_error_shape(r, 422)
    assert (f"items.0.{field}", type_) in [(d["field"], d["type"]) for d in detail]
    assert "0000" not in r.text  # the number is not echoed


def test_null_means_not_given_for_every_optional_field(client):
    optional = [
        "case_summary",
        "claims_administrator_guideline",
        "patient_age",
        "patient_sex",
        "days_since_injury",
        "partial_approval",
        "original_request",
        "authorized_portion",
        "rationale",
        "id",
    ]
    given = {"treatment": MRI, "case_summary": summary_of(600)}
    with_nulls = given | dict.fromkeys(optional[1:], None)
    r = client.post("/v1/predict", json={"items": [given, with_nulls, {"treatment": MRI, "case_summary": None}]})
    assert r.status_code == 200, r.text
    plain, nulls, no_summary = r.json()["predictions"]
    assert nulls == plain and "id" not in nulls
    alone = client.post("/v1/predict", json={"items": [{"treatment": MRI}]}).json()["predictions"][0]
    assert no_summary == alone


def test_days_at_the_bound_are_accepted(client):
    r = client.post("/v1/predict", json={"items": [{"treatment": MRI, "days_since_injury": 36_500}]})
    assert r.status_code == 200


def test_a_body_that_is_not_utf8_says_so(client):
    r = client.post("/v1/predict", content=b'{"items": [{"treatment": "\xff\xfe MRI"}]}', headers=JSON)
    [detail] = assert_error_shape(r, 422)
    assert detail["type"] == "json_invalid" and "not UTF-8" in detail["msg"] and "digits" not in detail["msg"]


# --- one error shape ---------------------------------------------------------------------------


def test_multipart_and_routing_errors_have_the_documented_shape(client):
    two = {"file": ("a.txt", b"x", "text/plain"), "other": ("b.txt", b"y", "text/plain")}
    [detail] = assert_error_shape(client.post("/v1/predict-letter", files=two), 400)
    assert detail["field"] == "body" and "files" in detail["msg"]
    broken = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
    r = client.post("/v1/predict-letter", content=broken, headers={"content-type": "multipart/form-data; boundary=b"})
    assert_error_shape(r, 400)
    r = client.post("/v1/predict-letter", content=b"x", headers={"content-type": "multipart/form-data"})
    assert_error_shape(r, 400)  # no boundary
    assert assert_error_shape(client.get("/v1/nope"), 404)[0]["type"] == "not_found"
    r = client.get("/v1/predict")
    assert assert_error_shape(r, 405)[0]["field"] == "method" and r.headers["allow"] == "POST"


def test_503_while_loading_has_the_documented_shape(predictor):
    app = create_app("models:/never/1")  # no lifespan: the model never loads
    r = TestClient(app, base_url=LOCAL).get("/version")
    assert assert_error_shape(r, 503)[0]["field"] == "model"


# --- the Host header ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "localhost.attacker.example", ""])
def test_a_host_that_is_not_loopback_is_400(client, host):
    r = client.get("/v1/search?q=MRI", headers={"host": host})
    [detail] = assert_error_shape(r, 400)
    assert detail["field"] == "header.host" and detail["type"] == "host_not_allowed"
    assert "attacker" not in r.text and "precedents" not in r.text


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"])
def test_loopback_hosts_are_served(client, host):
    assert client.get("/health", headers={"host": host}).status_code == 200


def test_allowed_hosts_add_names_and_patterns(predictor):
    settings = ServeSettings(allowed_hosts=["imr.example.org", "*.internal.example"])
    with TestClient(create_app(None, settings=settings, predictor=predictor), base_url=LOCAL) as c:
        wait_ready(c)
        for host in ("imr.example.org", "IMR.example.org:443", "a.internal.example", "localhost"):
            assert c.get("/health", headers={"host": host}).status_code == 200, host
        for host in ("example.org", "internal.example", "attacker.example"):
            assert c.get("/health", headers={"host": host}).status_code == 400, host
    with TestClient(create_app(None, settings=ServeSettings(allowed_hosts=["*"]), predictor=predictor)) as c:
        wait_ready(c)
        assert c.get("/health", headers={"host": "anything.example"}).status_code == 200


def test_allowed_hosts_from_the_environment(monkeypatch):
    monkeypatch.setenv("IMR_SERVE_ALLOWED_HOSTS", "a.example, b.example,")
    assert ServeSettings().allowed_hosts == ["a.example", "b.example"]
    assert ServeSettings(allowed_hosts=["", " c.example "]).allowed_hosts == ["c.example"]


# --- /docs without a CDN -----------------------------------------------------------------------


def test_docs_load_their_assets_from_the_server_itself(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html.text)
        assert assets, html.text
        for url in assets:
            assert not re.match(r"(?:https?:)?//", url), url
            assert client.get(url).status_code == 200, url
    assert "cdn" not in client.get("/docs").text.lower()


# --- imr serve's flags --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags,named",
    [
        (["--header-timeout", "-1"], "--header-timeout"),
        (["--header-timeout", "0"], "--header-timeout"),
        (["--body-timeout", "-5"], "--body-timeout"),
        (["--max-items", "0"], "--max-items"),
        (["--max-letter-queue", "0"], "--max-letter-queue"),
        (["--letter-penalty", "-1"], "--letter-penalty"),
        (["--field-length-factor", "0.5"], "--field-length-factor"),
    ],
)
def test_serve_refuses_values_out_of_range_naming_the_flag(flags, named, capsys):
    from training.imr import main

    assert main(["serve", "--model", "never-loaded", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"imr serve: {named} (env IMR_SERVE_") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_serve_refuses_a_port_out_of_range(port, capsys):
    from training.imr import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--model", "never-loaded", "--port", port])
    assert exit_.value.code == 2 and "--port" in capsys.readouterr().err


def test_serve_allows_its_own_bound_host_and_the_flagged_names():
    import argparse

    from serving.cli import _serve_settings

    args = argparse.Namespace(host="10.1.2.3", allowed_hosts=["imr.example.org"])
    args.__dict__.update({name: None for name in ServeSettings.model_fields if name != "allowed_hosts"})
    assert _serve_settings(args).allowed_hosts == ["imr.example.org", "10.1.2.3"]
