"""Leakage audit: what the models lean on.

- The same family fitted on the `with_rationale` view of the same split, beside the
  `pre_decision` run: a large gap shows how much the verdict-bearing text would inflate a score.
- The baseline's top-weighted terms per class, so a reader sees what drives its predictions.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from training.evaluation import markdown_table

AUDIT_METRICS = ("test_roc_auc", "test_pr_auc", "test_f1", "test_brier")


def leakage_audit(cfg, family: str, fit, dsd, metrics: dict[str, float], tmp: Path) -> dict[str, float]:
    """Logs the side-by-side table and returns the other view's test metrics (audit_<view>_*)."""
    from training.metrics import binary_metrics
    from training.run import fit_and_score, make_splits

    other = "with_rationale" if cfg.data.feature_view == "pre_decision" else "pre_decision"
    splits = make_splits(dsd, other)
    model_dir = tmp / f"audit-{other}"
    model_dir.mkdir()
    other_cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"feature_view": other})})
    fitted = fit_and_score(other_cfg, family, fit, splits, model_dir, other)
    audit = binary_metrics(splits["test"]["y"], fitted.p["test"], fitted.threshold, "test_")
    table = pd.DataFrame([
        {"feature_view": cfg.data.feature_view, **{k: metrics[k] for k in AUDIT_METRICS}},
        {"feature_view": other, **{k: audit[k] for k in AUDIT_METRICS}},
    ])
    audit_metrics = {f"audit_{other}_{k}": audit[k] for k in AUDIT_METRICS}
    mlflow.log_metrics(audit_metrics)
    mlflow.log_text(markdown_table(table), "leakage_audit.md")
    if family == "baseline":
        log_top_terms(model_dir, f"top_terms_{other}.md")
    return audit_metrics


def top_terms(model_dir: Path, k: int = 25) -> pd.DataFrame:
    """The k features with the largest positive (toward Overturned) and negative (toward Upheld)
    logistic-regression weights."""
    from serving.scorers import load_scorer

    scorer = load_scorer(model_dir)
    pipeline = getattr(scorer, "inner", scorer).pipeline  # unwrap a CalibratedScorer
    names = pipeline.named_steps["features"].get_feature_names_out()
    coef = pipeline.named_steps["classifier"].coef_[0]
    order = np.argsort(coef)
    rows = [{"toward": "Overturned", "feature": names[i], "weight": float(coef[i])} for i in order[::-1][:k]]
    rows += [{"toward": "Upheld", "feature": names[i], "weight": float(coef[i])} for i in order[:k]]
    return pd.DataFrame(rows)


def log_top_terms(model_dir: Path, artifact: str = "top_terms.md") -> None:
    mlflow.log_text(markdown_table(top_terms(model_dir)), artifact)
