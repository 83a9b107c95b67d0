"""Reasons: which phrases of a request moved its score, and by how many percentage points.

One method for every family (baseline, transformer, ensemble): occlusion. The candidate phrases of
a request (serving/reason_phrases.py: the treatment and its category, the reviewer criteria the
summary documents or lacks, its clinical findings) are each left out in turn (a criterion the
request lacks is added instead), the model scores every variant in one batch, and a phrase's
effect is

    effect = 100 * (P(request) - P(request without the phrase))   percentage points

with P the probability the caller sees (the calibrated one where the package has a calibration:
the scorer passed in is the one predictions use). For a criterion the request lacks the phrase is
absent, so `effect` = 100 * (P(request) - P(request with it documented)): a negative effect means
documenting it would raise the score. Effects are not additive (the phrases interact, and a
calibration is not linear), so they do not sum to the distance from the base rate.

A reason is

    {"kind": "treatment" | "documents" | "lacks" | "finding", "text": ..., "quote": ... | None,
     "criteria": [criterion ids], "effect": pp, "direction": "up" | "down"}

ranked by the size of the effect, at most `top`, none under MIN_EFFECT_PP, and never a bare token
(serving/reason_stoplist.py: a spinal level, side, role word, unit or template word alone). They
run only when a caller asks for an explanation, never on the path of a plain prediction; the texts
are the request's own words or the vocabulary's labels, returned to the caller and never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from serving.reason_phrases import Candidate, RequestPhrases, request_phrases
from serving.reason_stoplist import bare

TOP = 6
MIN_EFFECT_PP = 0.05  # smaller effects print as 0.0 points: not a reason

Predict = Callable[[list[Mapping[str, Any]]], np.ndarray]


def _reason(c: Candidate, effect_pp: float) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "text": c.text,
        "quote": c.quote,
        "criteria": list(c.criteria),
        "effect": round(float(effect_pp), 2),
        "direction": "up" if effect_pp > 0 else "down",
    }


def ranked(reasons: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    """The `top` largest effects (either direction), none too small to print, none bare."""
    kept = [r for r in reasons if abs(r["effect"]) >= MIN_EFFECT_PP and not bare(r["text"])]
    return sorted(kept, key=lambda r: -abs(r["effect"]))[:top]


def phrase_reasons(
    predict: Predict,
    records: Sequence[Mapping[str, Any]],
    top: int = TOP,
    criteria: Sequence[Mapping[str, bool | None]] | None = None,
) -> list[list[dict[str, Any]]]:
    """Per record, its reasons. `predict` maps records to P(Overturned); `criteria` per record: the
    criteria its category calls for and whether it documents each (serving.reason_phrases.request_phrases)."""
    phrases: list[RequestPhrases] = [
        request_phrases(r, criteria[i] if criteria is not None else None) for i, r in enumerate(records)
    ]
    batch: list[Mapping[str, Any]] = []
    for found in phrases:
        batch.append(found.full())
        batch.extend(found.variant(c) for c in found.candidates)
    p = np.asarray(predict(batch), dtype=float) if batch else np.empty(0)
    out, at = [], 0
    for found in phrases:
        base, variants = p[at], p[at + 1 : at + 1 + len(found.candidates)]
        at += 1 + len(found.candidates)
        out.append(ranked([_reason(c, 100 * (base - q)) for c, q in zip(found.candidates, variants)], top))
    return out
