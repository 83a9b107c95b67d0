"""Where models and runs are tracked: the one definition of the MLflow tracking URI, read by
serving (to resolve models:/ URIs) and by training (to log runs)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# MLflow's switch for its "Downloading artifacts" / "Uploading artifacts" bars.
ARTIFACT_BARS_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else a SQLite store in the project root (current MLflow
    refuses the old ./mlruns file store by default)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"


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
