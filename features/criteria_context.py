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
finding that is present or absent (radiculopathy, a red flag, an examination finding), and only
the finding next to them ("lumbar tenderness, normal neuro exam" keeps the tenderness). For a
reported procedure or status they are the result, not its absence: "UDS was negative for illicit
substances" documents monitoring, "x-rays were negative" documents imaging findings. An outcome
of a treatment that was taken ("was not tolerated", "did not help") does not negate it.

Sentences are read with common office misspellings corrected (`spelled`: "releif", "modifed").

Pure regular expressions: no model, nothing downloaded; medspaCy's ConText was measured against
this on the development sets (benchmarks/criteria_in_request.py --medspacy).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from features.criteria_terms import icase

__all__ = ["Assertion", "assertion", "sentences", "spelled"]

Assertion = Literal["negated", "hypothetical", "family"]


# Where a trigger's scope ends: a contrast, a relative clause, a colon, or a new clause with its own subject.
_TERMINATOR = icase(
    r"\b(?:but|however|although|though|yet|except|aside from|apart from|whereas|which|who|whose|while|because|"
    r"due to|secondary to)\b|:|"
    r"\s[-\u2013\u2014]\s|, (?=(?:he|she|they|the patient|patient|pt)\b)|"
    r"\band (?=(?:he|she|they|the patient|pt|has|had|is|was|reports?|complains?|now|currently|continues|takes)\b)"
)

# "not tolerated", "did not help", "could not tolerate": the outcome of a treatment that was taken, not its absence.
_OUTCOME_WORDS = (
    r" ?(?:tolerat|help|improv|control|work|relie|respond|benefit|effective|adequate|enough|sufficient|"
    r"successful|last)"
)
_OUTCOME = rf"(?!{_OUTCOME_WORDS})"

# (assertion, trigger, most words between the trigger and the mention); first match wins.
_FORWARD: tuple[tuple[Assertion, re.Pattern[str], int], ...] = (
    (
        "family",
        icase(
            r"\bfamily (?:history|hx|members?)\b|\bfhx\b|\b(?:mother|father|brother|sister|siblings?|parents?|son|"
            r"daughter|grand(?:mother|father|parents?)|aunt|uncle|cousin|relatives?|maternal|paternal|wife|husband|"
            r"spouse|co-?workers?)\b"
        ),
        8,
    ),
    (
        "hypothetical",
        icase(
            r"\b(?:if|unless|would|might|shall|in case of|in case|once approved|advised|expected to|anticipat\w*)\b|"
            r"\b(?:will|should|plan(?:s|ned|ning)?)\b(?!:? (?:is )?(?:to )?continu)|\bcould\b(?! not)|"
            r"(?<!in )\bmay\b(?! \d)|"
            r"\bconsider\w*|\brecommend\w*|\b(?:to )?rule out\b|\br/o\b|\bevaluat\w* for\b|"
            r"\bcandidate for\b|\bgoals?\b|\b(?:hopes?|wish\w*|wants?|motivated|instructed|in order) to\b|"
            r"\bto (?:start|begin|initiate|try|trial|schedule|order|obtain|check)\b|\bto be (?:followed|transitioned|"
            r"started|taught|provided|given|obtained|done)\b|\bhave (?:the )?(?:patient|pt|him|her) sign\b|"
            r"\bpending\b|\bawaiting\b|"
            r"\bscheduled\b|\b(?:guidelines?|MTUS|ODG|ACOEM) (?:\w+ )?(?:recommend|allow|support|suggest|state|"
            r"limit|indicate|permit)\w*|\bsuspect\w*|\bconcern\w* (?:about|for)\b|"
            r"\bpossible\b|\bpotential\b|\btransition\w* to\b|"
            r"^(?:start|begin|initiate|add|try|order|obtain|check)\b|"
            r"^(?:P|A/P|RFA|Rx|Recs?|Recommendations?|(?:Treatment|Tx) plan)\s*:"
        ),
        10,
    ),
    (
        "hypothetical",
        icase(r"\brequest(?:s|ing|ed:)?\b(?: (?:is|are))?(?: for)?|\breq\b:?|\bauthorization (?:for|of)\b"),
        6,
    ),
    (
        "negated",
        icase(
            rf"\bno\b(?! longer)|(?:\bnot|\bcannot|n't){_OUTCOME}|\bunable\b(?! to tolerate)|"
            r"\b(?:never|none|nor|neither|without|w/o|absence of|"
            r"absent|free of|lacks?|lacking|lack of|ruled out|excluded)\b|"
            r"\bfail(?:s|ed)? to (?:attend|show|complete|start|document|provide)\b|"
            r"\bnegative for\b|\blow risk (?:for|of)\b|\brefus(?:es|ed|ing)\b|\bdeclin(?:es|ed|ing)\b(?! (?:in|by|"
            r"over|from|despite|since|with|while|steadily|further))"
        ),
        8,
    ),
    # a review of systems runs long: "denies fever, chills, night sweats, weight loss, ... or incontinence"
    ("negated", icase(r"\b(?:denie[sd]|deny|denying|negative for)\b"), 16),
)
_FORWARD_POLAR = icase(r"\b(?:negative|neg|normal|intact|unremarkable)\b|\(-\)|\bwithout evidence of\b")
_BACKWARD: tuple[tuple[Assertion, re.Pattern[str], int], ...] = (
    (
        "hypothetical",
        icase(
            r"\b(?:(?:is|are|was|were|be|been) )?(?:requested|planned|scheduled|pending|recommended|proposed|ordered|"
            r"being considered|expected|anticipated)\b|\b(?:will|would|may|to) be\b|"
            r"\b(?:is|are|was|were|been) (?:authorized|approved|certified|offered)\b|"
            r"\b(?:prescribed|started|dispensed) today\b|"
            r"(?<!until )(?<!until the )\b(?:at |on )?(?:the )?next (?:visit|appointment|follow-?up)\b"
        ),
        5,
    ),
    (
        "negated",
        icase(
            rf"\b(?:is|are|was|were|has|have|has been|have been) not\b{_OUTCOME}|\bnot (?:yet |been |ever )?"
            rf"{_OUTCOME}(?:[a-z]+ed|done|"
            r"seen|taken|given|shown|taught|begun|known|available|on file|present|indicated)\b|\bdenied\b|"
            r"\bnone\b|\bruled out\b|\b(?:reviewed|assessed|screened)(?: and)? (?:are |were |was |is )?(?:absent|"
            r"negative|none)\b|\b(?:was|were|has been|have been|is|are) never\b|\bunknown\b|\bdeferred\b|"
            r"\b(?:refused|declined)\b|\b(?:is|are|was|were) contraindicated\b"
        ),
        4,
    ),
)
_BACKWARD_POLAR = icase(r"\b(?:negative|neg|normal|intact|unremarkable|absent)\b|\(-\)|\bwithin normal limits\b")
_BACKWARD_FAMILY = icase(
    r"\bruns in (?:the|his|her) family\b|\bin (?:his|her) (?:family|mother|father|brother|sister)\b"
)
_WORD = re.compile(r"\S+")


def _words(text: str) -> int:
    return len(_WORD.findall(text))


_CONTINUED = icase(r"\b(?:continu\w*|cont|resume\w*)\W+(?:\S+\W+){0,2}$")
_ABOUT_THEM = icase(r"^,? (?:who|whose|which)\b")


def _in_scope(gap: str, most_words: int) -> bool:
    gap = gap.removeprefix(":")  # "Plan: start PT", "Denies: numbness": the trigger heads what follows
    return _words(gap) <= most_words and not _TERMINATOR.search(gap)


def _polar_scope(gap: str) -> bool:
    # "normal", "negative" qualify the finding next to them, not the next item of a list:
    # "lumbar tenderness, normal neuro exam" documents the tenderness.
    return _words(gap) <= 3 and not re.search(r"[,;]", gap) and not _TERMINATOR.search(gap)


def assertion(sentence: str, start: int, end: int, polar: bool = False) -> Assertion | None:
    """How the mention sentence[start:end] is modified, or None when it is asserted for this patient."""
    before, after = sentence[:start], sentence[end:]
    for kind, trigger, most in _FORWARD:
        for m in trigger.finditer(before):
            gap = before[m.end() :]
            if kind == "family":  # "his wife, who is retired": the relative clause is about her
                gap = _ABOUT_THEM.sub("", gap)
            if kind == "hypothetical" and _CONTINUED.search(gap):  # "Plan: refill Norco, continue HEP"
                continue
            if _in_scope(gap, most):
                return kind
    if polar and any(_polar_scope(before[m.end() :]) for m in _FORWARD_POLAR.finditer(before)):
        return "negated"
    for kind, trigger, most in (*_BACKWARD, ("family", _BACKWARD_FAMILY, 3)):
        m = trigger.search(after)
        if m and _in_scope(after[: m.start()], most):
            return kind
    if polar:
        m = _BACKWARD_POLAR.search(after)
        if m and _polar_scope(after[: m.start()]):
            return "negated"
    return None


# A period that ends one of these does not end the sentence.
_ABBREVIATION = icase(r"(?:\b(?:dr|mr|mrs|ms|vs|approx|etc|e\.g|i\.e|st|jr|sr|fig|cont|bid|tid|qid|prn)|\b\w)\.$")
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


# Office misspellings of words the criterion patterns key on, read as the word meant.
_SPELLINGS = tuple(
    (re.compile(rf"\b(?:{wrong})\b", re.IGNORECASE), right)
    for wrong, right in (
        (r"rel(?:ei|i)f", "relief"),
        (r"exc?er[csz]i[csz]e(s|d)?", r"exercise\1"),
        (r"tend(?:er|re)ne?s", "tenderness"),
        (r"frac(?:ure|true|utre)s?", "fracture"),
        (r"mod(?:if|fi)e?d", "modified"),
        (r"ibupro(?:f|ph)[ei]n", "ibuprofen"),
        (r"acc?upunc?ture", "acupuncture"),
        (r"therap(?:hy|ie)", "therapy"),
        (r"phys(?:ci|ic)al|phyiscal|pysical", "physical"),
        (r"tylen(?:a|o)?l", "Tylenol"),
        (r"gabapent[ei]ne?", "gabapentin"),
        (r"napro(?:x[ie]|s[ei])n", "naproxen"),
        (r"lumber", "lumbar"),
        (r"cervicle", "cervical"),
        (r"protu?sion", "protrusion"),
        (r"hern(?:ai|a)tion", "herniation"),
        (r"weaknes", "weakness"),
        (r"pos(?:t|ti)i?ve|positve", "positive"),
        (r"neg(?:i|a)t(?:i|a)ve|negatvie", "negative"),
        (r"consistant", "consistent"),
        (r"wi(?:ht|th)out|withou", "without"),
        (r"hi(?:sotr|stro)y", "history"),
        (r"medic(?:aton|iation)|medciation", "medication"),
        (r"ses+ions?|sess?ons", "sessions"),
        (r"vis(?:i)?sts|vists", "visits"),
        (r"rest(?:ic|ri)tions|restrictons", "restrictions"),
        (r"improv(?:me|em)nt|improvment", "improvement"),
        (r"recieved", "received"),
    )
)


@lru_cache(maxsize=4096)
def spelled(sentence: str) -> str:
    """The sentence with common office misspellings ("releif", "tendernes", "modifed") corrected."""
    for wrong, right in _SPELLINGS:
        sentence = wrong.sub(right, sentence)
    return sentence


def sentences(text: str | None) -> tuple[str, ...]:
    """The summary's sentences: split at sentence ends, semicolons and line breaks, not after "Mr.", "vs.", ..."""
    return _split(text or "")
