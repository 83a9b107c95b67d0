"""A registered model version read from a SQLite registry without importing MLflow.

`import mlflow` costs 2-4 s of CPU on the 2-core development machine (its package imports its
tracking, GenAI and data modules eagerly) and opening its SQLAlchemy store about 1 s more: several
times what the baseline needs to score a request. Resolving models:/NAME@ALIAS or models:/NAME/VERSION
takes three rows, so for a `sqlite:///` tracking URI (serving.store.tracking_uri) they are read
here with Python's sqlite3, read-only, with the conditions MLflow's SqlAlchemyStore applies (the
`default` workspace; versions not deleted).

Whatever this cannot answer for certain comes back as None, and the caller asks MLflow
(serving.predictor): another kind of store, MLflow workspaces switched on, the `latest` alias, a
name, version or alias that is not there (MLflow's error then says what is missing), a database
that is busy or whose tables this query does not fit. tests/serving/test_model_cache.py checks
that the answers match MlflowClient's.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from serving.store import tracking_uri

log = logging.getLogger(__name__)

DEFAULT_WORKSPACE = "default"  # mlflow.utils.workspace_utils.DEFAULT_WORKSPACE_NAME
DELETED_STAGE = "Deleted_Internal"  # mlflow.entities.model_registry.model_version_stages.STAGE_DELETED_INTERNAL
LATEST_ALIAS = "latest"  # resolved by MLflow itself: the highest version, not an alias row
WORKSPACE_ENV = ("MLFLOW_ENABLE_WORKSPACES", "MLFLOW_WORKSPACE")

_BY_ALIAS = """
SELECT v.name, v.version, v.run_id FROM registered_model_aliases AS a
JOIN model_versions AS v ON v.workspace = a.workspace AND v.name = a.name AND v.version = a.version
WHERE a.workspace = ? AND a.name = ? AND a.alias = ? AND v.current_stage != ?
"""
_BY_VERSION = """
SELECT name, version, run_id FROM model_versions
WHERE workspace = ? AND name = ? AND version = ? AND current_stage != ?
"""
_TAG = "SELECT value FROM model_version_tags WHERE workspace = ? AND name = ? AND version = ? AND key = ?"


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str | None
    tags: dict[str, str]


def read_registered_version(model_uri: str, tag: str) -> RegisteredVersion | None:
    """The version models:/NAME@ALIAS or models:/NAME/VERSION names, with its tag `tag` when it has
    one, read straight from a SQLite registry; None when that cannot be done for certain."""
    ref = _registered_ref(model_uri)
    database = _sqlite_database(tracking_uri())
    if ref is None or database is None or any(os.environ.get(name) for name in WORKSPACE_ENV):
        return None
    name, alias, version = ref
    try:
        with closing(sqlite3.connect(f"file:{quote(str(database))}?mode=ro", uri=True, timeout=5)) as db:
            if alias is not None:
                row = db.execute(_BY_ALIAS, (DEFAULT_WORKSPACE, name, alias, DELETED_STAGE)).fetchone()
            else:
                row = db.execute(_BY_VERSION, (DEFAULT_WORKSPACE, name, int(version), DELETED_STAGE)).fetchone()
            if row is None:
                return None
            value = db.execute(_TAG, (DEFAULT_WORKSPACE, row[0], row[1], tag)).fetchone()
    except sqlite3.Error as exc:  # busy, or not the schema this reads: MLflow answers instead
        log.debug("registry read of %s left to MLflow: %s", model_uri, exc)
        return None
    tags = {tag: value[0]} if value is not None else {}
    return RegisteredVersion(row[0], str(row[1]), row[2] or None, tags)


def _registered_ref(model_uri: str) -> tuple[str, str | None, str | None] | None:
    """(name, alias, None) or (name, None, version) of a registered-model URI this module reads."""
    if not model_uri.startswith("models:/") or model_uri.startswith("models:/m-"):
        return None
    ref = model_uri.removeprefix("models:/")
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return (name, alias, None) if name and alias and alias.lower() != LATEST_ALIAS else None
    name, _, version = ref.rpartition("/")
    return (name, None, version) if name and version.isdigit() else None


def _sqlite_database(uri: str) -> Path | None:
    """The database file of a plain sqlite:///PATH URI that exists; None for anything else."""
    if not uri.startswith("sqlite:///") or "?" in uri:
        return None
    path = Path(uri.removeprefix("sqlite:///"))
    return path if path.is_file() else None
