"""One disputed item to model inputs, for a named feature view.

`pre_decision` (the default) uses only what exists before IMR decides: the request, the case
summary, the claims administrator's guideline and metadata. `with_rationale` (research only)
adds the IMR rationale with the sentences that state the verdict masked.

Records are flat mappings with the fields of `ItemRecord`; dataset rows carry them all, and a
request to the predict service carries the pre-decision ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from features.categories import treatment_category

View = Literal["pre_decision", "with_rationale"]
VIEWS: tuple[str, ...] = ("pre_decision", "with_rationale")
MASK = "[VERDICT]"


class ItemRecord(BaseModel):
    """What the models may see about one disputed item. Only `treatment` is required."""

    model_config = ConfigDict(extra="ignore")

    treatment: str = Field(min_length=1)
    case_summary: str = ""
    claims_administrator_guideline: str = ""
    patient_age: int | None = Field(default=None, ge=0, le=120)
    patient_sex: Literal["male", "female"] | None = None
    days_since_injury: int | None = Field(default=None, ge=0)
    partial_approval: bool = False
    original_request: str = ""
    authorized_portion: str = ""
    rationale: str = ""  # with_rationale view only


def item_field_types() -> dict[str, str]:
    """ItemRecord's fields as plain type names (string, int, bool), in declaration order: the one
    item schema from which the dataset's item columns and the MLflow signature are built."""
    import types
    from typing import Union, get_args, get_origin

    out = {}
    for name, field in ItemRecord.model_fields.items():
        annotation = field.annotation
        if get_origin(annotation) in (types.UnionType, Union):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        plain = {str: "string", int: "int", bool: "bool"}
        out[name] = "string" if get_origin(annotation) is Literal else plain[annotation]
    return out


def model_inputs(record: Mapping[str, Any], view: View = "pre_decision") -> dict[str, Any]:
    """`text` (treatment first, so a truncating encoder always sees it) plus structured metadata."""
    if view not in VIEWS:
        raise ValueError(f"unknown feature view {view!r}; expected one of {', '.join(VIEWS)}")
    # Missing values arrive as None (JSON) or NaN (pandas); both mean "not given".
    given = {k: v for k, v in record.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
    r = ItemRecord.model_validate(given)
    category = treatment_category(r.treatment)
    parts = [r.treatment, f"category: {category.replace('_', ' ')}."]
    if r.partial_approval:
        parts.append(f"partial approval: original request {r.original_request}; authorized {r.authorized_portion}.")
    patient = " ".join(
        p
        for p in (
            f"{r.patient_age} year old" if r.patient_age is not None else "",
            r.patient_sex or "",
            f"{r.days_since_injury} days since injury" if r.days_since_injury is not None else "",
        )
        if p
    )
    if patient:
        parts.append(f"patient: {patient}.")
    if r.claims_administrator_guideline:
        parts.append(f"claims administrator guideline: {r.claims_administrator_guideline}")
    if r.case_summary:
        parts.append(f"case summary: {r.case_summary}")
    if view == "with_rationale" and r.rationale:
        parts.append(f"rationale: {mask_verdict(r.rationale)}")
    return {
        "text": " ".join(parts),
        "treatment": r.treatment,
        "treatment_category": category,
        "patient_age": r.patient_age,
        "patient_sex": r.patient_sex,
        "days_since_injury": r.days_since_injury,
        "partial_approval": r.partial_approval,
        # The parts of `text` as separate columns, for blocks that treat them differently
        # (research.signal_hypotheses.request_features: the guideline's citation flags, a TF-IDF without the summary).
        "case_summary": r.case_summary,
        "claims_administrator_guideline": r.claims_administrator_guideline,
        "original_request": r.original_request,
        "authorized_portion": r.authorized_portion,
    }


_VERDICT = re.compile(
    r"medically (?:un)?necessary|medical necessity|\bupheld\b|\boverturned\b|\bnon-?certif|\bcertif(?:y|ied)\b|"
    r"\bis (?:not )?(?:supported|warranted|indicated|appropriate|approved|recommended|established)\b|"
    r"\b(?:not )?(?:warranted|supported)\b|\brevers(?:e|es|ed|ing)\b|\bdoes? (?:not )?support\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def mask_verdict(rationale: str) -> str:
    """Replace every sentence that states the verdict with a mask token."""
    return " ".join(MASK if _VERDICT.search(s) else s for s in _SENTENCE.split(rationale))


def split_sentences(text: str) -> list[str]:
    """Sentences of a letter's prose, split where the verdict mask and precedent excerpts split them."""
    return _SENTENCE.split(text)
