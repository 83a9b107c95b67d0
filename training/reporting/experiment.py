"""The experiment a run is tracked in, as a reader finds it in the MLflow UI: a model-development
experiment (not a GenAI one), its description, and the saved headline view of its runs
(training.reporting.ui_views)."""

from __future__ import annotations

from serving.store import open_store
from training.reporting.run_info import NOTE_TAG
from training.reporting.ui_views import COMPARE_TAG, VIEW_TAG, compare_view_state, headline_view_state

# A model-development experiment (MLflow's value for "Machine learning"), not a GenAI one.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
EXPERIMENT_NOTE = """Forecasts of IMR outcomes (P(Overturned)) from Final Determination Letters.

- One top-level run per trained config, named `<family>-<key choices>-<mode>-<calibration>-<config hash>`,
  tagged `family`; its description says what was trained, on which letters, and its headline result.
- Its headline figures as text tags, rounded, each with its 95% CI in one cell: `AUROC within fold` (pairs
  of items held out in the same fold), `AUROC pooled` (every fold's scores together), `Brier skill`, and
  the same under writer shift. `Headline/*` metrics hold the same numbers (3 decimals) and sort first.
- Nested runs: cross-validation folds, domain adaptation and fine-tuning (Trainer arguments and losses).
- `promote-*` runs: what `imr promote` compared (table, reason, forest chart) when it set `@champion`.
- The saved view `imr-headline` shows the top-level runs with those columns, best first by the champion
  rule (the lower 95% bound of the within-fold AUROC under writer shift); `imr-compare` opens the chart
  view on bar charts of the same figures.
"""


def experiment_tags() -> dict[str, str]:
    return {
        **EXPERIMENT_KIND,
        VIEW_TAG: headline_view_state(),
        COMPARE_TAG: compare_view_state(),
        NOTE_TAG: EXPERIMENT_NOTE,
    }


def open_experiment(experiment: str) -> str:
    """The tracking store opened on `experiment` with its tags (experiments made before a tag existed
    get it too; a user's own note is kept); returns the tracking URI."""
    return open_store(experiment, tags=experiment_tags(), keep=(NOTE_TAG,))
