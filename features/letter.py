"""Typed records for a parsed IMR Final Determination Letter."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Decision = Literal["Upheld", "Overturned"]
# The labels, by class id: 0 = Upheld (the denial stands), 1 = Overturned (the treatment is
# approved, the class every model scores). Every label, id2label and decision step reads these.
UPHELD, OVERTURNED = "Upheld", "Overturned"
LABEL_NAMES = (UPHELD, OVERTURNED)
ID2LABEL = dict(enumerate(LABEL_NAMES))
LABEL2ID = {name: i for i, name in ID2LABEL.items()}


class PartialApproval(BaseModel):
    """UR authorized part of the request; IMR decided only the remaining portion."""

    model_config = ConfigDict(extra="forbid")

    original_request: str
    authorized: str | None
    remaining_portion: str | None


class Item(BaseModel):
    """One disputed item/service and everything the letter says about it."""

    model_config = ConfigDict(extra="forbid")

    treatment: str
    decision: Decision
    partial_approval: PartialApproval | None = None
    claims_administrator_guideline: str
    maximus_guideline: str
    rationale: str


class Letter(BaseModel):
    """A Final Determination Letter. Header fields are None when the source lacks them
    (the seed texts start at "HOW THE IMR FINAL DETERMINATION WAS MADE")."""

    model_config = ConfigDict(extra="forbid")

    case_number: str | None = None
    date_assigned: str | None = None  # ISO dates (YYYY-MM-DD)
    date_of_injury: str | None = None
    decision_date: str | None = None
    ur_denial_date: str | None = None
    application_received: str | None = None
    priority: str | None = None
    reviewer_licensure: list[str] = []
    reviewer_specialty: str | None = None
    patient_age: int | None = None
    patient_sex: Literal["male", "female"] | None = None
    case_summary: str
    items: list[Item]
    # Oddities the parser corrected rather than rejected (e.g. an impossible age set to null).
    warnings: list[str] = []
