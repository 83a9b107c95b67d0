"""Where models and runs are tracked: the one definition of the MLflow tracking URI, read by
serving (to resolve models:/ URIs) and by training (to log runs)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else a SQLite store in the project root (current MLflow
    refuses the old ./mlruns file store by default)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"
