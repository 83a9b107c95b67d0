"""The streamed baseline's fit: idf and a logistic model learned from the hashed counts a block at a
time (training.families.streamed_features), and the pipeline serving loads.

- idf: document frequencies of the training items, summed block by block (TfidfTransformer's smooth
  idf, as the exact pipeline's TfidfVectorizer computes it).
- classifier: scikit-learn's SGDClassifier with the logistic loss, `partial_fit` on one block of
  training items at a time, blocks and items within them in a seeded random order, for
  `streamed.epochs` passes. Its objective is the exact pipeline's LogisticRegression's divided by
  C x n: the L2 penalty alpha = 1 / (C x n), and class_weight "balanced" as counted over the
  training items (partial_fit cannot count them itself).
- the packaged pipeline has the exact pipeline's shape, so serving.scorers.BaselineScorer scores it
  as it is: Pipeline(features=ColumnTransformer([("text", Pipeline(hashing, tfidf), "text")]),
  classifier). Its ColumnTransformer is fitted on one empty text (a HashingVectorizer learns
  nothing), then given the idf learned here.

Memory: one block of counts, the idf and the coefficients (n_features floats each).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from serving.field_limits import TEXT_FIELDS
from serving.ood import write_vocabulary
from serving.precedents import smooth_idf
from training.families.hashed_terms import TERM_NAMES_FILE, term_columns
from training.families.streamed_features import TEXT_COLUMNS, FeatureCache, hashing_vectorizer, item_texts

TERM_SAMPLE_ITEMS = 5_000  # training items whose terms name the model's strongest columns (a bounded cost)


def document_frequencies(cache: FeatureCache, positions: np.ndarray, n_features: int) -> np.ndarray:
    df = np.zeros(n_features, dtype=np.int64)
    for k, rows, _ in cache.rows(positions):
        df += np.bincount(cache.counts(k)[rows].indices, minlength=n_features)
    return df


def tfidf_transformer(model, idf: np.ndarray):
    from sklearn.feature_extraction.text import TfidfTransformer

    t = model.text_tfidf
    transformer = TfidfTransformer(sublinear_tf=t.sublinear_tf)
    transformer.idf_ = idf.astype(np.float32)
    transformer.n_features_in_ = len(idf)
    return transformer


def sgd_classifier(cfg, y: np.ndarray):
    from sklearn.linear_model import SGDClassifier

    m = cfg.model
    counts = np.bincount(y, minlength=2)
    weights = (
        {c: len(y) / (2 * counts[c]) for c in (0, 1) if counts[c]} if m.classifier.class_weight == "balanced" else None
    )
    return SGDClassifier(
        loss="log_loss",
        alpha=1 / (m.classifier.C * len(y)),
        class_weight=weights,
        average=m.streamed.average,
        random_state=cfg.seed,
    )


def fit_classifier(cfg, cache: FeatureCache, positions: np.ndarray, y: np.ndarray, transformer, progress):
    """SGD over the training blocks (y: the labels at `positions`)."""
    classifier = sgd_classifier(cfg, y)
    rng = np.random.default_rng(cfg.seed)
    blocks = list(cache.rows(positions))
    epochs = cfg.model.streamed.epochs
    with progress(epochs * len(positions), "fit (SGD epochs over the blocks)", "items") as bar:
        for _ in range(epochs):
            for j in rng.permutation(len(blocks)):
                k, rows, at = blocks[j]
                order = rng.permutation(len(rows))
                X = transformer.transform(cache.counts(k)[rows[order]])
                classifier.partial_fit(X, y[at[order]], classes=np.array([0, 1]))
                bar.update(len(rows))
    return classifier


def pipeline(model, idf: np.ndarray, classifier):
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    text = Pipeline([("hashing", hashing_vectorizer(model)), ("tfidf", tfidf_transformer(model, idf))])
    features = ColumnTransformer([("text", text, "text")]).fit(pd.DataFrame({"text": [""]}))
    fitted = features.named_transformers_["text"].named_steps["tfidf"]
    fitted.idf_ = idf.astype(np.float32)
    return Pipeline([("features", features), ("classifier", classifier)])


def fit(cfg, cache: FeatureCache, positions: np.ndarray, y: np.ndarray, progress):
    """The fitted pipeline of the items at sorted corpus `positions` (labels y)."""
    n_features = cfg.model.streamed.n_features
    idf = smooth_idf(document_frequencies(cache, positions, n_features), len(positions))
    classifier = fit_classifier(cfg, cache, positions, y, tfidf_transformer(cfg.model, idf), progress)
    return pipeline(cfg.model, idf, classifier)


def write_training_vocabulary(model_dir: Path, cache: FeatureCache, positions: np.ndarray) -> str:
    """serving.ood's vocabulary file of the items at `positions`, from the cached words and lengths."""
    vocabulary: set[str] = set()
    lengths = []
    for k, rows, _ in cache.rows(positions):
        ood = cache.ood(k)
        chosen = np.isin(_item_of(ood), rows)
        vocabulary.update(ood["words"][np.unique(ood["word_ids"][chosen])].tolist())
        lengths.append(ood["summary_words"][rows])
    return write_vocabulary(model_dir, vocabulary, np.concatenate(lengths) if lengths else np.zeros(0, np.int64))


def longest_fields(cache: FeatureCache, positions: np.ndarray) -> dict[str, int]:
    """serving.field_limits.longest_fields of the items at `positions`, from the cached lengths."""
    longest = np.zeros(len(TEXT_FIELDS), dtype=np.int64)
    for k, rows, _ in cache.rows(positions):
        lengths = cache.ood(k)["field_lengths"][rows]
        if len(lengths):
            longest = np.maximum(longest, lengths.max(axis=0))
    return {name: int(n) for name, n in zip(TEXT_FIELDS, longest)}


def _item_of(ood: dict[str, np.ndarray]) -> np.ndarray:
    """The block item each cached treatment word belongs to."""
    indptr = ood["word_indptr"]
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


def in_distribution(check, cache: FeatureCache, positions: np.ndarray) -> np.ndarray:
    """serving.ood.DistributionCheck.reason(record) is None for the items at `positions`, from the
    cached words and lengths (check None: a model without the check, every item in)."""
    out = np.ones(len(positions), dtype=bool)
    if check is None:
        return out
    for k, rows, at in cache.rows(positions):
        ood = cache.ood(k)
        known = np.array([w in check.vocabulary for w in ood["words"].tolist()], dtype=bool)
        hits = np.zeros(len(ood["word_indptr"]) - 1, dtype=bool)
        hits[_item_of(ood)[known[ood["word_ids"]]]] = True
        out[at] = hits[rows] & (ood["summary_words"][rows] >= check.min_summary_words)
    return out


def held_out_scores(scorer, cache: FeatureCache, positions: np.ndarray) -> np.ndarray:
    """The packaged pipeline's p_overturned of the items at `positions`, from their cached counts:
    the scorer's own tfidf and classifier after the hashing (which gave the cache)."""
    p = np.empty(len(positions))
    tfidf = scorer.tfidf.named_steps["tfidf"]
    for k, rows, at in cache.rows(positions):
        p[at] = scorer.classifier.predict_proba(tfidf.transform(cache.counts(k)[rows]))[:, 1]
    return p


def write_term_names(model_dir: Path, model, fitted, source, positions: np.ndarray, view: str, top: int) -> str:
    """term_names.json: the `top` columns with the largest weights each way, each with the terms of
    up to TERM_SAMPLE_ITEMS training items (the first ones) that hash to it, most frequent first."""
    from collections import Counter

    coef = fitted.named_steps["classifier"].coef_[0]
    order = np.argsort(coef)
    columns = {int(c) for c in [*order[:top], *order[::-1][:top]]}
    hashing = hashing_vectorizer(model)
    analyzer = hashing.build_analyzer()
    counted: dict[int, Counter] = {c: Counter() for c in columns}
    seen = 0
    for _, rows in source.batches(list(TEXT_COLUMNS), positions[:TERM_SAMPLE_ITEMS]):
        for text in item_texts(rows.to_pylist(), view, model.normalise_style):
            terms = sorted(set(analyzer(text)))
            for term, column in zip(terms, term_columns(hashing, terms)):
                if int(column) in counted:
                    counted[int(column)][term] += 1
        seen += rows.num_rows
    names = {str(c): [t for t, _ in counted[c].most_common(3)] for c in sorted(columns)}
    (model_dir / TERM_NAMES_FILE).write_text(json.dumps({"sample_items": seen, "columns": names}, indent=1))
    return TERM_NAMES_FILE
