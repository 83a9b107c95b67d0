"""The MLflow logging every run shares (params, datasets, figures), the stage timer and progress lines.
The store itself is opened by serving.store.open_store (for a run: training.reporting.experiment.open_experiment).
MLflow is imported where it is used: fold and corpus workers import this module and never log."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def top_level_run(name: str) -> Iterator:
    """mlflow.start_run for a training run, except that an interrupt (Ctrl-C, SIGINT) ends it, and any
    nested run left open, as KILLED (MLflow's own exit would say FAILED) and notes so on the
    KeyboardInterrupt for `imr train` to report."""
    import mlflow

    with mlflow.start_run(run_name=name) as run:
        try:
            yield run
        except KeyboardInterrupt as exc:
            while (active := mlflow.active_run()) is not None:
                mlflow.end_run("KILLED")
                if active.info.run_id == run.info.run_id:
                    break
            exc.add_note(f"run {run.info.run_id} ended as KILLED")
            raise


def flat_params(tree: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


def log_splits(dsd, sources: list[str]) -> None:
    """Each split as an MLflow dataset (schema, profile and digest; the rows stay on disk). MLflow's
    Hugging Face dataset reads only the first 10,000 rows (its digest and schema) and counts the
    rest: what is logged, and what is read to log it, does not grow with the corpus."""
    import warnings

    import mlflow.data.huggingface_dataset

    for split, ds in dsd.items():
        if ds.num_rows == 0:  # mlflow.data cannot describe an empty table; the ingest report counts it
            continue
        # Schema hints about nullable ints and ambiguous local sources; log_input infers the schema
        # again, so it sits inside too. The splits are never used as a model's input example.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.huggingface_dataset.from_huggingface(
                ds, source=",".join(sources), targets="label", name=f"imr-letters-{split}"
            )
            mlflow.log_input(dataset, context=split)


# Items whose out-of-fold predictions a run logs (oof_predictions.parquet): all of a corpus up to this
# size, else the items of a fixed sample of letters that holds at most this many.
OOF_ITEMS_LOGGED = 20_000


def letter_sample(letter_ids, cap: int | None = None, salt: str = "logged") -> np.ndarray:
    """Positions of the items to log: every one when there are at most `cap`, else those of the
    letters first in a hash order of their ids (stable: a letter is in or out whatever else the
    corpus holds) while their items fit in `cap`. Whole letters, so by-letter curves stay valid."""
    from features.dataset import letter_unit

    cap = OOF_ITEMS_LOGGED if cap is None else cap
    letter_ids = np.asarray(letter_ids)
    if len(letter_ids) <= cap:
        return np.arange(len(letter_ids))
    letters, inverse, sizes = np.unique(letter_ids, return_inverse=True, return_counts=True)
    order = np.argsort([letter_unit(str(key), salt) for key in letters], kind="stable")
    taken = order[np.cumsum(sizes[order]) <= cap]
    return np.flatnonzero(np.isin(inverse, taken))


_quiet = [0]  # > 0 while inside quiet_steps()


@contextmanager
def quiet_steps() -> Iterator[None]:
    """No progress of the steps inside (a cross-validation fold's fit: the folds' own bar counts them)."""
    _quiet[0] += 1
    try:
        yield
    finally:
        _quiet[0] -= 1


def progress(total: int, desc: str, unit: str):
    """A progress bar with an ETA on a terminal (tqdm); elsewhere (a log file, a pipe) one line when
    the step ends: `desc: N unit in S s`; nothing inside quiet_steps()."""
    import sys

    from tqdm.auto import tqdm

    if _quiet[0]:
        return tqdm(total=total, disable=True)
    if sys.stderr.isatty():
        return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, smoothing=0.1)
    return _StepLine(total, desc, unit)


class _StepLine:
    """tqdm's update/close/context interface, printing one line at the end."""

    def __init__(self, total: int, desc: str, unit: str):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        self.start = time.perf_counter()
        self.postfix = ""

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def close(self) -> None:
        import sys

        if self.start is None:
            return
        extra = f" ({self.postfix})" if self.postfix else ""
        print(
            f"{self.desc}: {self.n:,} {self.unit} in {time.perf_counter() - self.start:.1f} s{extra}", file=sys.stderr
        )
        self.start = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def log_figures(figs: dict, folder: str) -> None:
    import matplotlib.pyplot as plt
    import mlflow

    for name, fig in figs.items():
        mlflow.log_figure(fig, f"{folder}/{name}")
        plt.close(fig)


class StageTimer:
    """Wall-clock seconds per stage of a run (load, folds, metrics, refit, ...), and this process's
    CPU seconds per stage (`cpu_seconds`: its worker processes' are not in them), which
    benchmarks/bench_train.py prints. `mark(name)` switches the current stage (one line between
    steps of a run); `with stage(name):` nests one inside it, whose time the outer stage does not
    count (a fold's MLflow calls inside `folds`), so the stages add up to at most the run's time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu_seconds: dict[str, float] = defaultdict(float)
        self._open: list[list] = []  # [name, (wall, cpu) when its clocks last (re)started], innermost last

    @staticmethod
    def _now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def _pause(self, now: tuple[float, float]) -> None:
        if self._open:
            name, (wall, cpu) = self._open[-1]
            self.seconds[name] += now[0] - wall
            self.cpu_seconds[name] += now[1] - cpu

    @property
    def current(self) -> str | None:
        """The innermost open stage (a benchmark samples memory per stage by it)."""
        return self._open[-1][0] if self._open else None

    def mark(self, name: str) -> None:
        now = self._now()
        self._pause(now)
        if self._open:
            self._open[-1] = [name, now]
        else:
            self._open.append([name, now])

    def stop(self) -> dict[str, float]:
        """Close every open stage; the seconds so far."""
        self._pause(self._now())
        self._open.clear()
        return dict(self.seconds)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        now = self._now()
        self._pause(now)
        self._open.append([name, now])
        try:
            yield
        finally:
            now = self._now()
            self._pause(now)
            self._open.pop()
            if self._open:
                self._open[-1][1] = now


# The process's one timer: training code marks its stages (`stage.mark("metrics")`, `with stage("folds"):`).
stage = StageTimer()
