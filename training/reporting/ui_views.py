"""Links into the MLflow UI that open on what a user compares: the experiment's training runs with
their headline metric columns, and the compare view of chosen runs.

MLflow 3.17's UI opens an experiment on the GenAI overview unless the URL (or the browser's saved
choice) says `workflowType=machine_learning`; the experiment's `mlflow.experimentKind` tag is
set too (training.reporting.experiment), for the UI's experiment list and for MLflow versions that read it.
The runs table shows no metric column until one is chosen; a *shared view* fixes that for every
browser: an experiment tag `mlflow.sharedViewState.<key>` holding the table's state as JSON
(the UI falls back to plain JSON when the value is not compressed), opened with
`?viewStateShareKey=<key>`. tests/training/reporting/test_ui_browser.py checks both against the real UI.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from training.reporting.headline import GROUP, headline_keys

VIEW_KEY = "imr-headline"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
WORKFLOW = "workflowType=machine_learning"
RUN_NAME_COLUMN = "attributes.`Run Name`"


def metric_column(name: str) -> str:
    return f"metrics.`{name}`"


def headline_columns(mode: str = "cv") -> list[str]:
    return [metric_column(f"{GROUP}{k}") for k in headline_keys(mode)]


def headline_view_state(mode: str = "cv") -> str:
    """Top-level runs only (fold and stage runs are nested), best AUROC first, the headline
    columns in reading order, and a run-name column wide enough for descriptive names."""
    columns = headline_columns(mode)
    # The UI applies widths only to the columns listed in columnOrder, the run name's included.
    widths = {RUN_NAME_COLUMN: 430, **{c: 12 + 7 * len(c.removeprefix("metrics.`")) for c in columns}}
    state = {
        "searchFilter": "tags.`mlflow.parentRunId` IS NULL",
        "orderByKey": columns[0],
        "orderByAsc": False,
        "selectedColumns": columns,
        "columnOrder": [RUN_NAME_COLUMN, *columns],
        "columnWidths": widths,
    }
    return json.dumps(state, separators=(",", ":"))


def runs_page_url(base: str, experiment_id: str) -> str:
    return f"{base}/#/experiments/{experiment_id}/runs?viewStateShareKey={VIEW_KEY}&{WORKFLOW}"


def compare_url(base: str, experiment_id: str, run_ids: list[str]) -> str:
    runs = quote(json.dumps(run_ids, separators=(",", ":")), safe="")
    experiments = quote(json.dumps([experiment_id]), safe="")
    return f"{base}/#/compare-runs?runs={runs}&experiments={experiments}&{WORKFLOW}"
