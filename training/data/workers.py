"""Worker processes for work that splits into independent tasks (cross-validation folds, blocks of the
corpus): as many as `evaluation.n_jobs`, the cores and the memory allow.

The workers are joblib's loky processes (spawned, not forked: a fork of a trainer would inherit its
threads' locks and its address space) and are reused from one call to the next. A task is started
only while the memory available could hold one more worker at the largest peak a worker has had so
far (each sends its ru_maxrss back with its result); before any has, this process's own resident
memory is the estimate. Every task, in a worker or in this process, runs with one BLAS/OpenMP
thread: the workers are the parallelism, and a fit then sums in the same order wherever it runs, so
parallel results equal serial ones exactly.

Results come back in the order of the tasks, whatever order they finish in.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from typing import Any

from training.config import ConfigError

MEMORY_SHARE = 0.8  # of the available memory that workers may take


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def available_memory() -> int:
    """Bytes the kernel could give without swapping (MemAvailable), else the free pages."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def resident_memory() -> int:
    """This process's resident memory now, in bytes."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_memory()


def peak_memory() -> int:
    """This process's largest resident memory so far, in bytes: VmHWM, its address space's high-water
    mark (ru_maxrss would not do: a spawned worker inherits its parent's from before its exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _one_thread(fn: Callable, args: tuple) -> tuple[Any, int]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        result = fn(*args)
    return result, peak_memory()


def _result(future, at_once: int):
    """The task's result; a worker that died (killed for memory, most often) is one line naming the key."""
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    try:
        return future.result()
    except TerminatedWorkerError:
        raise ConfigError(
            f"evaluation.n_jobs: a worker process died with {at_once} running (out of memory?); "
            f"{available_memory() / 2**30:.1f} GiB available now: lower evaluation.n_jobs"
        ) from None


@dataclass
class Workers:
    """`map` runs tasks with up to `n_jobs` workers (1: in this process, one after another)."""

    n_jobs: int
    worker_peak: int = 0  # bytes: the largest peak a worker reported
    most_at_once: int = 0  # the most tasks that ran at the same time
    _limited_by_memory: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.n_jobs = max(1, min(self.n_jobs, cores()))

    def map(self, fn: Callable, tasks: Sequence[tuple], done: Callable[[int, Any], None] | None = None) -> list[Any]:
        """[fn(*task) for task in tasks]; `done(i, result)` is called as each finishes."""
        results: list[Any] = [None] * len(tasks)
        if self.n_jobs == 1 or len(tasks) <= 1:
            for i, task in enumerate(tasks):
                results[i], peak = _one_thread(fn, task)
                self.most_at_once = max(self.most_at_once, 1)
                if done:
                    done(i, results[i])
            return results
        from joblib.externals.loky import get_reusable_executor

        executor = get_reusable_executor(max_workers=min(self.n_jobs, len(tasks)))
        estimate = max(self.worker_peak, resident_memory())
        running: dict = {}
        queue = list(enumerate(tasks))[::-1]
        while queue or running:
            room = int(available_memory() * MEMORY_SHARE // max(estimate, 1))
            allowed = max(1, min(self.n_jobs, len(running) + room))
            self._limited_by_memory |= allowed < min(self.n_jobs, len(tasks))
            while queue and len(running) < allowed:
                i, task = queue.pop()
                running[executor.submit(_one_thread, fn, task)] = i
            self.most_at_once = max(self.most_at_once, len(running))
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                i = running.pop(future)
                results[i], peak = _result(future, len(running) + 1)
                self.worker_peak = max(self.worker_peak, peak)
                estimate = self.worker_peak
                if done:
                    done(i, results[i])
        return results

    def summary(self) -> str:
        memory = " (fewer: limited by the memory available)" if self._limited_by_memory else ""
        peak = f", {self.worker_peak / 2**20:.0f} MiB peak per worker" if self.worker_peak else ""
        return f"{self.most_at_once} at once of n_jobs {self.n_jobs}{memory}{peak}"
