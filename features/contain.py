"""Containment: letters are extracted and parsed in worker processes, each with a time limit and
an address-space limit, so a decompression bomb, a hang or a PDFium crash rejects that one file
and the pool carries on (pebble replaces a dead worker).

Workers are spawned, not forked: a fork of a server or trainer would inherit torch and its huge
address space (the memory limit could not be met) and any threads' locks. They are born with SIGINT
blocked and ignore it once started, and the parent never stops half-way through launching one:
Ctrl-C reaches the whole process group, and is the parent's to handle, so no worker prints a
traceback however early it comes.
"""

from __future__ import annotations

import atexit
import math
import os
import resource
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from features.work import parse_bytes

TIMEOUT_S = 30.0  # the bundled letters take ~10 ms each; a PDF that needs 30 s is hostile or broken
MEMORY_MIB = 1024  # address space per worker; the bundled letters need < 200 MiB
# A worker takes ~50 MiB of address space before it reads a letter (Python, pebble, the parser and
# PDFium loaded); under a limit near that it cannot start at all. 128 MiB leaves room for a letter
# (all 147 bundled PDFs parse at 56 MiB) and for a heavier build of those libraries.
MIN_MEMORY_MIB = 128
CHUNK = 16  # files per task: ~50 ms of work, so messaging costs little
MAX_TASKS = 2_000  # tasks (chunks) before a worker is replaced, so a slow leak cannot build up

T = TypeVar("T")


def default_workers() -> int:
    """The cores this process may run on: the most workers a pool starts (parsing is CPU-bound, so
    more would only cost memory and start-up time)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_limits(timeout_s: float, memory_mib: int) -> None:
    """ValueError naming the limit that no worker could work within."""
    if not (timeout_s > 0 and math.isfinite(timeout_s)):
        raise ValueError(f"the time limit per file must be more than 0 seconds, got {timeout_s}")
    if memory_mib < MIN_MEMORY_MIB:
        raise ValueError(f"the memory limit per worker must be at least {MIN_MEMORY_MIB} MiB, got {memory_mib}")


class _QuietStartProcess(SpawnProcess):
    """A spawned worker launched with SIGINT and SIGTERM held off (_held_off_signals)."""

    def start(self) -> None:
        with _held_off_signals():
            super().start()


@contextmanager
def _held_off_signals() -> Iterator[None]:
    """While a worker is launched: SIGINT blocked in this thread, so the child inherits the blocked
    mask and a Ctrl-C during its start-up (imports, unpickling: a second or more) waits until
    _init_worker discards it, rather than raising KeyboardInterrupt there (CPython starts its
    resource tracker the same way, multiprocessing.resource_tracker). And, on the main thread,
    the Python handlers of both signals deferred to the end: raised in the middle of the launch,
    they would leave a child that never gets its start-up data and prints an EOFError."""
    deferred: list[int] = []
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if handler is not None:  # None: set outside Python, left as it is
                previous[signum] = signal.signal(signum, lambda n, frame: deferred.append(n))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(deferred):
            signal.raise_signal(signum)  # to the handler it was meant for, now the launch is done


class _QuietSpawnContext(SpawnContext):
    Process = _QuietStartProcess


def _init_worker(memory_bytes: int) -> None:
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # Ctrl-C is the parent's to handle: ignored here, which also discards one that came while the
    # worker was starting (blocked until now, see _QuietStartProcess)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    import pypdfium2  # noqa: F401  (load PDFium once per worker, not in the first file's time limit)


class ContainedPool:
    """A process pool whose task outcomes are always a dict: the task's own, or
    {"ok": False, "reason", "contained": True} when the worker hung, died or raised. It starts
    at most one worker per core, whatever `workers` asks for."""

    def __init__(
        self,
        workers: int | None = None,
        timeout_s: float = TIMEOUT_S,
        memory_mib: int = MEMORY_MIB,
        task: Callable[..., dict] = parse_bytes,
    ):
        _check_limits(timeout_s, memory_mib)
        self.workers = min(workers or default_workers(), default_workers())
        self.timeout_s, self.memory_mib, self.task = timeout_s, memory_mib, task
        self._pool = ProcessPool(
            max_workers=self.workers,
            max_tasks=MAX_TASKS,
            initializer=_init_worker,
            initargs=(memory_mib * 1024 * 1024,),
            context=_QuietSpawnContext(),
        )

    def submit(self, *args: Any) -> Future:
        return self._pool.schedule(self.task, args=args, timeout=self.timeout_s)

    def outcome(self, future: Future) -> dict:
        try:
            return future.result()
        except FutureTimeout:
            reason = f"took longer than {self.timeout_s:g} s to extract and parse (hostile or broken file?)"
            return {"ok": False, "reason": reason, "contained": True, "timed_out": True}
        except ProcessExpired as exc:
            how = (
                f"signal {signal.Signals(-exc.exitcode).name}"
                if exc.exitcode and exc.exitcode < 0
                else f"exit status {exc.exitcode}"
            )
            reason = (
                f"the worker reading it died ({how}): over the {self.memory_mib} MiB memory limit "
                f"(decompression bomb?) or a crash in the PDF library"
            )
        except MemoryError:
            reason = f"over the {self.memory_mib} MiB memory limit while reading it (decompression bomb?)"
        except Exception as exc:  # a parser bug must not stop the run; its message may quote the letter
            reason = f"the parser failed unexpectedly ({type(exc).__name__})"
        return {"ok": False, "reason": reason, "contained": True}

    def imap(
        self, jobs: Iterable[tuple[T, tuple | None]], window: int | None = None, chunk: int = CHUNK
    ) -> Iterator[tuple[T, dict | None]]:
        """(tag, outcome) in the order of `jobs`, with at most `window` files in flight (memory
        stays flat however many files there are). A job whose args are None is not run: its
        outcome is None, yielded in its place in the order.

        Files go to the workers `chunk` at a time: one message per file would cost as much as
        parsing it. A chunk that hangs, dies or runs out of memory is run again file by file,
        so each file still gets its own time and memory limit and only the culprit is rejected."""
        window = window or self.workers * chunk * 4
        pending: deque[_Slot] = deque()
        batch: list[_Slot] = []
        for tag, args in jobs:
            slot = _Slot(tag, args)
            pending.append(slot)
            if args is not None:
                batch.append(slot)
                if len(batch) >= chunk:
                    _Chunk(self, batch)
                    batch = []
            while pending and (pending[0].ready() or len(pending) > window):
                if pending[0].chunk is None and pending[0].args is not None:
                    _Chunk(self, batch)
                    batch = []
                head = pending.popleft()
                yield head.tag, head.outcome()
        if batch:
            _Chunk(self, batch)
        while pending:
            head = pending.popleft()
            yield head.tag, head.outcome()

    def close(self) -> None:
        self._pool.stop()
        self._pool.join()

    def __enter__(self) -> ContainedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_chunk(task: Callable[..., dict], chunk: list[tuple]) -> list[dict]:
    """Runs in a worker: each file's outcome; a Python exception rejects its file only."""
    out = []
    for args in chunk:
        try:
            out.append(task(*args))
        except MemoryError:
            out.append(
                {
                    "ok": False,
                    "reason": "over the memory limit while reading it (decompression bomb?)",
                    "contained": True,
                }
            )
        except Exception as exc:  # noqa: BLE001  (the message may quote the letter: only the type)
            out.append(
                {"ok": False, "reason": f"the parser failed unexpectedly ({type(exc).__name__})", "contained": True}
            )
    return out


class _Chunk:
    """Files sent to a worker as one task; their outcomes once it is done."""

    def __init__(self, pool: ContainedPool, slots: list[_Slot]):
        self.pool, self.args = pool, [slot.args for slot in slots]
        self.future = pool._pool.schedule(_run_chunk, args=(pool.task, self.args), timeout=pool.timeout_s)
        self.outcomes: list[dict] | None = None
        for index, slot in enumerate(slots):
            slot.chunk, slot.index = self, index

    def outcome(self, index: int) -> dict:
        if self.outcomes is None:
            result = self.pool.outcome(self.future)
            if isinstance(result, list):
                self.outcomes = result
            else:  # the chunk hung or its worker died: find the culprit, one file per task
                self.outcomes = [self.pool.outcome(self.pool.submit(*args)) for args in self.args]
            self.args = []
        return self.outcomes[index]


class _Slot:
    __slots__ = ("tag", "args", "chunk", "index")

    def __init__(self, tag, args: tuple | None):
        self.tag, self.args, self.chunk, self.index = tag, args, None, 0

    def ready(self) -> bool:
        return self.args is None or (self.chunk is not None and self.chunk.future.done())

    def outcome(self) -> dict | None:
        return None if self.args is None else self.chunk.outcome(self.index)


_shared: ContainedPool | None = None
_shared_lock = threading.Lock()


def parse_contained(data: bytes):
    """(Letter, None) or (None, reason) for one letter's bytes, through a small shared pool that
    lives as long as the process (the HTTP letter route and other one-at-a-time callers)."""
    from features.letter import Letter

    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ContainedPool(workers=min(2, default_workers()))
            atexit.register(_shared.close)
    result = _shared.outcome(_shared.submit(data))
    if not result["ok"]:
        return None, result["reason"]
    return Letter.model_validate(result["letter"]), None
