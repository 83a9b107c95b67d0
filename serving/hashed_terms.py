"""Names of hashed features. The streamed baseline (training.families.streamed_features) hashes terms
into columns (scikit-learn's HashingVectorizer) and keeps no vocabulary, so a column is named by the
terms that hash into it: for an explanation, the terms of the request itself (exact: only the
request's own words can give its features a value); for the model's strongest columns, the terms
counted in training items (term_names.json in the package).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

TERM_NAMES_FILE = "term_names.json"


def hashing_step(text_block) -> Any | None:
    """The HashingVectorizer at the head of a text block (a Pipeline of it and a TfidfTransformer), or None."""
    from sklearn.feature_extraction.text import HashingVectorizer

    steps = getattr(text_block, "steps", None)
    return steps[0][1] if steps and isinstance(steps[0][1], HashingVectorizer) else None


def term_columns(hashing, terms: Sequence[str]) -> np.ndarray:
    """The column each term hashes to: what `hashing.transform` counts it in (its own FeatureHasher)."""
    from sklearn.feature_extraction import FeatureHasher

    if not terms:
        return np.zeros(0, dtype=np.int64)
    hasher = FeatureHasher(n_features=hashing.n_features, input_type="string", alternate_sign=hashing.alternate_sign)
    return hasher.transform([[t] for t in terms]).indices.astype(np.int64)


def request_names(hashing, text: str) -> dict[int, str]:
    """column -> the text's terms in it ("a / b" when two of its terms share a column)."""
    terms = sorted(set(hashing.build_analyzer()(text)))
    names: dict[int, str] = {}
    for term, column in zip(terms, term_columns(hashing, terms)):
        names[int(column)] = f"{names[column]} / {term}" if column in names else term
    return names


def hashed_reasons(text_block, coef: np.ndarray, texts: Iterable[str], top: int) -> list[list[dict]]:
    """serving.reasons.term_reasons of each text, its columns named by its own terms."""
    from serving.reasons import term_reasons

    texts = list(texts)
    hashing, matrix = hashing_step(text_block), text_block.transform(texts)
    out = []
    for row, text in enumerate(texts):
        names = {column: f"text__{term}" for column, term in request_names(hashing, text).items()}
        out += term_reasons(matrix[row], names, coef, top)
    return out
