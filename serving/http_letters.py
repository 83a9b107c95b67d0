"""The letter route's admission and worker pool (`POST /v1/predict-letter`, serving/http.py).

A letter is extracted and parsed in a contained worker process (features.contain: time and
memory limits), and the pool is small (2 workers) because a letter normally takes milliseconds.
A decompression bomb, though, holds a worker for seconds until the memory limit kills it, so two
clients posting bombs in a loop kept both workers busy and cut every other client's letter
throughput by 92%. Admission to the pool is therefore bounded:

- per client address, at most `max_letters_per_client` letters in progress (else 429);
- over all clients, at most `max_letter_queue` letters waiting for or in a worker (else 503);
- a client whose letter a worker could not finish (killed at the memory limit, timed out, crashed:
  the pool's "contained" outcomes, which an ordinary letter never has) is refused with 429 for
  `letter_penalty_s`, doubling with each further such letter, up to MAX_PENALTY_S; a client
  forgets its record STRIKE_MEMORY_S after its last such letter.

Every refusal carries Retry-After. Clients are told apart by the connection's address, so behind
a proxy every client is the proxy (a proxy should bound its own clients).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse

from serving.http_models import error_response

MAX_PENALTY_S = 3600.0
STRIKE_MEMORY_S = 3600.0
MAX_TRACKED_CLIENTS = 10_000  # beyond this many remembered clients, the expired ones are dropped
LETTER_TYPES = ("application/pdf", "text/plain", "application/octet-stream")


@dataclass
class Refusal:
    status: int
    retry_after_s: float
    msg: str
    type: str

    def response(self) -> JSONResponse:
        response = error_response(("client",), self.msg, self.type, status=self.status)
        response.headers["Retry-After"] = str(max(1, math.ceil(self.retry_after_s)))
        return response


@dataclass
class _Strikes:
    count: int
    refused_until: float
    last: float


class LetterGate:
    """Who may hand a letter to the pool now (see the module's docstring). Not thread-safe: used
    from the event loop only."""

    def __init__(
        self, per_client: int, queue: int, penalty_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_client, self.queue, self.penalty_s, self.clock = per_client, queue, penalty_s, clock
        self.in_progress: dict[str, int] = {}
        self.strikes: dict[str, _Strikes] = {}

    @property
    def total(self) -> int:
        return sum(self.in_progress.values())

    def admit(self, client: str) -> Refusal | None:
        """None, with the letter counted as in progress (call `release` when done), or why not."""
        now = self.clock()
        strikes = self.strikes.get(client)
        if strikes is not None and strikes.refused_until > now:
            return Refusal(
                429,
                strikes.refused_until - now,
                f"a letter from this address could not be read within the worker limits "
                f"{strikes.count} time(s) (decompression bomb?); its letters are refused for a while",
                "letter_penalty",
            )
        if self.in_progress.get(client, 0) >= self.per_client:
            return Refusal(
                429, 1, f"at most {self.per_client} letter(s) in progress per client address", "too_many_requests"
            )
        if self.total >= self.queue:
            return Refusal(503, 1, f"{self.queue} letters are already waiting or being read", "letter_queue_full")
        self.in_progress[client] = self.in_progress.get(client, 0) + 1
        return None

    def release(self, client: str, contained: bool) -> None:
        """The letter admitted for `client` is done; `contained`: a worker could not finish it."""
        left = self.in_progress.get(client, 0) - 1
        if left > 0:
            self.in_progress[client] = left
        else:
            self.in_progress.pop(client, None)
        if contained and self.penalty_s > 0:
            self._strike(client)

    def _strike(self, client: str) -> None:
        now = self.clock()
        old = self.strikes.get(client)
        count = 1 if old is None or now - old.last > STRIKE_MEMORY_S else old.count + 1
        penalty = min(self.penalty_s * 2 ** (count - 1), MAX_PENALTY_S)
        self.strikes[client] = _Strikes(count, now + penalty, now)
        if len(self.strikes) > MAX_TRACKED_CLIENTS:
            self.strikes = {
                c: s for c, s in self.strikes.items() if s.refused_until > now or now - s.last <= STRIKE_MEMORY_S
            }


class LetterReader:
    """The gate in front of a contained worker pool, started on the first letter and closed with the app."""

    def __init__(self, gate: LetterGate, workers: int | None = None) -> None:
        self.gate, self.workers = gate, workers
        self._pool = None

    async def parse(self, client: str, data: bytes):
        """(letter, None), (None, reason) for a letter the parser rejects, or a Refusal."""
        from features.letter import Letter

        refusal = self.gate.admit(client)
        if refusal is not None:
            return refusal
        contained = False
        try:
            pool = self._started()
            future = pool.submit(data)
            waiting = asyncio.wrap_future(future)
            await asyncio.wait([waiting])
            if not waiting.cancelled():
                waiting.exception()  # read here (else asyncio logs it as never retrieved); outcome() reports it
            outcome = pool.outcome(future)
            contained = bool(outcome.get("contained"))
        finally:
            self.gate.release(client, contained)
        if not outcome["ok"]:
            return None, outcome["reason"]
        return Letter.model_validate(outcome["letter"]), None

    def _started(self):
        if self._pool is None:
            from features.contain import ContainedPool, default_workers

            self._pool = ContainedPool(workers=self.workers or min(2, default_workers()))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def letter_bytes(request: Request) -> bytes | JSONResponse:
    """The uploaded letter's bytes (multipart field `file`, or a raw PDF or text body), or the error."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return error_response(
                    ("body", "file"), "a multipart upload needs the letter in a file field named 'file'", "missing"
                )
            return await upload.read()
    if content_type in LETTER_TYPES:
        return await request.body()
    return error_response(
        ("header", "content-type"),
        f"send the letter as multipart/form-data (field 'file'), "
        f"application/pdf or text/plain, not {named_media_type(content_type)}",
        "unsupported_media_type",
        status=415,
    )


def named_media_type(content_type: str) -> str:
    """The content type quoted in an error only when it is a plain media type: a header is client
    text too, and anything else in it is not repeated."""
    if not content_type:
        return "no content type"
    return repr(content_type) if _MEDIA_TYPE.fullmatch(content_type) else "that content type"


_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,63}/[a-z0-9][a-z0-9.+-]{0,63}")
