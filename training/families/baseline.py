"""TF-IDF + logistic-regression baseline: the pipeline, its fit, and what it leans on."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from features.letter import OVERTURNED, UPHELD
from features.style import STYLED_COLUMNS, normalise_style
from training import tracking
from training.config import ConfigError, ModelConfig, Strict, TrainConfig
from training.data.splits import Split
from training.data.workers import Workers
from training.families import streamed_evidence, streamed_features, streamed_fit
from training.families.family import RunFacts
from training.families.hashed_terms import TERM_NAMES_FILE, hashing_step

CATEGORICAL = ["treatment_category", "patient_sex"]
NUMERIC = ["patient_age", "days_since_injury", "partial_approval"]
PIPELINE_FILE = "pipeline.skops"
# model.features: auto switches to the streamed pipeline at this many letters. The exact pipeline's memory grows
# ~70 KiB a letter (1,002 MiB at 5,000 letters, 4,082 MiB at 50,000: benchmarks/README.md, bench_train), so past
# ~20,000 it would break the 2 GiB bound; below 10,000 it costs ~1.3 GB at most and names its terms exactly. The
# streamed pipeline showed no quality cost on the bundled letters (same page), so the switch can come early.
STREAMED_FROM_LETTERS = 10_000


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


class StreamedConfig(Strict):
    """The streamed pipeline (training.families.streamed_features and streamed_fit): the text
    block's terms (text_tfidf's analyzer, n-grams, stop words, sublinear tf) hashed into
    `n_features` columns with an idf, and a logistic model fitted by SGD over `epochs` passes
    (classifier.C and class_weight as the exact pipeline's). min_df and max_features do not apply:
    hashing keeps every term. `term_names`: name the strongest columns by the training terms that
    hash to them (term_names.json, read by top_terms.md); only the shipped model needs it."""

    n_features: int = Field(default=2**20, ge=2**10, le=2**24)
    epochs: int = Field(default=5, ge=1, le=100)
    average: bool = False  # averaged SGD (SGDClassifier(average=True))
    term_names: bool = True
    # The criteria table counts the items of a fixed sample of letters holding at most this many
    # items (training.families.streamed_evidence); None: every item.
    criteria_items: int | None = Field(default=200_000, ge=1)


class BaselineModelConfig(ModelConfig):
    """TF-IDF of the view's text (which already spells out treatment, category and patient
    metadata as words), optionally plus a character TF-IDF of the treatment name and one-hot /
    scaled metadata columns. Grouped 5-fold CV by letter on the bundled letters put the extra
    blocks below text alone (AUROC ~0.52-0.68 vs ~0.75), so they are off by default.

    `normalise_style` (default on): the TF-IDF reads the text without the case-summary writer's
    style (features.style: person terms, dates, bare numbers, template phrases), at fit and at
    scoring alike, so no reason shown is the reviewer's wording. It is applied outside the skops
    pipeline, which serving loads trusting only scikit-learn types, and recorded in the package's
    imr_model.json `options` for serving (serving.scorers.BaselineScorer).

    `features`: `exact`, the TF-IDF vocabulary and logistic regression fitted in memory (every text
    of the training items at once); `streamed`, hashed features and SGD fitted from the ingested
    shards a block at a time, memory flat whatever the corpus size (StreamedConfig; text block
    only); `auto` (default), exact below `streamed_from_letters` letters in the corpus, streamed from
    there. A run decides once, on the whole corpus, so its folds and its refit fit the same
    pipeline, and logs the decision as model.features. `compare_with_exact` (streamed runs): also
    cross-validate the exact pipeline on the same folds and log the paired difference
    (`cv_diff_vs_exact_*`)."""

    family: Literal["baseline"] = "baseline"
    normalise_style: bool = True
    text_tfidf: TfidfConfig = TfidfConfig()
    treatment_tfidf: TfidfConfig | None = None
    metadata_columns: bool = False
    classifier: LogisticRegressionConfig = LogisticRegressionConfig()
    features: Literal["auto", "exact", "streamed"] = "auto"
    streamed_from_letters: int = Field(default=STREAMED_FROM_LETTERS, ge=1)
    streamed: StreamedConfig = StreamedConfig()
    compare_with_exact: bool = False

    @model_validator(mode="after")
    def _streamed_reads_text(self) -> BaselineModelConfig:
        if self.features == "streamed" and (self.treatment_tfidf is not None or self.metadata_columns):
            raise ValueError(STREAMED_TEXT_ONLY)
        return self


STREAMED_TEXT_ONLY = (
    "model.features: streamed fits the text block only; set model.treatment_tfidf: null and "
    "model.metadata_columns: false, or model.features: exact"
)


def resolve(cfg: TrainConfig, letters: int) -> TrainConfig:
    """cfg with model.features `auto` decided for a corpus of `letters` letters (a run's every fit
    then agrees); a config error when the streamed pipeline is chosen for blocks it cannot fit."""
    m = cfg.model
    if m.features != "auto":
        return cfg
    chosen = "streamed" if letters >= m.streamed_from_letters else "exact"
    if chosen == "streamed" and (m.treatment_tfidf is not None or m.metadata_columns):
        raise ConfigError(
            f"{letters} letters (model.streamed_from_letters {m.streamed_from_letters}): {STREAMED_TEXT_ONLY}"
        )
    return cfg.model_copy(update={"model": m.model_copy(update={"features": chosen})})


def is_streamed(cfg: TrainConfig) -> bool:
    return cfg.model.features == "streamed"


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
    never pickle. A config still at features `auto` is decided on the letters of `train`."""
    import skops.io as sio

    if cfg.model.features == "auto":
        cfg = resolve(cfg, len(np.unique(train.letter_ids)))
    if not is_streamed(cfg):
        sio.dump(lean_for_saving(fit_pipeline(cfg.model, train, cfg.seed)), model_dir / PIPELINE_FILE)
        return [PIPELINE_FILE], serving_options(cfg.model)
    positions, y = _sorted(train)
    pipeline = streamed_fit.fit(cfg, feature_cache(cfg, train), positions, y, tracking.progress)
    sio.dump(pipeline, model_dir / PIPELINE_FILE)
    files = [PIPELINE_FILE]
    if cfg.model.streamed.term_names:
        files.append(
            streamed_fit.write_term_names(
                model_dir, cfg.model, pipeline, train.source, positions, cfg.data.feature_view, TOP_TERMS
            )
        )
    return files, serving_options(cfg.model)


# ---------------------------------------------------------------- the streamed pipeline's steps


def _sorted(items: Split) -> tuple[np.ndarray, np.ndarray]:
    """The items' corpus positions in order, and their labels in that order."""
    order = np.argsort(items.positions, kind="stable")
    return items.positions[order], items.y[order]


def feature_cache(cfg: TrainConfig, items: Split) -> streamed_features.FeatureCache:
    """The hashed counts of the corpus `items` come from, built once (in parallel: evaluation.n_jobs)."""
    with tracking.stage("features"):
        return streamed_features.feature_cache(
            cfg.model, cfg.data.feature_view, items.source, Workers(cfg.evaluation.n_jobs), tracking.progress
        )


def prepare(cfg: TrainConfig, items: Split) -> None:
    """Before the folds: the streamed pipeline's one pass over the corpus."""
    if is_streamed(cfg):
        feature_cache(cfg, items)


def held_out_scores(cfg: TrainConfig, model, items: Split) -> tuple[np.ndarray, np.ndarray] | None:
    """(p_overturned, in distribution) of held-out items from the cached counts (streamed pipeline):
    the packaged scorer's own steps after the hashing; None for the exact pipeline (scored from text)."""
    if not is_streamed(cfg):
        return None
    scorer, check = model.serving()
    cache = feature_cache(cfg, items)
    order = np.argsort(items.positions, kind="stable")
    p, ok = np.empty(len(items)), np.empty(len(items), dtype=bool)
    p[order] = streamed_fit.held_out_scores(scorer, cache, items.positions[order])
    ok[order] = streamed_fit.in_distribution(check, cache, items.positions[order])
    return p, ok


def package_evidence(
    cfg: TrainConfig, train: Split, model_dir: Path, precedents: bool
) -> tuple[list[str], dict[str, int]] | None:
    """The streamed pipeline's out-of-distribution vocabulary and field lengths, and for the shipped
    model its precedents and criteria, built from the corpus a block at a time; None: the exact
    pipeline's (training.families.packaging, from the records)."""
    if not is_streamed(cfg):
        return None
    positions, _ = _sorted(train)
    cache = feature_cache(cfg, train)
    files = [streamed_fit.write_training_vocabulary(model_dir, cache, positions)]
    if precedents:
        cap = cfg.model.streamed.criteria_items
        sample = (
            None if cap is None else np.sort(train.positions[tracking.letter_sample(train.letter_ids, cap, "criteria")])
        )
        with tracking.stage("precedents_index"):
            workers = Workers(cfg.evaluation.n_jobs)
            files += streamed_evidence.write_evidence(
                model_dir, train.source, positions, workers, tracking.progress, sample
            )
    return files, streamed_fit.longest_fields(cache, positions)


def fold_config(cfg: TrainConfig) -> TrainConfig:
    """A fold's model names no terms (term_names.json is read only from the shipped model's run)."""
    streamed = cfg.model.streamed.model_copy(update={"term_names": False})
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"streamed": streamed})})


def references(cfg: TrainConfig) -> dict[str, ModelConfig]:
    """compare_with_exact: the exact pipeline on the same folds."""
    if not (cfg.model.compare_with_exact and is_streamed(cfg)):
        return {}
    return {"exact": cfg.model.model_copy(update={"features": "exact", "compare_with_exact": False})}


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
    """Refuse, before anything runs, a min_df no term of the smallest training set could reach
    (the streamed pipeline keeps every term: no min_df)."""
    if is_streamed(cfg):
        return
    blocks = {"text_tfidf": cfg.model.text_tfidf, "treatment_tfidf": cfg.model.treatment_tfidf}
    for key, tfidf in blocks.items():
        if tfidf is not None and tfidf.min_df > n_train_items:
            raise ConfigError(
                f"model.{key}.min_df: {tfidf.min_df} is larger than the {n_train_items} items "
                f"a model is trained on here; no term could be kept"
            )


TOP_TERMS = 25


def top_terms(model_dir: Path, k: int = TOP_TERMS) -> pd.DataFrame:
    """The k features with the largest positive (toward Overturned) and negative (toward Upheld)
    logistic-regression weights; a hashed column (streamed pipeline) is named by the training terms
    that hash to it, most frequent first (term_names.json)."""
    import json

    from serving.skops_trust import load_trusted_skops

    pipeline = load_trusted_skops(model_dir / PIPELINE_FILE)  # the types serving trusts, no others
    features = pipeline.named_steps["features"]
    coef = pipeline.named_steps["classifier"].coef_[0]
    if hashing_step(features.named_transformers_["text"]) is None:
        names = features.get_feature_names_out()
    else:
        columns = json.loads((model_dir / TERM_NAMES_FILE).read_text())["columns"]
        names = _HashedNames({int(c): terms for c, terms in columns.items()})
    order = np.argsort(coef)
    rows = [{"toward": OVERTURNED, "feature": names[i], "weight": float(coef[i])} for i in order[::-1][:k]]
    rows += [{"toward": UPHELD, "feature": names[i], "weight": float(coef[i])} for i in order[:k]]
    return pd.DataFrame(rows)


class _HashedNames(dict):
    """names[column] of a hashed column, as `text__<term> / <term>` (`text__#<column>` unnamed)."""

    def __missing__(self, column: int) -> str:
        return f"text__#{column}"

    def __getitem__(self, column) -> str:
        terms = self.get(int(column))
        return "text__" + " / ".join(terms) if terms else self.__missing__(int(column))


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


def _hashed_words(m) -> str:
    t = m.text_tfidf
    stop = f", {t.stop_words} stop words removed" if t.stop_words else ""
    return (
        f"{t.analyzer} {t.ngram_range[0]}-{t.ngram_range[1]}-grams hashed into {m.streamed.n_features:,} columns"
        f"{', sublinear tf' if t.sublinear_tf else ''}{stop}"
    )


def describe(cfg: TrainConfig) -> str:
    m = cfg.model
    if is_streamed(cfg):
        return (
            f"hashed TF-IDF ({_hashed_words(m)}) + logistic regression by SGD (C={m.classifier.C:g}, "
            f"class_weight {m.classifier.class_weight}, {m.streamed.epochs} epochs), streamed from the ingested shards"
        )
    return (
        f"TF-IDF ({_tfidf_words(m.text_tfidf)}) + logistic regression (C={m.classifier.C:g}, "
        f"class_weight {m.classifier.class_weight})"
    )


def _criteria_words(m) -> str:
    cap = m.streamed.criteria_items
    return "every item" if cap is None else f"the items of a fixed sample of letters, at most {cap:,}"


def card_section(cfg: TrainConfig, facts: RunFacts) -> str:
    m = cfg.model
    if is_streamed(cfg):
        return f"""## Model family: hashed TF-IDF + logistic regression by SGD (baseline, streamed)
- Features: TF-IDF of the `{cfg.data.feature_view}` text ({_hashed_words(m)}); the idf from the training \
items' document frequencies, summed a block at a time.
- Classifier: logistic loss by SGD (scikit-learn SGDClassifier, {m.streamed.epochs} epochs, L2 penalty \
1/(C x items) with C={m.classifier.C:g}, class_weight {m.classifier.class_weight}); saved with skops (no pickle).
- Why streamed: the corpus has at least {m.streamed_from_letters:,} letters (model.streamed_from_letters) or the \
config asks for it; no step holds the corpus in memory. The reviewer criteria shown with a prediction count \
{_criteria_words(m)}.
- What it leans on: the 25 columns with the largest weights toward Overturned and toward Upheld, named by the \
training terms hashed into them, are in the run's `top_terms.md` artifact.
"""
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
