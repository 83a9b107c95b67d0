"""Reviewer criteria: what an IMR rationale cites as the reason for its decision, and whether a
case summary documents it. Pure text in, criterion ids out; nothing here is logged or stored.

A rationale *cites* a criterion when it names it as a requirement or a finding, met or not:
"there is no documentation of objective functional improvement" and "the records document
functional improvement" both cite `functional_improvement`. Quoted guideline text counts too:
the reviewer chose the passage because it is what the decision turns on.

A case summary *documents* a criterion when it records the matching fact (the summary mentions
functional gains, failed physical therapy, MRI findings, ...). Facts a summary reports as absent
("no bowel or bladder dysfunction") do not count for the criteria marked `negatable`. Criteria
about the guideline or the request itself (the treatment is not recommended, the request names
no quantity) have no summary pattern: `documented` is None for them.

The vocabulary (features/criteria_vocabulary.py) is fixed so counts mean the same thing in every
model package.
"""

from __future__ import annotations

import re

from features.criteria_vocabulary import CRITERIA, Criterion, Kind

__all__ = ["BY_ID", "CRITERIA", "Criterion", "Kind", "cited", "documented"]

BY_ID = {c.id: c for c in CRITERIA}
_NEGATION = re.compile(
    r"\b(?:no|not|without|negative|denie[sd]|deny|absence|absent|lack|lacks|lacking|nor|neither)\b", re.IGNORECASE
)
_NEGATION_WINDOW = 40  # characters before a match, within its sentence


def _normal(text: str | None) -> str:
    return " ".join((text or "").split())


def cited(rationale: str | None) -> list[str]:
    """Ids of the criteria a rationale cites, in vocabulary order."""
    text = _normal(rationale)
    return [c.id for c in CRITERIA if text and c.cites.search(text)]


def _affirmed(pattern: re.Pattern[str], text: str) -> bool:
    """Some match of `pattern` is not negated within its sentence just before it."""
    for match in pattern.finditer(text):
        before = text[max(0, match.start() - _NEGATION_WINDOW) : match.start()]
        before = re.split(r"[.;:]", before)[-1]
        if not _NEGATION.search(before):
            return True
    return False


def documented(criterion_id: str, case_summary: str | None) -> bool | None:
    """Whether the case summary documents the criterion; None for a criterion no summary documents."""
    criterion = BY_ID[criterion_id]
    if criterion.documents is None:
        return None
    text = _normal(case_summary)
    if not text:
        return False
    if criterion.negatable:
        return _affirmed(criterion.documents, text)
    return criterion.documents.search(text) is not None
