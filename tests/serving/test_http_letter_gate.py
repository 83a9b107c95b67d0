"""The letter route's admission (serving/http_letters.py): letters in progress per client address
and in all, and a growing wait for a client whose letter no worker could finish (a decompression
bomb), so that two clients posting bombs in a loop no longer starve everyone else's letters."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from hostile import bomb_pdf
from letters import simple_letter
from live_server import serve_in_thread

from serving.http_letters import MAX_PENALTY_S, STRIKE_MEMORY_S, LetterGate


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_letters_in_progress_are_bounded_per_client_and_in_all():
    gate = LetterGate(per_client=2, queue=3, penalty_s=10, clock=Clock())
    assert gate.admit("a") is None and gate.admit("a") is None
    refused = gate.admit("a")
    assert (refused.status, refused.type) == (429, "too_many_requests")
    assert gate.admit("b") is None
    refused = gate.admit("c")
    assert (refused.status, refused.type) == (503, "letter_queue_full")
    gate.release("a", contained=False)
    assert gate.admit("c") is None
    for client in ("a", "b", "c"):
        gate.release(client, contained=False)
    gate.release("a", contained=False)
    assert gate.in_progress == {} and gate.total == 0


def test_a_client_whose_letter_no_worker_could_finish_waits_longer_each_time():
    clock = Clock()
    gate = LetterGate(per_client=2, queue=10, penalty_s=10, clock=clock)
    waits = []
    for _ in range(4):
        assert gate.admit("bomber") is None
        gate.release("bomber", contained=True)
        refused = gate.admit("bomber")
        assert (refused.status, refused.type) == (429, "letter_penalty")
        waits.append(refused.retry_after_s)
        assert gate.admit("someone else") is None
        gate.release("someone else", contained=False)
        clock.now += refused.retry_after_s + 0.01
    assert waits == [10, 20, 40, 80]
    clock.now += STRIKE_MEMORY_S + 1  # forgotten: the next strike starts over
    assert gate.admit("bomber") is None
    gate.release("bomber", contained=True)
    assert gate.admit("bomber").retry_after_s == 10


def test_the_wait_is_capped_and_can_be_turned_off():
    clock = Clock()
    gate = LetterGate(per_client=1, queue=10, penalty_s=3000, clock=clock)
    gate.admit("x")
    gate.release("x", contained=True)
    clock.now += 3001
    gate.admit("x")
    gate.release("x", contained=True)
    assert gate.admit("x").retry_after_s == MAX_PENALTY_S
    off = LetterGate(per_client=1, queue=10, penalty_s=0, clock=clock)
    off.admit("x")
    off.release("x", contained=True)
    assert off.admit("x") is None


def test_a_refusal_is_the_error_shape_with_retry_after():
    gate = LetterGate(1, 1, 10, clock=Clock())
    gate.admit("a")
    refused = gate.admit("a").response()
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert b'"field":"client"' in refused.body.replace(b" ", b"")


# --- on a real server, two client addresses on loopback --------------------------------------


class Stub:
    """Scores every item 0.1: the gate needs a server, not a model."""

    def info(self):
        return {
            "name": "stub",
            "version": "1",
            "run_id": None,
            "family": "baseline",
            "feature_view": "pre_decision",
            "base_rate": 0.1,
        }

    def predict(self, items):
        row = {"p_overturned": 0.1, "band": None, "observed_rate_scored_alike": None, "answer": "10.0%."}
        row |= {"in_distribution": True, "ood_reason": None}
        return [row | {"base_rate": 0.1, "model_name": "stub", "model_version": "1"} for _ in items]


@contextmanager
def live_server(**limits):
    with serve_in_thread(Stub(), **limits) as port:
        yield f"http://127.0.0.1:{port}"


def client_at(address: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.x.y.z is loopback on Linux)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


@pytest.mark.slow  # the letter pool's worker processes
def test_bombs_cost_their_sender_not_the_other_clients():
    letter = {"content": simple_letter("CM16-0000031", "U").encode(), "headers": {"content-type": "text/plain"}}
    bomb = {"content": bomb_pdf(1024), "headers": {"content-type": "application/pdf"}}
    with live_server(max_letters_per_client=1, max_letter_queue=1, letter_penalty_s=30) as url:
        bomber, other = client_at("127.0.0.2"), client_at("127.0.0.3")
        assert other.post(f"{url}/v1/predict-letter", **letter).status_code == 200  # the pool is up
        answers = {}
        thread = threading.Thread(target=lambda: answers.update(bomb=bomber.post(f"{url}/v1/predict-letter", **bomb)))
        thread.start()
        time.sleep(0.5)  # the bomb is in a worker for a second or more before the memory limit stops it
        second = bomber.post(f"{url}/v1/predict-letter", **letter)
        assert second.status_code == 429 and second.json()["detail"][0]["type"] == "too_many_requests"
        full = other.post(f"{url}/v1/predict-letter", **letter)
        assert full.status_code == 503 and full.json()["detail"][0]["type"] == "letter_queue_full"
        assert int(full.headers["retry-after"]) >= 1
        thread.join(timeout=60)
        assert answers["bomb"].status_code == 422 and "memory limit" in answers["bomb"].text
        after = bomber.post(f"{url}/v1/predict-letter", **letter)
        assert after.status_code == 429 and after.json()["detail"][0]["type"] == "letter_penalty"
        assert 25 <= int(after.headers["retry-after"]) <= 30
        assert other.post(f"{url}/v1/predict-letter", **letter).status_code == 200
