"""Criteria family: a strongly regularised logistic regression over which reviewer criteria a request's
case summary documents (features.criteria.documented: documented 1, not documented 0, one column per
criterion a summary can document) and, optionally, its treatment category (one-hot).

Its coefficients are reasons a person can check against their own request: "not documented: failed
conservative care" with the points documenting it would add (serving.criteria_scorer). C is chosen
from `c_grid` by grouped inner cross-validation by letter (AUROC), on the training items only, as the
transformer's linear head does it. The package holds plain JSON coefficients (criteria_model.json): no
pickle, no skops. A run is paired against the default baseline on the same folds, letter and writer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Literal

import mlflow
import numpy as np
import pandas as pd
from pydantic import Field, field_validator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from features.criteria import BY_ID
from serving.criteria_scorer import MODEL_FILE, documented_row, feature_criteria, read_spec
from training.config import ModelConfig, TrainConfig
from training.data.splits import Split
from training.families.family import RunFacts, interval

log = logging.getLogger(__name__)
MAX_ITER = 5000  # lbfgs on a few dozen 0/1 columns converges long before this


class CriteriaModelConfig(ModelConfig):
    family: Literal["criteria"] = "criteria"
    treatment_category: bool = True  # one-hot treatment category beside the criteria
    # Candidate C (inverse regularisation), all small: a few hundred items and a few dozen overturned.
    c_grid: list[float] = Field(default=[0.01, 0.03, 0.1, 0.3, 1.0], min_length=1)
    inner_folds: int = Field(default=4, ge=2)  # grouped inner CV by letter that chooses C
    class_weight: Literal["balanced"] | None = "balanced"
    compare_with_baseline: bool = True  # pair the run with the default baseline on the same folds

    @field_validator("c_grid")
    @classmethod
    def _positive(cls, grid: list[float]) -> list[float]:
        if min(grid) <= 0:
            raise ValueError(f"every C must be > 0, got {grid}")
        return sorted(set(grid))


# documented rows by (case summary, treatment) digest: a cross-validated run fits ~20 models on the same
# items, and reading one real summary for every criterion takes ~0.2 s. Held in this process only, by digest.
_ROWS: dict[bytes, np.ndarray] = {}


def documented_features(frame: pd.DataFrame, criteria: list[str]) -> np.ndarray:
    out = np.zeros((len(frame), len(criteria)))
    for i, (summary, treatment) in enumerate(zip(frame["case_summary"], frame["treatment"])):
        key = hashlib.sha256(f"{len(summary)}:{summary}\0{treatment}".encode()).digest()
        if key not in _ROWS:
            _ROWS[key] = documented_row(summary, treatment, criteria)
        out[i] = _ROWS[key]
    return out


def fit_model(cfg: TrainConfig, train: Split) -> dict:
    """The criteria_model.json spec (serving.criteria_scorer.CriteriaModelSpec) fitted on `train`."""
    m = cfg.model
    criteria = feature_criteria()
    x = documented_features(train.frame, criteria)
    categories = sorted(set(train.frame["treatment_category"])) if m.treatment_category else []
    one_hot = np.array([[c == k for k in categories] for c in train.frame["treatment_category"]], dtype=float)
    features = np.hstack([x, one_hot.reshape(len(train), len(categories))])
    model, chosen = _fit_logistic(features, train.y, train.letter_keys, m, cfg.seed)
    coef = model.coef_[0]
    return {
        "features": criteria,
        "coef": [float(v) for v in coef[: len(criteria)]],
        "categories": categories,
        "category_coef": [float(v) for v in coef[len(criteria) :]],
        "category_share": [float(v) for v in one_hot.mean(axis=0)] if categories else [],
        "intercept": float(model.intercept_[0]),
        "C": chosen,
    }


def _fit_logistic(x, y, groups, m: CriteriaModelConfig, seed: int) -> tuple[LogisticRegression, float]:
    """C from the grid by grouped inner CV (AUROC) where some inner fold holds both classes, else the
    grid's middle value."""
    estimator = LogisticRegression(class_weight=m.class_weight, max_iter=MAX_ITER)
    splits = []
    if len(m.c_grid) > 1:
        n_splits = min(m.inner_folds, len(set(groups)))
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        splits = [(a, b) for a, b in cv.split(x, y, groups) if len(set(y[b])) == 2 and len(set(y[a])) == 2]
    if not splits:
        c = float(m.c_grid[len(m.c_grid) // 2])
        if len(m.c_grid) > 1:
            log.info("criteria C: no inner fold holds both classes; using C=%g", c)
        return estimator.set_params(C=c).fit(x, y), c
    search = GridSearchCV(estimator, {"C": m.c_grid}, scoring="roc_auc", cv=splits, refit=True).fit(x, y)
    return search.best_estimator_, float(search.best_params_["C"])


def fit(cfg: TrainConfig, train: Split, validation: Split | None, model_dir: Path) -> tuple[list[str], dict]:
    """Fit on train (validation is not needed: C comes from inner CV) and write the coefficients as JSON."""
    spec = fit_model(cfg, train)
    mlflow.log_param("criteria_C", spec["C"])
    (model_dir / MODEL_FILE).write_text(json.dumps(spec, indent=2))
    return [MODEL_FILE], {"C": spec["C"]}


def coefficients(model_dir: Path) -> pd.DataFrame:
    """Every coefficient, largest toward Overturned first (log-odds per documented criterion)."""
    spec = read_spec(model_dir / MODEL_FILE)
    rows = [
        {"feature": f"documented: {BY_ID[c].label}", "criterion": c, "coef": w}
        for c, w in zip(spec.features, spec.coef)
    ]
    rows += [
        {"feature": f"treatment category: {c}", "criterion": "", "coef": w}
        for c, w in zip(spec.categories, spec.category_coef)
    ]
    return pd.DataFrame(rows).sort_values("coef", ascending=False, kind="stable").round({"coef": 4})


def log_coefficients(model_dir: Path, artifact: str = "criteria_coefficients.md") -> None:
    from training.markdown import markdown_table

    mlflow.log_text(markdown_table(coefficients(model_dir)), artifact)


# ---------------------------------------------------------------- what it says about itself


def _grid(m: CriteriaModelConfig) -> str:
    return ", ".join(f"{c:g}" for c in m.c_grid)


def describe(cfg: TrainConfig) -> str:
    m = cfg.model
    category = " and the treatment category" if m.treatment_category else ""
    return (
        f"logistic regression over the {len(feature_criteria())} reviewer criteria a case summary documents or "
        f"lacks{category} (C from {_grid(m)} by {m.inner_folds}-fold grouped inner CV by letter, "
        f"class_weight {m.class_weight})"
    )


def card_section(cfg: TrainConfig, facts: RunFacts) -> str:
    m, metrics = cfg.model, facts.metrics
    lines = [
        "## Model family: reviewer criteria + logistic regression",
        f"- Features: for each of {len(feature_criteria())} criteria a case summary can document "
        "(features/criteria.py), whether this request's summary documents it (1) or not (0)"
        + ("; the treatment category, one-hot." if m.treatment_category else "."),
        f"- Classifier: logistic regression, class_weight {m.class_weight}, C chosen from {_grid(m)} by "
        f"{m.inner_folds}-fold grouped inner cross-validation by letter (AUROC)"
        + (f"; the shipped model's C: {facts.params['criteria_C']}" if "criteria_C" in facts.params else "")
        + ". Coefficients as plain JSON (`criteria_model.json`), listed in the run's `criteria_coefficients.md`.",
        "- Reasons: each criterion, documented or not, with the points of probability it moves the answer at the "
        "request's own probability; they are associations in decided letters, not causes.",
    ]
    for prefix, folds in (("cv_", "letter"), ("cv_writer_", "writer-shift")):
        key = f"{prefix}diff_vs_baseline_"
        if f"{key}roc_auc" in metrics:
            lines.append(
                f"- Minus the baseline on the same {folds} folds: AUROC {interval(metrics, f'{key}roc_auc', True)}; "
                f"Brier skill {interval(metrics, f'{key}brier_skill', True)}."
            )
    return "\n".join(lines) + "\n"
