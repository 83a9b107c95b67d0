"""Reviewer criteria: what an IMR rationale cites as the reason for its decision, and whether a
case summary documents it. Pure text in, criterion ids out; nothing here is logged or stored.

A rationale *cites* a criterion when it names it as a requirement or a finding, met or not:
"there is no documentation of objective functional improvement" and "the records document
functional improvement" both cite `functional_improvement`. Quoted guideline text counts too:
the reviewer chose the passage because it is what the decision turns on.

A request or case summary *documents* a criterion when it records the matching fact for this
patient (functional gains, failed physical therapy, MRI findings, ...): some sentence mentions it
(features/criteria_summary.py) and the mention is not negated ("no red flags", "denies bowel or
bladder changes", "has not had PT"), hypothetical ("will consider PT if no improvement", "request
for 6 additional visits") or about a relative ("family history of myeloma";
features/criteria_context.py). Historical mentions count ("h/o GI bleed", "s/p ESI with 60%
relief"). Some criteria need more than one sentence's mention: the next sentence ("Completed PT.
Pain remains 7/10."; features/criteria_reading.py) or the request itself (a repeat study, a risk
that bears on the treatment asked for; features/criteria_request.py). The reading conventions are
rule book v2 (the "about" of tests/data/request_criteria_dev.json). Criteria about the guideline or
the request itself (the treatment is not recommended, the request names no quantity) have no
summary pattern: `documented` is None for them.

The vocabulary (features/criteria_vocabulary.py) is fixed so counts mean the same thing in every
model package.
"""

from __future__ import annotations

from features.criteria_context import assertion, sentences, spelled
from features.criteria_request import READINGS
from features.criteria_vocabulary import CRITERIA, Criterion, Kind

__all__ = ["BY_ID", "CRITERIA", "Criterion", "Kind", "cited", "documented"]

BY_ID = {c.id: c for c in CRITERIA}


def _normal(text: str | None) -> str:
    return " ".join((text or "").split())


def cited(rationale: str | None) -> list[str]:
    """Ids of the criteria a rationale cites, in vocabulary order."""
    text = _normal(rationale)
    return [c.id for c in CRITERIA if text and c.cites.search(text)]


def documented(criterion_id: str, case_summary: str | None, treatment: str | None = None) -> bool | None:
    """Whether the summary documents the criterion for this patient; None for a criterion no summary documents.
    `treatment` is what the request asks for: repeat_study and risk_factors depend on it (a repeat
    MRI needs a prior MRI of the same region; a GI history bears on an NSAID, not on a knee MRI);
    without it they are read from the summary alone."""
    criterion = BY_ID[criterion_id]
    if criterion.documents is None:
        return None
    lines = tuple(spelled(sentence) for sentence in sentences(case_summary))
    found = [
        (index, match)
        for index, sentence in enumerate(lines)
        for pattern in criterion.documents
        for match in pattern.finditer(sentence)
        if assertion(sentence, match.start(), match.end(), criterion.polar) is None
    ]
    reading = READINGS.get(criterion_id)
    return reading(lines, found, treatment) if reading else bool(found)
