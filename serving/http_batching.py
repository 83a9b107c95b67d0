"""Adaptive batching for `imr serve`: requests that arrive while the model is busy are scored
together in one `Predictor.predict` call.

Scoring one item costs the baseline mostly fixed per-call overhead (a pandas frame, the
ColumnTransformer, input checks), so eight single-item requests scored as one batch of eight
cost little more than one. An idle server scores a request at once; a busy one scores next
everything queued behind the running call, after waiting at most `max_wait_ms` for as many
requests as its last batch held (without that wait, batches under a steady load alternate
between one request and all the others). Calls run on one
dedicated thread, so the event loop keeps answering (/health included) while a model scores,
and a transformer never runs two forward passes at once on a small machine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("imr.serve")


class BatchingScorer:
    def __init__(self, predictor, max_batch_items: int = 64, max_wait_ms: float = 2.0):
        self.predictor = predictor
        self.max_batch_items = max_batch_items
        self.max_wait = max_wait_ms / 1000
        self._jobs: deque[tuple[Sequence[Mapping[str, Any]], asyncio.Future]] = deque()
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imr-score")
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="imr-batching-scorer")

    async def predict(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The predictor's rows for `records`, in order (scored, perhaps, with other requests' items)."""
        if not records:
            return []
        future = asyncio.get_running_loop().create_future()
        self._jobs.append((records, future))
        self._wakeup.set()
        return await future

    async def close(self) -> None:
        self._worker.cancel()
        try:
            await self._worker
        except asyncio.CancelledError:
            pass
        for _, future in self._jobs:
            if not future.done():
                future.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _take_batch(self) -> list[tuple[Sequence[Mapping[str, Any]], asyncio.Future]]:
        """The oldest job, then more in arrival order while the items fit the cap."""
        batch = [self._jobs.popleft()]
        size = len(batch[0][0])
        while self._jobs and size + len(self._jobs[0][0]) <= self.max_batch_items:
            job = self._jobs.popleft()
            batch.append(job)
            size += len(job[0])
        return [(records, future) for records, future in batch if not future.done()]  # drop cancelled

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_requests = 0
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._jobs:
                if last_requests > 1 and self.max_wait > 0:
                    await self._linger(loop, last_requests)
                batch = self._take_batch()
                if batch:
                    last_requests = len(batch)
                    await self._score(loop, batch)

    async def _linger(self, loop, expected: int) -> None:
        """Under load, wait up to max_wait for as many requests as the last batch held: their
        clients are likely sending again, and a call for one item costs nearly as much as a call
        for eight. An idle server (last batch of one request) never waits."""
        deadline = loop.time() + self.max_wait
        while len(self._jobs) < expected and sum(len(r) for r, _ in self._jobs) < self.max_batch_items:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return

    async def _score(self, loop, batch) -> None:
        records = [r for job_records, _ in batch for r in job_records]
        start = time.perf_counter()
        try:
            rows = await loop.run_in_executor(self._executor, self.predictor.predict, records)
        except Exception:
            if len(batch) == 1:
                _settle(batch[0][1], exc=_scoring_failed())
                return
            # one request's items broke the shared call: score each request alone
            for job_records, future in batch:
                try:
                    rows = await loop.run_in_executor(self._executor, self.predictor.predict, job_records)
                    _settle(future, rows=rows)
                except Exception:
                    _settle(future, exc=_scoring_failed())
            return
        log.debug(
            "scored %d items of %d requests in %.1f ms", len(records), len(batch), (time.perf_counter() - start) * 1000
        )
        offset = 0
        for job_records, future in batch:
            _settle(future, rows=rows[offset : offset + len(job_records)])
            offset += len(job_records)


class ScoringError(RuntimeError):
    """The model failed on a valid request; the cause is logged by type only (its message may quote inputs)."""


def _scoring_failed() -> ScoringError:
    import sys

    from serving.http_middleware import log_exception_type

    exc = sys.exc_info()[1]
    log_exception_type("scoring failed", exc)
    return ScoringError(f"the model failed to score the request ({type(exc).__qualname__})")


def _settle(future: asyncio.Future, rows=None, exc: BaseException | None = None) -> None:
    if future.done():  # the client went away
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(rows)
