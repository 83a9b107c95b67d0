"""MLflow set-up and the logging every run shares."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow

from serving.store import tracking_uri

# A model-development experiment (MLflow's value for "Machine learning"), not a GenAI one.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
EXPERIMENT_NOTE = """Forecasts of IMR outcomes (P(Overturned)) from Final Determination Letters.

- One top-level run per trained config, named `<family>-<key choices>-<mode>-<calibration>-<config hash>`;
  its description says what was trained, on which letters, and its headline result.
- `Headline/*` metrics hold the run's headline numbers (out-of-fold AUROC, PR-AUC, Brier skill with 95% CIs,
  ECE, the category reference, the paired difference against the baseline) and sort first.
- Nested runs: cross-validation folds, domain adaptation and fine-tuning (Trainer arguments and losses).
- The saved view `imr-headline` shows the top-level runs with the headline columns, best AUROC first.
"""


def setup(experiment: str) -> str:
    from training.ui_views import VIEW_TAG, headline_view_state

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    tags = {**EXPERIMENT_KIND, VIEW_TAG: headline_view_state(), "mlflow.note.content": EXPERIMENT_NOTE}
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is None:
        mlflow.create_experiment(experiment, artifact_location=_artifact_location(uri), tags=tags)
    else:  # experiments made before these tags existed get them too; a user's own note is kept
        client = mlflow.MlflowClient()
        for key, value in tags.items():
            if key == "mlflow.note.content" and key in existing.tags:
                continue
            if existing.tags.get(key) != value:
                client.set_experiment_tag(existing.experiment_id, key, value)
    mlflow.set_experiment(experiment)
    return uri


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


def _artifact_location(uri: str) -> str | None:
    """Artifacts of a SQLite store go beside the database file, not into whatever folder the
    command happened to run in; a tracking server decides for itself."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return None


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
