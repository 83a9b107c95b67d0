"""Leakage audit: the same family fitted on the other feature view (`with_rationale` beside
`pre_decision`) over the same folds or split, side by side. A large gap shows how much the
verdict-bearing text would inflate a score."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from training.config import TrainConfig
from training.data.splits import Split
from training.families.packaging import fit_packaged
from training.families.registry import Family
from training.markdown import markdown_table
from training.metrics import out_of_fold as cv_metrics
from training.metrics.binary import binary_metrics, choose_threshold
from training.run.cross_validation import out_of_fold

CV_AUDITED = ("roc_auc", "pr_auc", "brier_skill", "ece")
SPLIT_AUDITED = ("test_roc_auc", "test_pr_auc", "test_f1", "test_brier")


def other_view(cfg: TrainConfig) -> tuple[str, TrainConfig]:
    other = "with_rationale" if cfg.data.feature_view == "pre_decision" else "pre_decision"
    return other, cfg.model_copy(update={"data": cfg.data.model_copy(update={"feature_view": other})})


def leakage_audit_cv(cfg: TrainConfig, family: Family, items: Split, folds, metrics: dict) -> dict[str, float]:
    other, other_cfg = other_view(cfg)
    other_items = Split(items.rows, Split.of(items.rows, other).frame, items.y)
    ev = cfg.evaluation
    raw = out_of_fold(other_cfg, family, other_items, folds, label=f"audit-{other}")
    scores = raw.scores(ev.calibration)
    threshold = choose_threshold(np.tile(items.y, ev.repeats), scores.prob.ravel())
    audit = cv_metrics.oof_metrics(items.y, scores, items.letter_ids, threshold, ev.bootstrap_samples, cfg.seed, "")
    table = pd.DataFrame(
        [
            {"feature_view": cfg.data.feature_view, **{k: metrics[f"{cv_metrics.MODEL}{k}"] for k in CV_AUDITED}},
            {"feature_view": other, **{k: audit[k] for k in CV_AUDITED}},
        ]
    )
    mlflow.log_text(markdown_table(table), "leakage_audit.md")
    return {f"audit_{other}_cv_{k}": audit[k] for k in CV_AUDITED}


def leakage_audit_split(
    cfg: TrainConfig, family: Family, splits: dict[str, Split], metrics: dict, tmp: Path
) -> dict[str, float]:
    other, other_cfg = other_view(cfg)
    views = {name: Split(s.rows, Split.of(s.rows, other).frame, s.y) for name, s in splits.items()}
    model = fit_packaged(other_cfg, family, views["train"], views["validation"], tmp / f"audit-{other}")
    threshold = choose_threshold(views["validation"].y, model.score(views["validation"]))
    audit = binary_metrics(views["test"].y, model.score(views["test"]), threshold, "test_")
    table = pd.DataFrame(
        [
            {"feature_view": cfg.data.feature_view, **{k: metrics[k] for k in SPLIT_AUDITED}},
            {"feature_view": other, **{k: audit[k] for k in SPLIT_AUDITED}},
        ]
    )
    mlflow.log_text(markdown_table(table), "leakage_audit.md")
    return {f"audit_{other}_{k}": audit[k] for k in SPLIT_AUDITED}
