"""The headline metrics of a run: what a reader compares first.

The metric names themselves are built where they are defined (training.metrics.out_of_fold for
cross-validation, training.metrics.binary and training.metrics.bootstrap for one split). MLflow's UI
lists a run's metrics in plain string order, where `cv_roc_auc` comes after two dozen secondary metrics, so a
top-level run also logs its headline metrics under the `Headline/` group: an upper-case letter
sorts before every lower-case name, and MLflow's charts give the group its own section. The value
under `Headline/<name>` is always the value of `<name>`.
"""

from __future__ import annotations

import math

from training.metrics import out_of_fold as cv_metrics

GROUP = "Headline/"


def _with_ci(prefix: str, name: str) -> list[str]:
    return [f"{prefix}{name}", f"{prefix}{name}_ci_low", f"{prefix}{name}_ci_high"]


# The reference models runs are paired against (training.families.registry: `references`): the default
# baseline for a transformer, the members for an ensemble.
REFERENCES = ("baseline", "transformer")


def headline_keys(mode: str) -> list[str]:
    """In reading order: discrimination, then calibration, then the same under writer shift (when
    the run has it), the references and the paired differences against the reference models (when
    the run has them), letter folds then writer-shift folds."""
    if mode == "cv":
        m, w = cv_metrics.MODEL, cv_metrics.WRITER
        return [
            *_with_ci(m, "roc_auc"),
            *_with_ci(m, "pr_auc"),
            *_with_ci(m, "brier_skill"),
            f"{m}ece",
            *_with_ci(w, "roc_auc"),
            *_with_ci(w, "brier_skill"),
            f"{cv_metrics.REF_CATEGORY}roc_auc",
            *[
                key
                for prefix in (m, w)
                for name in REFERENCES
                for metric in ("roc_auc", "brier_skill")
                for key in _with_ci(f"{prefix}diff_vs_{name}_", metric)
            ],
        ]
    return [
        *_with_ci("test_", "roc_auc"),
        *_with_ci("test_", "pr_auc"),
        "test_brier",
        "test_ece",
        "ref_category_test_roc_auc",
        *[key for name in REFERENCES for key in _with_ci("test_", f"roc_auc_diff_vs_{name}")],
    ]


def headline_metrics(metrics: dict[str, float], mode: str) -> dict[str, float]:
    """`Headline/<name>` for each headline metric the run has (NaN ones too: they must show as such)."""
    return {f"{GROUP}{k}": metrics[k] for k in headline_keys(mode) if k in metrics}


def point_estimates(metrics: dict[str, float], mode: str) -> dict[str, float]:
    """The headline values without their interval ends (for registry tags)."""
    return {
        k: metrics[k]
        for k in headline_keys(mode)
        if k in metrics and not k.endswith(("_ci_low", "_ci_high")) and math.isfinite(metrics[k])
    }
