"""Sentences of a request summary and whether a mention in one is asserted for this patient.

A ConText-style reading (Harkema et al. 2009, the algorithm medspaCy implements): trigger words
modify the mentions that follow them (forward) or precede them (backward) within a scope that ends
at a terminator ("but", "however", "which", a colon, ...) or after a few words. A mention is
- negated: "no red flags", "denies bowel or bladder changes", "has not had PT", "SLR negative";
- hypothetical: planned, requested, conditional or suspected ("will consider PT if no improvement",
  "a urine drug screen will be obtained", "request for 6 additional visits", "rule out fracture");
- about family: "family history of multiple myeloma", "his father had a bleeding ulcer".
Historical mentions ("h/o ulcer", "s/p ESI with 60% relief") are asserted: they count.

Polarity words ("negative", "normal", "intact", "unremarkable") deny only a *polar* mention, a
finding that is present or absent (radiculopathy, a red flag, a risk factor). For a reported
procedure or status they are the result, not its absence: "UDS was negative for illicit
substances" documents monitoring, "x-rays were negative" documents imaging findings.

Pure regular expressions: no model, nothing downloaded; medspaCy's ConText was measured against
this on the development set (benchmarks/criteria_in_request.py --medspacy).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

__all__ = ["Assertion", "assertion", "sentences"]

Assertion = Literal["negated", "hypothetical", "family"]


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Where a trigger's scope ends: a contrast, a relative clause, a colon, or a new clause with its own subject.
_TERMINATOR = _re(
    r"\b(?:but|however|although|though|yet|except|aside from|apart from|whereas|which|who|whose|while)\b|:|"
    r"\s[-\u2013\u2014]\s|, (?=(?:he|she|they|the patient|patient|pt)\b)|"
    r"\band (?=(?:he|she|they|the patient|pt|has|had|is|was|reports?|complains?|now|currently|continues|takes)\b)"
)

# (assertion, trigger, most words between the trigger and the mention); first match wins.
_FORWARD: tuple[tuple[Assertion, re.Pattern[str], int], ...] = (
    (
        "family",
        _re(
            r"\bfamily (?:history|hx|members?)\b|\bfhx\b|\b(?:mother|father|brother|sister|siblings?|parents?|son|"
            r"daughter|grand(?:mother|father|parents?)|aunt|uncle|cousin|relatives?|maternal|paternal|wife|husband|"
            r"spouse|co-?workers?)\b"
        ),
        8,
    ),
    (
        "hypothetical",
        _re(
            r"\b(?:if|unless|would|might|shall|in case of|in case|once approved|advised|expected to|anticipat\w*)\b|"
            r"\b(?:will|should|plan(?:s|ned|ning)?)\b(?!:? (?:is )?(?:to )?continu)|\bcould\b(?! not)|\bmay\b(?! \d)|"
            r"\bconsider\w*|\brecommend\w*|\b(?:to )?rule out\b|\br/o\b|\bevaluat\w* for\b|"
            r"\bcandidate for\b|\bgoals?\b|\b(?:hopes?|wish\w*|wants?|motivated|instructed|in order) to\b|"
            r"\bto (?:start|begin|initiate|try|trial|schedule|order|obtain|check)\b|\bpending\b|\bawaiting\b|"
            r"\bscheduled\b|\bsuspect\w*|\bconcern\w* (?:about|for)\b|\bpossible\b|\bpotential\b|\btransition\w* to\b"
        ),
        10,
    ),
    (
        "hypothetical",
        _re(r"\brequest(?:s|ing|ed:)?\b(?: (?:is|are))?(?: for)?|\breq\b:?|\bauthorization (?:for|of)\b"),
        6,
    ),
    (
        "negated",
        _re(
            r"\bno\b(?! longer)|\b(?:not|never|none|nor|neither|without|w/o|cannot|unable|denie[sd]|deny|denying|"
            r"absence of|"
            r"absent|free of|lacks?|lacking|lack of|ruled out|excluded)\b|\bcan't\b|\bn't\b|\bfail(?:s|ed)? to\b|"
            r"\bnegative for\b"
        ),
        8,
    ),
)
_FORWARD_POLAR = _re(r"\b(?:negative|neg|normal|intact|unremarkable)\b|\(-\)|\bwithout evidence of\b")
_BACKWARD: tuple[tuple[Assertion, re.Pattern[str], int], ...] = (
    (
        "hypothetical",
        _re(
            r"\b(?:(?:is|are|was|were|be|been) )?(?:requested|planned|scheduled|pending|recommended|proposed|"
            r"being considered)\b|\b(?:will|would|may|to) be\b|\b(?:prescribed|started|dispensed) today\b"
        ),
        5,
    ),
    (
        "negated",
        _re(
            r"\b(?:is|are|was|were|has|have|has been|have been) not\b|\bnot (?:documented|provided|noted|found|"
            r"reported|quantified|performed|done|obtained|available|on file|tried|present|seen)\b|\bdenied\b|"
            r"\bnone\b|\bruled out\b|\b(?:reviewed|assessed|screened)(?: and)? (?:are |were |was |is )?(?:absent|"
            r"negative|none)\b"
        ),
        4,
    ),
)
_BACKWARD_POLAR = _re(r"\b(?:negative|neg|normal|intact|unremarkable|absent|resolved)\b|\(-\)|\bwithin normal limits\b")
_BACKWARD_FAMILY = _re(r"\bruns in (?:the|his|her) family\b|\bin (?:his|her) (?:family|mother|father|brother|sister)\b")
_WORD = re.compile(r"\S+")


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _in_scope(gap: str, most_words: int) -> bool:
    gap = gap.removeprefix(":")  # "Plan: start PT", "Denies: numbness": the trigger heads what follows
    return _words(gap) <= most_words and not _TERMINATOR.search(gap)


def assertion(sentence: str, start: int, end: int, polar: bool = False) -> Assertion | None:
    """How the mention sentence[start:end] is modified, or None when it is asserted for this patient."""
    before, after = sentence[:start], sentence[end:]
    forward = (*_FORWARD, ("negated", _FORWARD_POLAR, 3)) if polar else _FORWARD
    for kind, trigger, most in forward:
        if any(_in_scope(before[m.end() :], most) for m in trigger.finditer(before)):
            return kind
    backward = (*_BACKWARD, ("family", _BACKWARD_FAMILY, 3))
    if polar:
        backward = (*backward, ("negated", _BACKWARD_POLAR, 3))
    for kind, trigger, most in backward:
        m = trigger.search(after)
        if m and _in_scope(after[: m.start()], most):
            return kind
    return None


# A period that ends one of these does not end the sentence.
_ABBREVIATION = _re(r"(?:\b(?:dr|mr|mrs|ms|vs|approx|etc|e\.g|i\.e|st|jr|sr|fig|cont|bid|tid|qid|prn)|\b\w)\.$")
# After ".", "!" or "?" (and a closing quote or bracket) and a space; or ".Next" run together after a word.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)\]]))\s+(?=\S)|(?<=[a-z0-9]{2}\.)(?=[A-Z][a-z])")


@lru_cache(maxsize=256)
def _split(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in re.split(r"[\r\n]+|;|\u2022", text):
        merged: list[str] = []
        for piece in _SENTENCE_END.split(" ".join(part.split())):
            if merged and (piece[0].islower() or _ABBREVIATION.search(merged[-1])):
                merged[-1] = f"{merged[-1]} {piece}"
            elif piece:
                merged.append(piece)
        out.extend(merged)
    return tuple(out)


def sentences(text: str | None) -> tuple[str, ...]:
    """The summary's sentences: split at sentence ends, semicolons and line breaks, not after "Mr.", "vs.", ..."""
    return _split(text or "")
