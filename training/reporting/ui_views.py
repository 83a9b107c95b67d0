"""Links into the MLflow UI that open on what a user compares: the experiment's training runs with
their family and headline figures, and a chart view that compares the families.

MLflow 3.17's UI opens an experiment on the GenAI overview unless the URL (or the browser's saved
choice) says `workflowType=machine_learning`; the experiment's `mlflow.experimentKind` tag is
set too (training.reporting.experiment), for the UI's experiment list and for MLflow versions that read it.
The runs table shows no metric column until one is chosen; a *shared view* fixes that for every
browser: an experiment tag `mlflow.sharedViewState.<key>` holding the table's state as JSON
(the UI falls back to plain JSON when the value is not compressed), opened with
`?viewStateShareKey=<key>`. tests/training/reporting/test_ui_browser.py checks both against the real UI.

- `imr-headline` (the runs table): top-level runs, sorted by the champion rule's figure, with the
  `family` tag and the headline figures as text tags, each value rounded with its 95% CI in one cell
  (training.reporting.headline.headline_tags), so nothing shows 16 decimals or a CI split in two columns.
- `imr-compare` (the chart view, `compareRunsMode=CHART`): bar charts of the figures the champion rule
  and the trust sentence read, one bar per run, first; MLflow's own charts of every other metric follow.
  MLflow would otherwise open it on a parallel-coordinates plot of every param and metric. `imr promote`
  narrows it to the candidates it compared.
"""

from __future__ import annotations

import json

from training.reporting.headline import CI_TAGS, FAMILY_TAG, GROUP

VIEW_KEY = "imr-headline"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
COMPARE_KEY = "imr-compare"
COMPARE_TAG = f"mlflow.sharedViewState.{COMPARE_KEY}"
WORKFLOW = "workflowType=machine_learning"
RUN_NAME_COLUMN = "attributes.`Run Name`"
TOP_LEVEL = "tags.`mlflow.parentRunId` IS NULL"
# The champion rule's figure (training.reporting.champion), which both views sort by.
RULE_METRIC = f"{GROUP}cv_writer_within_fold_roc_auc_ci_low"
# The charts the compare view opens on, in order: the rule's figure, then what the trust sentence reads.
CHART_METRICS = [
    RULE_METRIC,
    f"{GROUP}cv_writer_within_fold_roc_auc",
    f"{GROUP}cv_within_fold_roc_auc",
    f"{GROUP}cv_brier_skill",
    f"{GROUP}cv_writer_brier_skill",
    f"{GROUP}cv_roc_auc",
]
CHART_SECTION = "Headline"  # MLflow files every other Headline/ metric's chart after ours, in this section


def metric_column(name: str) -> str:
    return f"metrics.`{name}`"


def tag_column(name: str) -> str:
    return f"tags.`{name}`"


def headline_columns(mode: str = "cv") -> list[str]:
    """The family, the headline figures as text with their CIs, and (cross-validation) the rule's figure."""
    columns = [tag_column(FAMILY_TAG), *(tag_column(name) for name in CI_TAGS[mode])]
    return columns + ([metric_column(RULE_METRIC)] if mode == "cv" else [])


def _table_state(search_filter: str, mode: str = "cv") -> dict:
    columns = headline_columns(mode)
    # The UI applies widths only to the columns listed in columnOrder, the run name's included.
    widths = {RUN_NAME_COLUMN: 430, tag_column(FAMILY_TAG): 110}
    widths |= {c: max(240, 12 + 7 * len(c)) for c in columns if c not in widths}
    return {
        "searchFilter": search_filter,
        "orderByKey": metric_column(RULE_METRIC if mode == "cv" else f"{GROUP}test_roc_auc"),
        "orderByAsc": False,
        "selectedColumns": columns,
        "columnOrder": [RUN_NAME_COLUMN, *columns],
        "columnWidths": widths,
    }


def headline_view_state(mode: str = "cv") -> str:
    """Top-level runs only (fold and stage runs are nested), best by the champion rule first, with the
    family and headline columns, and a run-name column wide enough for descriptive names."""
    return json.dumps(_table_state(TOP_LEVEL, mode), separators=(",", ":"))


def compare_view_state(run_ids: list[str] | None = None) -> str:
    """The chart view of the top-level runs (or of `run_ids` only) opening on CHART_METRICS."""
    search = f"attributes.run_id IN ({', '.join(repr(r) for r in run_ids)})" if run_ids else TOP_LEVEL
    section = "imr-headline-charts"
    charts = [
        {
            "uuid": f"imr-chart-{i}",
            "type": "BAR",
            "runsCountToCompare": 10,
            "metricSectionId": section,
            "deleted": False,
            "isGenerated": False,
            "metricKey": key,
        }
        for i, key in enumerate(CHART_METRICS)
    ]
    state = _table_state(search) | {
        "compareRunSections": [
            {"uuid": section, "name": CHART_SECTION, "display": True, "isReordered": True, "deleted": False}
        ],
        "compareRunCharts": charts,
        "isAccordionReordered": True,  # keep our section first
    }
    return json.dumps(state, separators=(",", ":"))


def runs_page_url(base: str, experiment_id: str) -> str:
    return f"{base}/#/experiments/{experiment_id}/runs?viewStateShareKey={VIEW_KEY}&{WORKFLOW}"


def compare_url(base: str, experiment_id: str) -> str:
    """The chart view of the `imr-compare` shared view."""
    return f"{base}/#/experiments/{experiment_id}/runs?viewStateShareKey={COMPARE_KEY}&compareRunsMode=CHART&{WORKFLOW}"
