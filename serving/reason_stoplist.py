"""What may never be a reason on its own: the stop list of serving/reasons.py.

A reason is a clinical phrase from the request. A phrase is *bare* when, once English stop words
(scikit-learn's list) are set aside, every word left is of a kind that says nothing clinical by
itself:
- a spinal level ("l4", "l4-5", "l5-s1", "c5/6") or the word level;
- a side ("right", "left", "bilateral");
- a role word ("physician", "treating", "requested", "provider", "patient", "injured worker");
- a unit, a number or a frequency ("mg", "#60", "7.5mg", "2x6", "times", "weeks", "sessions");
- a template word of the letters and requests ("case summary", "category", "utilization review",
  "dated", "progress report", a month or a date).
A bare phrase is never a reason (`bare`). Clauses about the worker rather than the condition
(age, sex, occupation, the claim and its date: `about_the_worker`) and clauses about the review
process (the UR decision, the request for authorization: `about_the_process`) are not candidates
either: they describe who asks and how, not what the request documents.
"""

from __future__ import annotations

import re
from functools import lru_cache

from features.criteria_terms import icase

__all__ = ["FORBIDDEN_WORDS", "about_the_process", "about_the_worker", "bare", "informative_words"]

SIDES = frozenset(
    "right left bilateral bilaterally unilateral both rt lt side sides sided ipsilateral contralateral".split()
)
ROLES = frozenset(
    (
        "physician physicians treating treat requesting requested request requests requester provider providers "
        "doctor doctors dr md pa np rn pa-c dc claimant applicant patient patients pt's worker workers injured iw "
        "employee employer reviewer reviewers surgeon examiner primary ptp pr clinician clinicians staff office"
    ).split()
)
UNITS = frozenset(
    (
        "mg mcg ml cc g gm gms gram grams kg lb lbs oz percent tab tabs tablet tablets capsule capsules cap caps qty "
        "quantity x times time daily bid tid qid qd qhs prn po hr hrs hour hours day days week weeks wk wks weekly "
        "month months mo mos monthly year years yr yrs session sessions visit visits refill refills unit units supply "
        "box boxes dose doses mm cm degrees degree tesla er sr xr ir dr hcl sodium per one two three four five six "
        "seven eight nine ten eleven twelve once twice"
    ).split()
)
TEMPLATE = frozenset(
    (
        "case summary category claims claim administrator guideline guidelines mtus odg acoem utilization review "
        "reviewed ur imr maximus independent medical decision determination letter report reports progress note "
        "notes record records dated date dos retrospective retro documentation documented document documents noted "
        "rfa authorization certification certified non-certification noncertification denied modified approved "
        "submitted provided current currently history diagnosis diagnoses diagnosed complaint complaints "
        "evaluation follow-up followup visit exam examination findings finding status mr mrs ms "
        "presented presents seen appointment clinic "
        "january february march april may june july august september october november december "
        "jan feb mar apr jun jul aug sep sept oct nov dec"
    ).split()
)
FORBIDDEN_WORDS = SIDES | ROLES | UNITS | TEMPLATE
_LEVEL = re.compile(r"^(?:levels?|[ctls]\d{1,2}(?:[-/][ctls]?\d{1,2})*)$")
_NUMBER = re.compile(
    r"^(?:#?\d+(?:[.,/:-]\d+)*(?:st|nd|rd|th|mg|mcg|ml|gm?|cc|%|x|s)?|x\d+|\d+x\d*|q\d+(?:-\d+)?h?|\d+/\d+/\d+)$"
)
_WORD = re.compile(r"#?[a-z0-9%]+(?:[-/.'][a-z0-9%]+)*")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _forbidden(word: str) -> bool:
    return word in FORBIDDEN_WORDS or bool(_LEVEL.match(word) or _NUMBER.match(word))


def informative_words(text: str) -> list[str]:
    """The words of `text` that are neither stop words nor of a forbidden kind, in order."""
    stop = _stop_words()
    return [w for w in _WORD.findall((text or "").lower()) if w not in stop and not _forbidden(w)]


def bare(text: str) -> bool:
    """Whether `text` says nothing clinical by itself (see the module's docstring)."""
    return not informative_words(text)


_WORKER = icase(
    r"\b\d{1,3}[- ]?(?:years?|yrs?|y)[- ]?(?:old|/o)\b|\byears? old\b|\by/o\b|"
    r"\bis an? (?:\w+[- ]){0,3}(?:male|female|man|woman|gentleman|lady)\b|"
    r"\b(?:employed|works?|worked|working|employment) (?:as|for|at)\b|\boccupation\b|\bjob (?:title|duties)\b|"
    r"\b(?:his|her|their) (?:usual and customary |regular )?(?:job|occupation|work) as\b|"
    r"\b(?:industrial|occupational|work[- ]related|worker'?s'? comp\w*) (?:injury|injuries|claim|accident)\b|"
    r"\bdate of (?:injury|loss)\b|\bDOI\b|\b(?:injur(?:y|ed)|claim) (?:on|from|dated)\b|\bsustained an? \w* ?injury\b"
)
_PROCESS = icase(
    r"utilization review|\bUR\b|\bIMR\b|independent medical review|request for authori[sz]ation|\bRFA\b|"
    r"non-?certif|\b(?:denied|modified|certified|approved|non-?certified) (?:the|this|a) request\b|"
    r"\brequest (?:was|is|has been) (?:denied|modified|certified|approved|non)|\bprogress report\b|\bPR-?2\b|"
    r"\b(?:records?|documents?|reports?) (?:were |was )?(?:reviewed|submitted|provided)\b|\bMAXIMUS\b|"
    r"\bguidelines?\b|\bclaims administrator\b|\b(?:previously|was|were|been) (?:denied|non-?certified|modified|"
    r"reviewed|authori[sz]ed)\b|\b(?:the|a|this) request(?:s|ed)?\b|\brequested\b"
)


def about_the_worker(text: str) -> bool:
    """A clause about the worker's age, sex, job or claim rather than the condition."""
    return bool(_WORKER.search(text or ""))


def about_the_process(text: str) -> bool:
    """A clause about the review or the paperwork (UR, the request for authorization, a report)."""
    return bool(_PROCESS.search(text or ""))
