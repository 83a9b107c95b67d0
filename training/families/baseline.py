"""TF-IDF + logistic-regression baseline: the pipeline, its fit, and what it leans on."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from features.letter import OVERTURNED, UPHELD
from features.style import STYLED_COLUMNS, normalise_style
from training.config import ConfigError, ModelConfig, Strict, TrainConfig
from training.data.splits import Split
from training.families.family import RunFacts

CATEGORICAL = ["treatment_category", "patient_sex"]
NUMERIC = ["patient_age", "days_since_injury", "partial_approval"]
PIPELINE_FILE = "pipeline.skops"


class TfidfConfig(Strict):
    analyzer: Literal["word", "char_wb"] = "word"
    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = Field(default=2, ge=1)
    max_features: int | None = Field(default=50_000, ge=1)
    sublinear_tf: bool = True
    # scikit-learn's English stop-word list: function words ("is", "he", "the") carry how a summary
    # is written, not what it says, and would otherwise be shown as reasons.
    stop_words: Literal["english"] | None = "english"

    @field_validator("ngram_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] < 1 or value[0] > value[1]:
            raise ValueError(f"must be [low, high] with 1 <= low <= high, got {list(value)}")
        return value


class LogisticRegressionConfig(Strict):
    C: float = Field(default=1.0, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = Field(default=2000, ge=1)


class BaselineModelConfig(ModelConfig):
    """TF-IDF of the view's text (which already spells out treatment, category and patient
    metadata as words), optionally plus a character TF-IDF of the treatment name and one-hot /
    scaled metadata columns. Grouped 5-fold CV by letter on the bundled letters put the extra
    blocks below text alone (AUROC ~0.52-0.68 vs ~0.75), so they are off by default.

    `normalise_style` (default on): the TF-IDF reads the text without the case-summary writer's
    style (features.style: person terms, dates, bare numbers, template phrases), at fit and at
    scoring alike, so no reason shown is the reviewer's wording. It is applied outside the skops
    pipeline, which serving loads trusting only scikit-learn types, and recorded in the package's
    imr_model.json `options` for serving (serving.scorers.BaselineScorer)."""

    family: Literal["baseline"] = "baseline"
    normalise_style: bool = True
    text_tfidf: TfidfConfig = TfidfConfig()
    treatment_tfidf: TfidfConfig | None = None
    metadata_columns: bool = False
    classifier: LogisticRegressionConfig = LogisticRegressionConfig()


def _tfidf(cfg: TfidfConfig) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=cfg.analyzer,
        ngram_range=tuple(cfg.ngram_range),
        min_df=cfg.min_df,
        max_features=cfg.max_features,
        sublinear_tf=cfg.sublinear_tf,
        stop_words=cfg.stop_words,
        lowercase=True,
        dtype=np.float32,
    )


def build_pipeline(cfg: BaselineModelConfig, seed: int) -> Pipeline:
    blocks = [("text", _tfidf(cfg.text_tfidf), "text")]
    if cfg.treatment_tfidf is not None:
        blocks.append(("treatment", _tfidf(cfg.treatment_tfidf), "treatment"))
    if cfg.metadata_columns:
        blocks.append(("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL))
        scaled = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
        blocks.append(("numeric", scaled, NUMERIC))
    features = ColumnTransformer(blocks)
    classifier = LogisticRegression(
        C=cfg.classifier.C,
        class_weight=cfg.classifier.class_weight,
        max_iter=cfg.classifier.max_iter,
        random_state=seed,
    )
    return Pipeline([("features", features), ("classifier", classifier)])


def model_frame(frame: pd.DataFrame, cfg: BaselineModelConfig) -> pd.DataFrame:
    """The pipeline's input: categorical columns as object, so a column of all-missing values
    still one-hot encodes, and the text columns style-normalised when the config says so."""
    frame = frame.astype({c: "object" for c in CATEGORICAL})
    if cfg.normalise_style:
        frame = frame.assign(**{c: frame[c].map(normalise_style) for c in STYLED_COLUMNS if c in frame})
    return frame


def serving_options(cfg: BaselineModelConfig) -> dict:
    """What serving must do to a request before the pipeline (imr_model.json `options`)."""
    return {"normalise_style": cfg.normalise_style}


def fit_pipeline(cfg: BaselineModelConfig, train: Split, seed: int) -> Pipeline:
    return build_pipeline(cfg, seed).fit(model_frame(train.frame, cfg), train.y)


def fit(cfg: TrainConfig, train: Split, validation: Split | None, model_dir: Path) -> tuple[list[str], dict]:
    """Fit on train (the baseline has no use for validation) and save the pipeline with skops,
    never pickle."""
    import skops.io as sio

    sio.dump(lean_for_saving(fit_pipeline(cfg.model, train, cfg.seed)), model_dir / PIPELINE_FILE)
    return [PIPELINE_FILE], serving_options(cfg.model)


def lean_for_saving(pipeline: Pipeline) -> Pipeline:
    """The fitted pipeline trimmed for skops without changing a prediction. Each TF-IDF's
    `stop_words_` (every term min_df/max_features cut; scikit-learn before 1.9 keeps it "only for
    introspection", to be "safely removed using delattr or set to None before pickling") goes, and
    its vocabulary's column indices become Python ints: scikit-learn leaves NumPy scalars, which
    skops writes as one .npy member each (a 10k-term fold model took ~4 s to save and ~2 s to
    load; with ints 0.6 s and 0.4 s, benchmarks/README.md)."""
    for block in pipeline.named_steps["features"].named_transformers_.values():
        steps = [step for _, step in block.steps] if isinstance(block, Pipeline) else [block]
        for step in steps:
            if isinstance(step, TfidfVectorizer):
                if hasattr(step, "stop_words_"):
                    del step.stop_words_
                step.vocabulary_ = {term: int(index) for term, index in step.vocabulary_.items()}
    return pipeline


def check_data(cfg: TrainConfig, n_train_items: int) -> None:
    """Refuse, before anything runs, a min_df no term of the smallest training set could reach."""
    blocks = {"text_tfidf": cfg.model.text_tfidf, "treatment_tfidf": cfg.model.treatment_tfidf}
    for key, tfidf in blocks.items():
        if tfidf is not None and tfidf.min_df > n_train_items:
            raise ConfigError(
                f"model.{key}.min_df: {tfidf.min_df} is larger than the {n_train_items} items "
                f"a model is trained on here; no term could be kept"
            )


def top_terms(model_dir: Path, k: int = 25) -> pd.DataFrame:
    """The k features with the largest positive (toward Overturned) and negative (toward Upheld)
    logistic-regression weights."""
    from serving.skops_trust import load_trusted_skops

    pipeline = load_trusted_skops(model_dir / PIPELINE_FILE)  # the types serving trusts, no others
    names = pipeline.named_steps["features"].get_feature_names_out()
    coef = pipeline.named_steps["classifier"].coef_[0]
    order = np.argsort(coef)
    rows = [{"toward": OVERTURNED, "feature": names[i], "weight": float(coef[i])} for i in order[::-1][:k]]
    rows += [{"toward": UPHELD, "feature": names[i], "weight": float(coef[i])} for i in order[:k]]
    return pd.DataFrame(rows)


def log_top_terms(model_dir: Path, artifact: str = "top_terms.md") -> None:
    import mlflow

    from training.markdown import markdown_table

    mlflow.log_text(markdown_table(top_terms(model_dir)), artifact)


# ---------------------------------------------------------------- what it says about itself


def _tfidf_words(t) -> str:
    grams = (
        f"{t.ngram_range[0]}-{t.ngram_range[1]}-grams"
        if t.ngram_range[0] != t.ngram_range[1]
        else f"{t.ngram_range[0]}-grams"
    )
    cap = f"up to {t.max_features:,} features" if t.max_features else "no feature cap"
    stop = f", {t.stop_words} stop words removed" if t.stop_words else ""
    return f"{t.analyzer} {grams}, min_df {t.min_df}, {cap}{', sublinear tf' if t.sublinear_tf else ''}{stop}"


def describe(cfg: TrainConfig) -> str:
    m = cfg.model
    return (
        f"TF-IDF ({_tfidf_words(m.text_tfidf)}) + logistic regression (C={m.classifier.C:g}, "
        f"class_weight {m.classifier.class_weight})"
    )


def card_section(cfg: TrainConfig, facts: RunFacts) -> str:
    m = cfg.model
    extra = []
    if m.treatment_tfidf is not None:
        extra.append(f"a TF-IDF of the treatment name ({_tfidf_words(m.treatment_tfidf)})")
    if m.metadata_columns:
        extra.append("one-hot treatment category and sex, scaled age, days since injury and partial approval")
    blocks = "; plus " + " and ".join(extra) if extra else " (no other feature block)"
    return f"""## Model family: TF-IDF + logistic regression (baseline)
- Features: TF-IDF of the `{cfg.data.feature_view}` text ({_tfidf_words(m.text_tfidf)}){blocks}.
- Classifier: logistic regression, C={m.classifier.C:g}, class_weight {m.classifier.class_weight}, \
max_iter {m.classifier.max_iter}; saved with skops (no pickle).
- What it leans on: the 25 terms with the largest weights toward Overturned and toward Upheld are in the run's \
`top_terms.md` artifact.
"""
