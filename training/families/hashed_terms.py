"""Names of hashed features. The streamed baseline (training.families.streamed_features) hashes terms
into columns (scikit-learn's HashingVectorizer) and keeps no vocabulary, so a column is named by the
terms counted in training items that hash into it (term_names.json in the package, for the model's
strongest columns), read back only for the run's `top_terms.md`. Serving never reads the names:
reasons leave the request's own phrases out (serving.reasons).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer

TERM_NAMES_FILE = "term_names.json"


def hashing_step(text_block) -> Any | None:
    """The HashingVectorizer at the head of a text block (a Pipeline of it and a TfidfTransformer), or None."""
    steps = getattr(text_block, "steps", None)
    return steps[0][1] if steps and isinstance(steps[0][1], HashingVectorizer) else None


def term_columns(hashing, terms: Sequence[str]) -> np.ndarray:
    """The column each term hashes to: what `hashing.transform` counts it in (its own FeatureHasher)."""
    if not terms:
        return np.zeros(0, dtype=np.int64)
    hasher = FeatureHasher(n_features=hashing.n_features, input_type="string", alternate_sign=hashing.alternate_sign)
    return hasher.transform([[t] for t in terms]).indices.astype(np.int64)
