"""The experiment a run is tracked in, as a reader finds it in the MLflow UI: a model-development
experiment (not a GenAI one), its description, and the saved headline view of its runs
(training.reporting.ui_views)."""

from __future__ import annotations

from serving.store import open_store
from training.reporting.run_info import NOTE_TAG
from training.reporting.ui_views import VIEW_TAG, headline_view_state

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


def experiment_tags() -> dict[str, str]:
    return {**EXPERIMENT_KIND, VIEW_TAG: headline_view_state(), NOTE_TAG: EXPERIMENT_NOTE}


def open_experiment(experiment: str) -> str:
    """The tracking store opened on `experiment` with its tags (experiments made before a tag existed
    get it too; a user's own note is kept); returns the tracking URI."""
    return open_store(experiment, tags=experiment_tags(), keep=(NOTE_TAG,))
