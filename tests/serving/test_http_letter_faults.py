"""`POST /v1/predict-letter` with the letters of issue 10: an invalid header date and a
decompression bomb are 422s with the reason (not 500s, not a server the size of the bomb), and an
impossible age is scored with the age left out."""

from __future__ import annotations

import resource

import psutil
import pytest
from conftest import wait_ready
from fastapi.testclient import TestClient
from hostile import bomb_pdf
from letters import simple_letter

from serving.http import create_app
from serving.serve_settings import ServeSettings

TEXT = {"content-type": "text/plain"}
PDF = {"content-type": "application/pdf"}


@pytest.fixture(scope="module")
def client(baseline_store):
    """The app serving the session's baseline (its store set for this module), ready. Without the
    wait after a bomb (tests/serving/test_http_letter_gate.py): every request here comes from one
    client address, and the bomb's sender is this module's next letter too."""
    settings = ServeSettings(letter_penalty_s=0)
    app = create_app(f"models:/{baseline_store.name}@{baseline_store.alias}", settings=settings)
    with TestClient(app, base_url="http://localhost") as c:
        wait_ready(c)
        yield c


def test_invalid_header_date_is_422_naming_the_field(client):
    text = simple_letter("CM16-0000009", "U").replace("Date of Injury: 03/15/2015", "Date of Injury: 13/45/2016")
    r = client.post("/v1/predict-letter", content=text.encode(), headers=TEXT)
    assert r.status_code == 422, r.text
    [detail] = r.json()["detail"]
    assert detail["type"] == "letter_rejected" and "'Date of Injury'" in detail["msg"]


def test_age_over_120_is_scored_without_the_age(client):
    text = simple_letter("CM16-0000010", "UO").replace("47 year old female", "150 year old female")
    r = client.post("/v1/predict-letter", content=text.encode(), headers=TEXT)
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 2


def test_decompression_bomb_is_422_and_the_server_stays_small(client):
    bomb = bomb_pdf(1024)
    rss_now = psutil.Process().memory_info().rss
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    r = client.post("/v1/predict-letter", content=bomb, headers=PDF)
    assert r.status_code == 422, r.text
    assert "memory limit" in r.json()["detail"][0]["msg"]
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert peak_after <= max(peak_before, rss_now + 400 * 2**20), (rss_now, peak_before, peak_after)
    ok = client.post("/v1/predict-letter", content=simple_letter("CM16-0000011", "U").encode(), headers=TEXT)
    assert ok.status_code == 200  # the worker that died was replaced
