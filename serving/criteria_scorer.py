"""The criteria family's scorer: a logistic regression over which reviewer criteria a request's case
summary documents (features.criteria.documented, one 0/1 column per criterion) and its treatment
category, read from plain JSON coefficients (training.families.criteria writes them; no pickle, no skops).

    model_dir/criteria_model.json
      features        criterion ids, one column each (documented: 1, not documented: 0)
      coef            their coefficients (log-odds), in the same order
      categories      treatment categories seen in training, with category_coef and category_share
                      (the share of training items in each)
      intercept, C    the intercept, and the regularisation chosen by grouped inner CV

Its reasons are found as every family's are (serving.reasons: the probability with and without each
phrase, in points), so for this model they are the clauses that document a criterion, the criteria
the request lacks, and the treatment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from features.criteria import BY_ID, CRITERIA, documented
from features.criteria_request import READINGS
from features.views import model_inputs
from serving.model_dir import ModelIntegrityError, ModelMeta, require_listed

MODEL_FILE = "criteria_model.json"


def feature_criteria() -> list[str]:
    """The criteria a summary can document, one column each, in vocabulary order. A criterion whose
    summary patterns and reading are those of an earlier one (the visit limit is read from the
    sessions a summary reports, as prior sessions are) is the same column twice: left out."""
    seen: set[tuple[int, Any]] = set()
    out = []
    for c in CRITERIA:
        if c.documents is None:
            continue
        key = (id(c.documents), READINGS.get(c.id))
        if key not in seen:
            seen.add(key)
            out.append(c.id)
    return out


def documented_row(case_summary: str, treatment: str, criteria: Sequence[str]) -> np.ndarray:
    """1.0 for each criterion the case summary documents (its treatment read with it:
    features.criteria.documented), else 0.0: one item's features."""
    return np.array([float(bool(documented(c, case_summary, treatment))) for c in criteria])


class CriteriaModelSpec(BaseModel):
    """criteria_model.json, strictly: every number finite, lists of matching lengths, known criteria."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    features: list[str]
    coef: list[float]
    categories: list[str]
    category_coef: list[float]
    category_share: list[float]
    intercept: float
    C: float

    @model_validator(mode="after")
    def _consistent(self) -> CriteriaModelSpec:
        unknown = [f for f in self.features if f not in BY_ID or BY_ID[f].documents is None]
        if unknown:
            raise ValueError(f"features {unknown} are not criteria a summary documents")
        if len(self.coef) != len(self.features):
            raise ValueError(f"{len(self.coef)} coefficients for {len(self.features)} features")
        if not len(self.categories) == len(self.category_coef) == len(self.category_share):
            raise ValueError("categories, category_coef and category_share differ in length")
        return self

    def category_logit(self, category: str) -> float:
        """The category's coefficient (0 for one unseen in training or a model without categories)."""
        return dict(zip(self.categories, self.category_coef)).get(category, 0.0)


def read_spec(path: Path) -> CriteriaModelSpec:
    try:
        return CriteriaModelSpec.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as exc:
        problem = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else type(exc).__name__
        raise ModelIntegrityError(f"{path}: not a criteria model ({problem}); refusing to load it") from None


def _probability(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logit, dtype=float)))


class CriteriaScorer:
    def __init__(self, model_dir: Path, meta: ModelMeta):
        require_listed(model_dir, meta, MODEL_FILE)
        self.meta = meta
        self.spec = read_spec(model_dir / MODEL_FILE)
        self.coef = np.asarray(self.spec.coef, dtype=float)

    def _inputs(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [model_inputs(r, self.meta.feature_view) for r in records]

    def features(self, inputs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """items x features from the records' model inputs."""
        rows = [documented_row(i["case_summary"], i["treatment"], self.spec.features) for i in inputs]
        return np.array(rows).reshape(len(inputs), len(self.spec.features))

    def logits(self, inputs: Sequence[Mapping[str, Any]], x: np.ndarray) -> np.ndarray:
        category = np.array([self.spec.category_logit(i["treatment_category"]) for i in inputs])
        return self.spec.intercept + x @ self.coef + category

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        inputs = self._inputs(records)
        return _probability(self.logits(inputs, self.features(inputs))) if inputs else np.empty(0)
