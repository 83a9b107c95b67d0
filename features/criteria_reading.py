"""Readings of a summary that one sentence's mentions cannot make alone (features/criteria.py
applies them to the asserted mentions of a criterion's patterns):

- conservative_care: a course of care in one sentence and its failure in one of the next two
  ("Completed PT. Pain remains 7/10."); "no functional gains" is a failure only where the sentence
  reports no gain besides.
- physical_examination: a finding the patient only reports ("reports swelling") is a symptom.
- drug_monitoring: a side effect of a medication taken now, recorded or checked ("nausea on
  Norco", "opioid-induced constipation", "denies dizziness"); an intolerance that ended a past
  trial is not monitoring; "no aberrant behaviour" counts only for someone on a controlled drug.
- functional_improvement, treatment_response: "walks without a cane" is a gain only where the
  sentence ties it to care or a change; a pain score that rose ("from 4/10 to 8/10") is not relief.

features/criteria_request.py adds the readings that need the request itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from features.criteria_context import assertion
from features.criteria_summary import FAILED, GAIN, NO_FUNCTION, NONE_ABERRANT, PERSISTS, TRIED, WALKS_UNAIDED
from features.criteria_terms import MEDICATION, OPIOID, SIDE_EFFECT, THERAPY, icase

__all__ = ["SENTENCE_READINGS", "Mention", "Reading", "asserted"]

Mention = tuple[int, re.Match[str]]  # the sentence's index and the match in it
Reading = Callable[[Sequence[str], list[Mention], "str | None"], bool]


def asserted(sentence: str, pattern: re.Pattern[str], polar: bool = False) -> bool:
    """Whether the sentence has a mention of `pattern` that is not negated, hypothetical or a relative's."""
    return any(assertion(sentence, m.start(), m.end(), polar) is None for m in pattern.finditer(sentence))


_COURSE = icase(rf"\b{TRIED}(?: (?!post-?op)[\w/,:'()-]+){{0,6}}? {THERAPY}\b")
_PERSISTS, _GAIN = icase(PERSISTS), icase(GAIN)


_WEAK, _FAILED = icase(NO_FUNCTION), icase(FAILED)


def _outside(sentence: str, match: re.Match[str]) -> str:
    return f"{sentence[: match.start()]} {sentence[match.end() :]}"


def _conservative_care(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    for index, match in found:
        weak = _WEAK.search(match.group(0)) and not _FAILED.search(match.group(0))
        if not weak or not _GAIN.search(_outside(sentences[index], match)):
            return True
    # a course in one sentence, its failure in one of the next two
    return any(
        asserted(course, _COURSE) and not _GAIN.search(course) and any(_persists(after) for after in later)
        for course, later in ((s, sentences[i + 1 : i + 3]) for i, s in enumerate(sentences))
    )


def _persists(sentence: str) -> bool:
    """The sentence says the problem persists ("pain remains 7/10", "no functional improvement") and
    reports no gain besides."""
    for match in _PERSISTS.finditer(sentence):
        if assertion(sentence, match.start(), match.end()) is None:
            return not _GAIN.search(_outside(sentence, match))
    return False


_REPORTED = icase(
    r"\b(?:reports?|reported|reporting|complains? of|complaining of|c/o|states?|describes?|feels?|notices?|"
    r"per (?:the )?(?:patient|spouse|wife|husband|family))\b"
)
_OBSERVED = icase(r"\bexam\w*|\bon (?:palpation|inspection)|\bO:|\bobjective\w*|\bobserved\b|\bnoted\b")


_REPORTED_AFTER = icase(
    r"^\W*(?:\w+\W+){0,4}?(?:(?:as )?(?:reported|described|noted) by|per) (?:the |his |her )?(?:patient|pt|spouse|"
    r"wife|husband|family)\b"
)


def _examination(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    def reported(sentence: str, match: re.Match[str]) -> bool:
        if _REPORTED_AFTER.search(sentence[match.end() :]):
            return True
        said = list(_REPORTED.finditer(sentence[: match.start()]))
        return (
            bool(said) and len(sentence[said[-1].end() : match.start()].split()) <= 8 and not _OBSERVED.search(sentence)
        )

    return any(not reported(sentences[i], m) for i, m in found)


_TAKEN_BEFORE = icase(
    r"\b(?:stopped|discontinued|switched|changed|failed|not tolerated|could not tolerate|intoleran\w*|previously|"
    r"prior|earlier|tried|trial|after)\b"
)
_SIDE_EFFECT_NOW = (
    icase(rf"\b{SIDE_EFFECT} (?:\w+ ){{0,3}}?on (?:the |his |her )?(?:\w+ )?(?:{MEDICATION}|it)\b"),
    icase(rf"\b{MEDICATION}[- ]induced\b|\bOIC\b"),
    icase(
        rf"(?=.*\b(?:reports?|has|have|is|are|managed|continues?|controlled|treated|monitored|currently|takes|"
        rf"taking)\b)"
        rf".*\b{SIDE_EFFECT} (?:from|due to|caused by|related to|with) (?:the |his |her )?{MEDICATION}\b"
    ),
    icase(
        r"\b(?:denies|reports no|no|without)\b (?:\w+ ){0,2}?(?:nausea|constipation|drowsiness|sedation|somnolence|"
        r"dizziness|(?:GI|stomach) upset|weight gain|dry mouth)"
    ),
)
_HISTORY = icase(r"\bhistory\b|\bh/o\b|\bGERD\b|\bulcers?\b|\bbleed\w*")
_ON_MEDICATION = icase(rf"\b(?:{MEDICATION}|regimen|doses?|dosing)\b")

_CONTROLLED = icase(
    rf"\b{OPIOID}|\b(?:soma|carisoprodol|benzodiazepines?|xanax|alprazolam|ativan|lorazepam|klonopin|clonazepam|"
    r"valium|diazepam|ambien|zolpidem|controlled substances?)\b"
)


def _drug_monitoring(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    controlled = any(asserted(s, _CONTROLLED) for s in sentences)
    # "no aberrant behaviour" is a finding of monitoring only for someone on a controlled drug
    if any(controlled or m.re is not NONE_ABERRANT for _, m in found):
        return True
    on_medication = any(asserted(s, _ON_MEDICATION) for s in sentences)
    for sentence in sentences:
        if _TAKEN_BEFORE.search(sentence):
            continue
        if any(asserted(sentence, pattern) for pattern in _SIDE_EFFECT_NOW[:3]):
            return True
        # "denies dizziness" checks a medication's side effects; "denies GERD or ulcers" screens a history
        on_medication_here = on_medication or bool(_ON_MEDICATION.search(sentence))
        if on_medication_here and not _HISTORY.search(sentence) and _SIDE_EFFECT_NOW[3].search(sentence):
            return True
    return False


_SCORES = icase(r"(\d{1,2})/10")


_TIED_TO_CARE = icase(rf"\b(?:now|no longer|since|after|improv\w*|allow\w*)\b|\b{THERAPY}\b")


def _gains(sentences: Sequence[str], found: list[Mention]) -> list[Mention]:
    """The mentions of a gain, less "walks without a cane" where nothing ties it to care or a change."""
    return [(i, m) for i, m in found if m.re is not WALKS_UNAIDED or _TIED_TO_CARE.search(_outside(sentences[i], m))]


def _functional_improvement(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    return bool(_gains(sentences, found))


def _treatment_response(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    def relief(match: re.Match[str]) -> bool:
        # "from 4/10 to 8/10" is worse, not relief; "7/10 with, 9/10 without" is compared below
        scores = [int(n) for n in _SCORES.findall(match.group(0))]
        return len(scores) != 2 or bool(re.search(r"with|versus|vs", match.group(0))) or scores[0] > scores[1]

    return any(relief(match) for _, match in _gains(sentences, found))


SENTENCE_READINGS: dict[str, Reading] = {
    "functional_improvement": _functional_improvement,
    "treatment_response": _treatment_response,
    "conservative_care": _conservative_care,
    "physical_examination": _examination,
    "drug_monitoring": _drug_monitoring,
}
