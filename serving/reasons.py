"""Reasons: what pushed an item's score up or down, readable by a person.

Each family's scorer has a `reasons(records, top)` method (serving.scorers, serving.transformer_scorer)
built on one of these; they run only when a caller asks for an explanation, never on the path of
a plain prediction. A reason is

    {"kind": "term" | "sentence" | "feature", "text": ..., "effect": float, "direction": "up" | "down"}

- baseline (`term_reasons`): the logistic regression is linear in its features, so a feature's
  contribution to the log-odds is exactly coefficient x value; `effect` is in log-odds units.
- transformer (`sentence_reasons`): the change in the raw probability when one sentence of the
  case summary is left out (occlusion); `effect` > 0 means the sentence raised the score.

The texts are the request's own words or the model's vocabulary; they are returned to the caller
and never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from features.views import split_sentences

TOP = 5
MAX_SENTENCES = 40  # a summary's first 40 sentences: bounds the cost of one explanation
SENTENCE_CHARS = 240


def _reason(kind: str, text: str, effect: float) -> dict[str, Any]:
    return {"kind": kind, "text": text, "effect": round(float(effect), 4), "direction": "up" if effect > 0 else "down"}


def top_reasons(candidates: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    """The `top` strongest upward reasons, then the `top` strongest downward ones."""
    up = sorted((r for r in candidates if r["effect"] > 0), key=lambda r: -r["effect"])[:top]
    down = sorted((r for r in candidates if r["effect"] < 0), key=lambda r: r["effect"])[:top]
    return up + down


def readable_feature(name: str) -> tuple[str, str]:
    """(kind, text) for a ColumnTransformer output name such as `text__lumbar spine`."""
    block, _, feature = name.partition("__")
    if block == "text":
        return "term", feature
    if block == "treatment":
        return "term", f"treatment: {feature}"
    for column in ("treatment_category", "patient_sex"):  # one-hot columns: `<column>_<value>`
        if block == "categorical" and feature.startswith(f"{column}_"):
            value = feature.removeprefix(f"{column}_")
            return "feature", f"{column.replace('_', ' ')} = {value.replace('_', ' ')}"
    return "feature", feature.replace("_", " ")


def term_reasons(matrix, names: Sequence[str], coef: np.ndarray, top: int = TOP) -> list[list[dict[str, Any]]]:
    """Per row of `matrix` (the items' feature values; `names` are the ColumnTransformer's output
    names), coefficient x value of its non-zero features."""
    from scipy import sparse

    coef = np.asarray(coef, dtype=float)
    matrix = sparse.csr_matrix(matrix)
    out = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        columns, values = matrix.indices[start:end], matrix.data[start:end]
        effects = coef[columns] * values
        candidates = [_reason(*readable_feature(names[c]), e) for c, e in zip(columns, effects, strict=True) if e != 0]
        out.append(top_reasons(candidates, top))
    return out


def sentence_reasons(
    predict: Callable[[list[Mapping[str, Any]]], np.ndarray], records: Sequence[Mapping[str, Any]], top: int = TOP
) -> list[list[dict[str, Any]]]:
    """Per record, the effect of leaving out each of its case summary's sentences, one at a time."""
    out = []
    for record in records:
        sentences = [s for s in split_sentences(record.get("case_summary") or "") if s.strip()][:MAX_SENTENCES]
        if not sentences:
            out.append([])
            continue
        variants = [dict(record)] + [
            dict(record, case_summary=" ".join(s for j, s in enumerate(sentences) if j != i))
            for i in range(len(sentences))
        ]
        p = np.asarray(predict(variants), dtype=float)
        candidates = [
            _reason("sentence", _clip(s), p[0] - p[i + 1]) for i, s in enumerate(sentences) if p[0] != p[i + 1]
        ]
        out.append(top_reasons(candidates, top))
    return out


def _clip(sentence: str) -> str:
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= SENTENCE_CHARS else sentence[:SENTENCE_CHARS].rsplit(" ", 1)[0] + " …"
