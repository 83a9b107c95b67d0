"""What would change the answer: for each criterion reviewers cite for the request's treatment category
(serving/criteria.py) that its case summary does not document, the probability the model gives when the
summary also documents it, so a physician sees what to add before submitting.

Every family is asked the same way: the request is re-scored by its own model, exactly as a prediction
is (calibrated, capped when out of distribution: serving.prediction.score_items), with a short standard
sentence documenting the criterion appended to the case summary. The sentence is used only where
features.criteria.documented reads it as documenting the criterion for this request (some readings
depend on the treatment: a risk factor must bear on it, a repeat study needs a prior one of the same
kind); otherwise the criterion is listed without a probability. A sentence can also document criteria
the vocabulary reads from the same words (functional gains are also a response to treatment); those
the sentence documents on its own and the whole summary confirms are named in `also_documents`. For the
criteria family the re-scored probability is its coefficient's effect; for the text families it is the
model's answer to that text.

The probabilities are the model's association in decided letters, not a promise: `NOTE` says so, and
every interface shows it beside them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from features.criteria import BY_ID, documented

NOTE = (
    "What would change the answer: the probability this model gives if the case summary also documented each "
    "criterion IMR reviewers cite for this treatment category that it does not document now, tested by adding "
    "the sentence shown. This is the model's association in decided IMR letters, not a promise: documenting a "
    "criterion does not make IMR overturn a denial, and a request should document only what is true."
)

# Per criterion a summary can document, standard sentences tried in order: the first that documents it for
# the request is used. `{treatment}` is the request's own treatment (a repeat study names the prior one).
SENTENCES: dict[str, tuple[str, ...]] = {
    "functional_improvement": (
        "With the prior treatment the patient can now walk 30 minutes and has returned to household chores.",
    ),
    "treatment_response": ("The prior treatment gave 50% pain relief.",),
    "prior_sessions": ("The patient has completed 8 sessions of physical therapy.",),
    "physical_examination": ("On examination there is tenderness with reduced range of motion.",),
    "neurological_findings": (
        "Examination shows decreased sensation in the L5 dermatome and a positive straight leg raise.",
    ),
    "conservative_care": ("Physical therapy and rest failed to relieve the pain.",),
    "first_line_medication": ("The patient has taken ibuprofen and acetaminophen.",),
    "home_exercise": ("The patient does a home exercise program daily.",),
    "imaging_findings": ("An MRI showed a disc herniation that matches the symptoms.",),
    "repeat_study": ("A prior {treatment} was done in 2019, and the symptoms have significantly worsened.",),
    "red_flags": ("The patient has new bowel and bladder incontinence.",),
    "visit_limit": ("The patient has completed 8 sessions of physical therapy.",),
    "duration_limit": ("The patient has taken the medication for 3 months.",),
    # A risk counts only where it bears on the treatment (features/criteria_request.py): one per kind of request.
    "risk_factors": (
        "The patient has a history of a GI bleed.",
        "The patient has a history of opioid use disorder.",
        "The patient has diabetes.",
        "The patient falls often at home.",
        "The patient smokes a pack a day.",
    ),
    "drug_monitoring": ("A urine drug screen was consistent with the prescribed medication.",),
    "work_status": ("The patient is working modified duty.",),
}


class WhatIfCriterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion: str = Field(description="the criterion's id (features/criteria.py)")
    label: str = Field(description="what reviewers look for, in words")
    sentence: str | None = Field(
        description="the standard sentence added to the case summary; null: none documents it for this request"
    )
    also_documents: list[str] = Field(
        description="other criteria of the request's category the sentence documents too (read from the same words)"
    )
    p_overturned_if_documented: float | None = Field(
        description="the model's probability with the sentence added (calibrated and capped as p_overturned is)"
    )
    change: float | None = Field(description="p_overturned_if_documented minus p_overturned (x100: points)")


class WhatIf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(description="what these probabilities are, and are not")
    criteria: list[WhatIfCriterion] = Field(description="largest rise first; criteria without a sentence last")


def with_sentence(case_summary: str | None, sentence: str) -> str:
    """The summary with the sentence appended as a sentence of its own."""
    summary = (case_summary or "").rstrip()
    if summary and not summary.endswith((".", "!", "?")):
        summary += "."
    return f"{summary} {sentence}".strip()


def documenting_sentence(criterion: str, record: Mapping[str, Any]) -> str | None:
    """The first standard sentence that, appended, documents the criterion for this request."""
    treatment = record.get("treatment") or ""
    for template in SENTENCES.get(criterion, ()):
        sentence = template.format(treatment=treatment)
        if documented(criterion, with_sentence(record.get("case_summary"), sentence), treatment):
            return sentence
    return None


def what_if(
    score: Any, records: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]], criteria: Sequence[list[dict]]
) -> list[dict[str, Any]]:
    """Per record, the WhatIf fields for the criteria of its `criteria` list (serving.criteria's, with
    `in_request`) that it does not document. `score(records)` answers as `rows` were answered (their
    `p_overturned`): every variant of every record is scored in one call."""
    plans, variants = [], []
    for record, cited in zip(records, criteria, strict=True):
        missing = [c["criterion"] for c in cited if c["in_request"] is False]
        plan = []
        for criterion in missing:
            sentence = documenting_sentence(criterion, record)
            also: list[str] = []
            if sentence is not None:
                variant = dict(record, case_summary=with_sentence(record.get("case_summary"), sentence))
                treatment = record.get("treatment")
                # read on the sentence alone first: reading the whole summary for every criterion costs ~10 ms each
                alone = [o for o in missing if o != criterion and documented(o, sentence, treatment)]
                also = [o for o in alone if documented(o, variant["case_summary"], treatment)]
                variants.append(variant)
            plan.append((criterion, sentence, also, len(variants) - 1 if sentence is not None else None))
        plans.append(plan)
    p = [float(v) for v in score(variants)] if variants else []
    out = []
    for row, plan in zip(rows, plans):
        entries = []
        for criterion, sentence, also, at in plan:
            p_if = None if at is None else p[at]
            entries.append(
                WhatIfCriterion(
                    criterion=criterion,
                    label=BY_ID[criterion].label,
                    sentence=sentence,
                    also_documents=also,
                    p_overturned_if_documented=p_if,
                    change=None if p_if is None else p_if - row["p_overturned"],
                ).model_dump()
            )
        entries.sort(key=lambda e: (e["change"] is None, -(e["change"] or 0.0)))
        out.append(WhatIf(note=NOTE, criteria=entries).model_dump())
    return out
