"""Where models and runs are tracked: the one definition of the MLflow tracking URI and of the default
experiment, and the one function that points MLflow at them (`open_store`), called by serving (to
resolve models:/ URIs) and by training (to log runs, list them and open the UI on them)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# MLflow's switch for its "Downloading artifacts" / "Uploading artifacts" bars.
ARTIFACT_BARS_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
EXPERIMENT = "imr-outcome"  # the experiment runs are tracked in, unless a config's mlflow.experiment names another


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else a SQLite store in the project root (current MLflow
    refuses the old ./mlruns file store by default). In a process other than the first of a
    multi-process launch, a throwaway store of its own (_secondary_process_store)."""
    if not is_first_process():
        return _secondary_process_store()
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"


def is_first_process() -> bool:
    """False in the processes after the first of a multi-process launch (torchrun and accelerate
    launch set RANK): they take part in training, but what a run records and reports is the first's."""
    return int(os.environ.get("RANK", "0")) == 0


@cache
def _secondary_process_store() -> str:
    """Under torchrun or accelerate launch (which set RANK), every process runs the same `imr train`
    and takes part in each fine-tuning, but only rank 0's runs and model versions are kept: the
    others track into a temporary SQLite store, removed when the process exits."""
    folder = tempfile.mkdtemp(prefix=f"imr-rank{os.environ['RANK']}-mlflow-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f"sqlite:///{folder}/mlflow.db"


def is_local_store(uri: str | None = None) -> bool:
    """A SQLite or file store on this machine: its artifacts are local files, copied in milliseconds."""
    uri = uri or tracking_uri()
    if uri in ("databricks", "databricks-uc", "uc"):  # MLflow's names for hosted stores, with no scheme
        return False
    scheme = urlparse(uri).scheme
    return scheme in ("", "file", "sqlite") or len(scheme) == 1  # no scheme: a path; one letter: a Windows drive


def quiet_local_artifact_bars() -> None:
    """No artifact progress bar for a local store (it would flash for every model loaded or logged);
    a remote store keeps it, and so does a user's own MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR."""
    if is_local_store():
        os.environ.setdefault(ARTIFACT_BARS_ENV, "false")


def open_store(experiment: str | None = None, tags: Mapping[str, str] | None = None, keep: Collection[str] = ()) -> str:
    """Point MLflow's tracking and model registry at tracking_uri() and return it: the one place both
    are set. With `experiment`, also make it the active experiment: created when missing (a SQLite
    store's artifacts beside its database file) with `tags`, or given the tags it lacks or has
    otherwise; a tag named in `keep` that it already has (a note a user edited) is left as it is."""
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if experiment is None:
        return uri
    tags = dict(tags or {})
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is None:
        mlflow.create_experiment(experiment, artifact_location=_artifact_location(uri), tags=tags)
    else:
        client = mlflow.MlflowClient()
        for key, value in tags.items():
            if key in keep and key in existing.tags:
                continue
            if existing.tags.get(key) != value:
                client.set_experiment_tag(existing.experiment_id, key, value)
    mlflow.set_experiment(experiment)
    return uri


def _artifact_location(uri: str) -> str | None:
    """Artifacts of a SQLite store go beside the database file, not into whatever folder the
    command happened to run in; a tracking server decides for itself."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return None
