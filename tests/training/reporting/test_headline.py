"""The headline metrics (training.reporting.headline) carry the paired differences against whichever
reference models a run was compared with: the names come from the family's `references`, not a list."""

from __future__ import annotations

from training.reporting.headline import headline_metrics, point_estimates, reference_names


def diff(prefix: str, name: str, value: float) -> dict[str, float]:
    key = f"{prefix}diff_vs_{name}_roc_auc"
    return {key: value, f"{key}_ci_low": value - 0.1, f"{key}_ci_high": value + 0.1}


def test_every_reference_of_a_cv_run_is_in_its_headline():
    # an ensemble of baseline and criteria, and the streamed baseline's exact pipeline
    metrics = {"cv_roc_auc": 0.7} | diff("cv_", "criteria", 0.05) | diff("cv_writer_", "exact", -0.01)
    metrics |= diff("cv_", "baseline", 0.02)
    assert reference_names(metrics) == ["baseline", "criteria", "exact"]
    headline = headline_metrics(metrics, "cv")
    assert set(headline) == {f"Headline/{k}" for k in metrics}
    assert point_estimates(metrics, "cv") == {
        k: v for k, v in metrics.items() if not k.endswith(("_ci_low", "_ci_high"))
    }


def test_a_split_run_headlines_its_test_differences():
    metrics = {
        "test_roc_auc": 0.66,
        "test_roc_auc_diff_vs_criteria": 0.03,
        "test_roc_auc_diff_vs_criteria_ci_low": -0.02,
        "test_roc_auc_diff_vs_criteria_ci_high": 0.08,
    }
    assert reference_names(metrics) == ["criteria"]
    assert set(headline_metrics(metrics, "split")) == {f"Headline/{k}" for k in metrics}


def test_a_run_without_references_has_none():
    assert reference_names({"cv_roc_auc": 0.7, "cv_brier_skill": 0.01}) == []
