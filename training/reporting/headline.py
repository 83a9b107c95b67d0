"""The headline metrics of a run: what a reader compares first.

The metric names themselves are built where they are defined (training.metrics.out_of_fold for
cross-validation, training.metrics.binary and training.metrics.bootstrap for one split). MLflow's UI
lists a run's metrics in plain string order, where `cv_roc_auc` comes after two dozen secondary metrics, so a
top-level run also logs its headline metrics under the `Headline/` group: an upper-case letter
sorts before every lower-case name, and MLflow's charts give the group its own section. The value
under `Headline/<name>` is always the value of `<name>`, rounded to 3 decimals (`<name>` keeps every
digit) so that a table of them can be read.

AUROC comes twice, named: `within_fold_roc_auc` counts only pairs of items held out in the same fold
(training.metrics.within_fold; what the trust sentence and the champion rule read) and `roc_auc` pools
every fold's scores. A metric column holds a number only, so each headline figure is also a run tag
(`headline_tags`) that a person reads in one cell: rounded, with its 95% CI, e.g. `AUROC within fold`
= "0.63 (95% CI 0.51 to 0.76)". `FAMILY_TAG` names the run's model family, the column runs are told
apart by.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from training.metrics import out_of_fold as cv_metrics

GROUP = "Headline/"
DECIMALS = 3  # of a Headline/ copy
FAMILY_TAG = "family"  # a top-level run's model family (the same tag name as a registered version's)


def _with_ci(prefix: str, name: str) -> list[str]:
    return [f"{prefix}{name}", f"{prefix}{name}_ci_low", f"{prefix}{name}_ci_high"]


# A paired difference against a reference model (training.run.references): `<prefix>diff_vs_<name>_*`
# (`test_roc_auc_diff_vs_<name>` in split mode). The names are whatever a family's `references` returns
# (the default baseline for a transformer or the criteria family, every member for an ensemble, the exact
# pipeline for the streamed baseline), so they are read from the run's metrics, not listed here.
_DIFF = re.compile(r"^(?:cv_(?:writer_)?|test_roc_auc_)diff_vs_([a-z]+)")


def reference_names(metrics: Mapping[str, float]) -> list[str]:
    """The reference models the run's metrics hold paired differences against, by name."""
    return sorted({m.group(1) for key in metrics if (m := _DIFF.match(key))})


def headline_keys(mode: str, references: Sequence[str] = ()) -> list[str]:
    """In reading order: discrimination, then calibration, then the same under writer shift (when
    the run has it), the references and the paired differences against the reference models named
    in `references` (reference_names of the run's metrics), letter folds then writer-shift folds."""
    if mode == "cv":
        m, w = cv_metrics.MODEL, cv_metrics.WRITER
        return [
            *_with_ci(m, "within_fold_roc_auc"),
            *_with_ci(m, "roc_auc"),
            *_with_ci(m, "pr_auc"),
            *_with_ci(m, "brier_skill"),
            f"{m}ece",
            *_with_ci(w, "within_fold_roc_auc"),
            *_with_ci(w, "roc_auc"),
            *_with_ci(w, "brier_skill"),
            f"{cv_metrics.REF_CATEGORY}roc_auc",
            *[
                key
                for prefix in (m, w)
                for name in references
                for metric in ("roc_auc", "brier_skill")
                for key in _with_ci(f"{prefix}diff_vs_{name}_", metric)
            ],
        ]
    return [
        *_with_ci("test_", "roc_auc"),
        *_with_ci("test_", "pr_auc"),
        *_with_ci("test_", "brier_skill"),
        "test_brier",
        "test_ece",
        "ref_category_test_roc_auc",
        *[key for name in references for key in _with_ci("test_", f"roc_auc_diff_vs_{name}")],
    ]


def headline_metrics(metrics: dict[str, float], mode: str) -> dict[str, float]:
    """`Headline/<name>` for each headline metric the run has, rounded to 3 decimals (NaN ones too: they
    must show as such)."""
    keys = headline_keys(mode, reference_names(metrics))
    return {f"{GROUP}{k}": round(metrics[k], DECIMALS) for k in keys if k in metrics}


def point_estimates(metrics: dict[str, float], mode: str) -> dict[str, float]:
    """The headline values without their interval ends (for registry tags)."""
    return {
        k: metrics[k]
        for k in headline_keys(mode, reference_names(metrics))
        if k in metrics and not k.endswith(("_ci_low", "_ci_high")) and math.isfinite(metrics[k])
    }


# Tag name -> metric, in reading order; the same names in both modes (a split run's AUROC pools its test split).
CI_TAGS = {
    "cv": {
        "AUROC within fold": "cv_within_fold_roc_auc",
        "AUROC pooled": "cv_roc_auc",
        "Brier skill": "cv_brier_skill",
        "Writer shift AUROC within fold": "cv_writer_within_fold_roc_auc",
        "Writer shift AUROC pooled": "cv_writer_roc_auc",
        "Writer shift Brier skill": "cv_writer_brier_skill",
    },
    "split": {"AUROC pooled": "test_roc_auc", "Brier skill": "test_brier_skill"},
}


def with_ci_text(metrics: dict[str, float], key: str) -> str | None:
    """ "0.63 (95% CI 0.51 to 0.76)": two decimals, the interval in the same cell; None when undefined."""
    value, low, high = (metrics.get(k, math.nan) for k in (key, f"{key}_ci_low", f"{key}_ci_high"))
    if not math.isfinite(value):
        return None
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{value:.2f}"
    return f"{value:.2f} (95% CI {low:.2f} to {high:.2f})"


def headline_tags(metrics: dict[str, float], mode: str) -> dict[str, str]:
    """The run's headline figures as text tags, one cell each (see the module's docstring)."""
    texts = {name: with_ci_text(metrics, key) for name, key in CI_TAGS[mode].items()}
    return {name: text for name, text in texts.items() if text is not None}
