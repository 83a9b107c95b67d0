"""Style normalisation: the text of a request without the marks of who wrote its case summary.

The case summary is written by the IMR reviewer, in one of a few templates (features.writer), so a
TF-IDF over the raw text learns the writer: how the worker is named ("the injured worker", "the
applicant"), how dates are written ("10-13-16", "November 09, 2016"), the template's stock phrases
("this case involves a now ...", "who sustained an industrial injury on"). Someone scoring a request
before it is submitted has no reviewer, so none of these may carry weight, nor be shown as a reason.
`normalise_style` removes them, and every bare number with them:

- person terms (worker, applicant, claimant, employee, patient, IW, with their article and
  possessive, and the pronouns he, she, his, her...) are dropped, not mapped to one token, which
  would itself become a reason;
- dates in every written form, month names next to a day or year, and bare month names except
  "may" (a verb far more often than a month) and "march" (also a clinical term: march fracture);
- bare numbers: every run of digits not joined to letters (ages, days, years, pain scores, counts,
  "7.5" of "7.5 mg"); a number joined to its unit ("5mg", "2x6") is request content and stays;
- the templates' stock phrases, ages as they write them ("a 52-year-old"), the labels
  features.views puts before each part of the text ("case summary:") and the guideline
  citations' scaffolding ("decision based on", "section(s)"); the guideline names themselves
  (MTUS, ODG) say what UR cited and stay.

Function words ("is", "the", "which") go too, but in the TF-IDF (`stop_words: english`), not here.

One case-sensitive pass of one pattern over the lower-cased text finds all of them: this runs on
every request the baseline scores, and case-insensitive passes of each pattern cost about 2.5
times as much (1.45 ms against 0.55 ms per bundled item, 2 shared cores).

Issue 9 (research/signal_hypotheses/README.md) measured an earlier form of this as costing no AUROC; this one,
in the baseline as shipped, AUROC -0.009 (95% CI -0.075 to +0.056) against the same baseline without it, on the
same folds (docs/training.md, "Style normalisation", where docs/evaluation.md points for it).
"""

from __future__ import annotations

import re

_MONTH_NAMES = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_MONTH = rf"(?:{_MONTH_NAMES})\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# Each pattern below is a tuple of alternatives that all start at a word boundary; the one
# pattern built from them (_STYLE) tests that boundary once, not once per alternative, which
# is most of its speed.
_DATES = (
    r"\d{1,4}[/.-]\d{1,4}(?:[/.-]\d{2,4})?\b",  # 10-13-16, 10/13/2016, 2016-10-13, 11/2016
    rf"{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?\b",  # November 09, 2016; Nov 9
    rf"{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?(?!\w)",  # 9 November 2016; 9th of Nov
    rf"{_MONTH},?\s+\d{{4}}\b",  # November 2016
)
# Stock phrases of the case-summary templates (longest first where one contains another) and
# the citation scaffolding of the guideline paragraph.
_BOILERPLATE = (
    r"this case involves(?:\s+an?)?(?:\s+now)?\b",
    r"(?:with\s+)?(?:a\s+)?history of (?:an?\s+)?occupational claim(?:\s+from)?\b",
    r"(?:the\s+)?mechanism of injury(?:\s+is\s+detailed\s+as)?\b",
    r"who has filed a claim for\b",
    r"reportedly associated with\b",
    r"(?:who\s+)?(?:sustained|suffered)\s+an?\s+(?:industrial(?:-work)?|work[- ]related)\s+injury(?:\s+on)?\b",
    r"(?:with\s+)?an?\s+(?:industrial|reported)\s+(?:injury\s+)?date\s+of(?:\s+injury)?(?:\s+of)?\b",
    r"(?:with\s+)?an?\s+date\s+of\s+injury(?:\s+on)?\b",
    r"date of injury\b",
    r"injury date of\b",
    r"(?:an?\s+)?(?:industrial(?:-work)?|work[- ]related)\s+injury(?:\s+of)?\b",
    r"occupational claim\b",
    r"a review of the medical records indicates(?:\s+that)?\b",
    r"medical record review indicates\b",
    r"according to (?:the\s+)?medical records available for review\b",
    r"the record indicates\b",
    r"in a utilization review report dated\b",
    r"the claims administrator failed to approve\b",
    r"to date has included\b",
    r"decision based on\b",
    r"non-mtus citation\b",
    r"section\(s\)",
    r"sections?\b",
    r"chapter\b",
    r"citation\b",
    r"https?://\S+",
    # Ages as the templates write them ("a 52-year-old", "48 year old"; the age itself is a field of
    # its own) and the labels features.views puts before each part of the text.
    r"(?:an?\s+)?(?:\d+\s*[- ]\s*)?years?[- ]old\b",
    r"case summary:",
    r"claims administrator guideline:",
    r"patient:",
    r"category:",
    r"days since injury\b",
)
_PERSON = (
    r"(?:(?:the|this|that|an?|our)\s+)?"
    r"(?:injured\s+(?:workers?|employees?)|applicants?|claimants?|employees?|patients?|workers?|i\.w\.|iw)"
    r"(?:'s|’s|s')?(?!\w)",
    r"(?:he/she|s/he|he|she|his|hers|her|him|himself|herself)(?!\w)",  # the pronouns that name the person
)
# Bare: a month name that is not also a common word or clinical term (see the module docstring).
_BARE_MONTHS = (r"(?:january|february|april|june|july|august|september|october|november|december)\b",)
# A run of digits that is its own word (a TF-IDF token would be all digits): "34", "2016", both
# halves of "7.5"; not the "5" of "5mg", the "12" of "t12" nor the digits of "2x6".
_BARE_NUMBER = (r"\d+(?!\w)",)  # (?!\w), not (?![a-z]): backtracking would cut "2" off "20mg"
BARE_NUMBER = re.compile(rf"\b{_BARE_NUMBER[0]}")
_ANY_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# One pass over lower-cased text; where two alternatives match at one place the earlier wins: a
# date before its numbers and month, a template phrase before the person term inside it.
_STYLE = re.compile(r"\b(?:" + "|".join((*_DATES, *_BOILERPLATE, *_PERSON, *_BARE_MONTHS, *_BARE_NUMBER)) + ")")


def normalise_style(text: str, drop_numbers: bool = False) -> str:
    """`text` without person terms, dates, month names, bare numbers and template boilerplate;
    `drop_numbers` also removes the numbers joined to letters ("400mg" -> "mg")."""
    lower = text.lower()
    # matched on the lower-cased text, cut from the original (lower() keeps the length of all
    # but a few non-ASCII letters; for those the lower-cased text is kept, as the TF-IDF would)
    source = text if len(lower) == len(text) else lower
    kept, start = [], 0
    for match in _STYLE.finditer(lower):
        kept.append(source[start : match.start()])
        start = match.end()
    kept.append(source[start:])
    text = " ".join(kept)
    if drop_numbers:
        text = _ANY_NUMBER.sub(" ", text)
    return " ".join(text.split())


# The model-input columns (features.views.model_inputs) a TF-IDF reads, which are normalised.
STYLED_COLUMNS = ("text", "treatment")


def normalise_inputs(inputs: dict) -> dict:
    """A copy of one item's model inputs with its STYLED_COLUMNS normalised."""
    return {**inputs, **{c: normalise_style(inputs[c]) for c in STYLED_COLUMNS if isinstance(inputs.get(c), str)}}
