"""The MLflow logging every run shares (params, datasets, figures) and the stage timer. The store itself
is opened by serving.store.open_store (for a run: training.reporting.experiment.open_experiment)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow


@contextmanager
def top_level_run(name: str) -> Iterator[mlflow.ActiveRun]:
    """mlflow.start_run for a training run, except that an interrupt (Ctrl-C, SIGINT) ends it, and any
    nested run left open, as KILLED (MLflow's own exit would say FAILED) and notes so on the
    KeyboardInterrupt for `imr train` to report."""
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
    """Each split as an MLflow dataset (schema, profile and digest; the rows stay on disk)."""
    import warnings

    import mlflow.data

    for split, ds in dsd.items():
        if ds.num_rows == 0:  # mlflow.data cannot describe an empty table; the ingest report counts it
            continue
        # Schema hints about nullable ints and ambiguous local sources; log_input infers the schema
        # again, so it sits inside too. The splits are never used as a model's input example.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(
                ds.to_pandas(), source=",".join(sources), targets="label", name=f"imr-letters-{split}"
            )
            mlflow.log_input(dataset, context=split)


def log_figures(figs: dict, folder: str) -> None:
    import matplotlib.pyplot as plt

    for name, fig in figs.items():
        mlflow.log_figure(fig, f"{folder}/{name}")
        plt.close(fig)


class StageTimer:
    """Wall-clock seconds per stage of a run (load, folds, metrics, refit, ...), which
    benchmarks/bench_train.py prints. `mark(name)` switches the current stage (one line between
    steps of a run); `with stage(name):` nests one inside it, whose time the outer stage does not
    count (a fold's MLflow calls inside `folds`), so the stages add up to at most the run's time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._open: list[list] = []  # [name, when its clock last (re)started], innermost last

    def _pause(self, now: float) -> None:
        if self._open:
            self.seconds[self._open[-1][0]] += now - self._open[-1][1]

    @property
    def current(self) -> str | None:
        """The innermost open stage (a benchmark samples memory per stage by it)."""
        return self._open[-1][0] if self._open else None

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self._pause(now)
        if self._open:
            self._open[-1] = [name, now]
        else:
            self._open.append([name, now])

    def stop(self) -> dict[str, float]:
        """Close every open stage; the seconds so far."""
        self._pause(time.perf_counter())
        self._open.clear()
        return dict(self.seconds)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        now = time.perf_counter()
        self._pause(now)
        self._open.append([name, now])
        try:
            yield
        finally:
            now = time.perf_counter()
            self._pause(now)
            self._open.pop()
            if self._open:
                self._open[-1][1] = now


# The process's one timer: training code marks its stages (`stage.mark("metrics")`, `with stage("folds"):`).
stage = StageTimer()
