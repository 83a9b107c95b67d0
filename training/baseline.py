"""TF-IDF + logistic-regression baseline: the pipeline and its training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from training.config import BaselineModelConfig, TfidfConfig, TrainConfig

CATEGORICAL = ["treatment_category", "patient_sex"]
NUMERIC = ["patient_age", "days_since_injury", "partial_approval"]


def _tfidf(cfg: TfidfConfig) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=cfg.analyzer, ngram_range=tuple(cfg.ngram_range), min_df=cfg.min_df,
        max_features=cfg.max_features, sublinear_tf=cfg.sublinear_tf, lowercase=True, dtype=np.float32,
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
        C=cfg.classifier.C, class_weight=cfg.classifier.class_weight, max_iter=cfg.classifier.max_iter,
        random_state=seed,
    )
    return Pipeline([("features", features), ("classifier", classifier)])


def fit(cfg: TrainConfig, splits: dict, model_dir: Path) -> tuple[list[str], dict]:
    """Fit on train and save the pipeline with skops (no pickle) into `model_dir`."""
    import skops.io as sio

    frame = splits["train"]["frame"].astype({c: "object" for c in CATEGORICAL})
    pipeline = build_pipeline(cfg.model, cfg.seed).fit(frame, splits["train"]["y"])
    sio.dump(pipeline, model_dir / "pipeline.skops")
    return ["pipeline.skops"], {}


def train(cfg: TrainConfig):
    """Train, evaluate and register the baseline; returns a `training.run.TrainResult`."""
    from training.run import run_training

    return run_training(cfg, "baseline", fit)
