"""Family-specific scorers behind one interface: `predict_proba(records) -> p_overturned`.

Each scorer turns request records into its model's inputs with the model's own feature view,
so a `pre_decision` model never sees a rationale even when a caller sends one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from features.style import normalise_inputs
from serving.ensemble_scorer import EnsembleScorer
from serving.model_dir import META_FILE, ModelIntegrityError, ModelMeta, read_verified_meta, require_listed
from serving.skops_trust import load_trusted_skops


class BaselineScorer:
    def __init__(self, model_dir: Path, meta: ModelMeta):
        require_listed(model_dir, meta, "pipeline.skops")
        path = model_dir / "pipeline.skops"
        # Only the types training.families.baseline saves are rebuilt (serving.skops_trust), whatever the
        # manifest says: whoever can rewrite the file can rewrite its hash too.
        self.pipeline = _baseline_pipeline(path, load_trusted_skops(path))
        self.meta = meta
        # Whether the pipeline was fitted on style-normalised text (training.families.baseline; absent in
        # models packaged before the option existed, which were not).
        self.normalise_style = bool(meta.options.get("normalise_style", False))
        # With only the text block (the default), score the TF-IDF and classifier directly: a
        # one-row DataFrame and ColumnTransformer cost more than the model itself per request.
        blocks = self.pipeline.named_steps["features"].transformers_
        active = [b for b in blocks if b[1] != "drop" and b[0] != "remainder"]
        self.text_only = [(name, column) for name, _, column in active] == [("text", "text")]
        if self.text_only:
            self.tfidf = self.pipeline.named_steps["features"].named_transformers_["text"]
            self.classifier = self.pipeline.named_steps["classifier"]

    def _inputs(self, records: Sequence[Mapping[str, Any]]) -> list[dict]:
        """The records' model inputs in the model's view, normalised as the pipeline's were at fit."""
        from features.views import model_inputs

        inputs = [model_inputs(r, self.meta.feature_view) for r in records]
        return [normalise_inputs(i) for i in inputs] if self.normalise_style else inputs

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        inputs = self._inputs(records)
        if self.text_only:
            import sklearn

            with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
                return self.classifier.predict_proba(self.tfidf.transform([i["text"] for i in inputs]))[:, 1]
        return self.pipeline.predict_proba(self._frame(inputs))[:, 1]

    def _frame(self, inputs: list[dict]):
        import pandas as pd

        return pd.DataFrame(inputs).astype({"treatment_category": object, "patient_sex": object})


def _baseline_pipeline(path: Path, loaded: Any):
    """`loaded` if it has the baseline's shape, fitted (training.families.baseline.build_pipeline, or the
    streamed pipeline of training.families.streamed_fit, whose classifier is an SGDClassifier with the
    logistic loss), else a one-line refusal: every scikit-learn estimator is a type skops trusts, in any
    arrangement."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.pipeline import Pipeline

    steps = dict(loaded.steps) if isinstance(loaded, Pipeline) else {}
    features, classifier = steps.get("features"), steps.get("classifier")
    logistic = isinstance(classifier, LogisticRegression) or (
        isinstance(classifier, SGDClassifier) and classifier.loss == "log_loss"
    )
    if not (
        list(steps) == ["features", "classifier"]
        and isinstance(features, ColumnTransformer)
        and "text" in getattr(features, "named_transformers_", {})
        and logistic
        and hasattr(classifier, "coef_")
    ):
        raise ModelIntegrityError(
            f"{path}: holds a {type(loaded).__name__}, not the baseline's fitted features-and-classifier "
            "pipeline; refusing to load it"
        )
    return loaded


def load_scorer(model_dir: str | Path, backend: str | None = None):
    """backend: None/"torch"/"onnx" for transformers (see serving.transformer_scorer); ignored by the baseline."""
    model_dir = Path(model_dir)
    meta = read_verified_meta(model_dir)
    if meta.family not in SCORERS:
        known = ", ".join(sorted(SCORERS))
        raise ModelIntegrityError(
            f"{model_dir / META_FILE}: family {meta.family!r} is not a model family serving can load (known: {known})"
        )
    scorer = SCORERS[meta.family](model_dir, meta, backend)
    return CalibratedScorer(scorer) if meta.calibration else scorer


def _transformer_scorer(model_dir: Path, meta: ModelMeta, backend: str | None):
    from serving.transformer_scorer import TransformerScorer  # torch and transformers load only when needed

    return TransformerScorer(model_dir, meta, backend)


def _criteria_scorer(model_dir: Path, meta: ModelMeta, backend: str | None):
    from serving.criteria_scorer import CriteriaScorer

    return CriteriaScorer(model_dir, meta)


# One entry per model family: how serving opens that family's packaged folder. The family names
# (imr_model.json's `family`) are these keys and training.families.registry.FAMILIES's, nowhere else.
SCORERS = {
    "baseline": lambda model_dir, meta, backend: BaselineScorer(model_dir, meta),
    "transformer": _transformer_scorer,
    "ensemble": lambda model_dir, meta, backend: EnsembleScorer(model_dir, meta, backend, load_scorer),
    "criteria": _criteria_scorer,
}


class CalibratedScorer:
    """The family's scorer followed by the post-hoc calibration fitted on validation."""

    def __init__(self, inner):
        self.inner = inner
        self.meta = inner.meta

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        from serving.calibration import apply_calibration

        return apply_calibration(self.meta.calibration, self.inner.predict_proba(records))
