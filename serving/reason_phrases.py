"""The phrases of a request that may explain its score: the candidates serving/reasons.py scores.

A request's case summary is cut into sentences (features.criteria_context.sentences, the splitter the
reviewer criteria use) and each sentence into clauses (at "; ", ", but", ", which", " and " between
two clauses of four words or more, ...). The candidates are
- `treatment`: the treatment requested, with its category (left out: the treatment name is blank);
- `documents`: each reviewer criterion the summary documents (features.criteria.documented), with
  the clauses that document it (the whole sentence where no clause does so by itself);
- `lacks`: each criterion the caller names as expected for the treatment category and not
  documented; scored by adding a plain sentence that documents it (serving.what_if.SENTENCES);
- `finding`: every other clause that says something clinical, i.e. not about the worker (age, sex,
  job, the claim), not about the review process, and not bare (serving/reason_stoplist.py).
Guideline-limit criteria (visit or duration limits, "not recommended") are the reviewer's rules, not
facts of a request: they are never candidates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from features.categories import treatment_category
from features.criteria import BY_ID, CRITERIA, documented
from features.criteria_context import assertion, sentences
from serving.reason_stoplist import about_the_process, about_the_worker, bare
from serving.what_if import documenting_sentence

Kind = Literal["treatment", "documents", "lacks", "finding"]
MAX_FINDINGS = 40  # clauses scored per request, in order: bounds the cost of one explanation
MIN_CLAUSE_WORDS = 4  # ", " and " and " split only between two parts at least this long
TEXT_CHARS = 160

# A criterion the request lacks is scored by adding serving.what_if's standard sentence for it (the one
# "what would change the answer" tests). Red flags (their absence is the usual case) and guideline limits
# are never `lacks` candidates.
NOT_LACKING = frozenset({"red_flags"})
DOCUMENTABLE = tuple(c.id for c in CRITERIA if c.documents is not None and c.kind != "guideline_limit")

# Where a clause may end: after a comma, or before a conjunction that starts one.
_BREAK = re.compile(r",\s+|\s+(?=(?:and|but|however|whereas|although)\s)", re.IGNORECASE)
_LEAD = re.compile(
    r"^(?:(?:and|but|with|which|who|while|whereas|although|though|however|as well as|also|then|that)[,\s]+)+",
    re.IGNORECASE,
)
_SUBJECT = re.compile(
    r"^(?:the (?:patient|injured worker|iw|claimant|applicant|employee)|he|she|they)\s+"
    r"(?:also\s+|currently\s+|still\s+|now\s+)?(?:has|had|have|was|is|were|reported|reports|complained of|"
    r"complains of|presented with|presents with|noted|demonstrated|demonstrates|exhibited|continues to have|"
    r"continued to have|continues to report|underwent|received|stated|states|notes)\s+(?:that\s+)?"
    r"|^(?:on )?(?:the )?(?:physical )?exam(?:ination)?(?: of the [\w ]+?)?"
    r"(?: (?:revealed|showed|shows|demonstrated|noted|was notable for|was significant for))?[:,]?\s+"
    r"|^(?:there (?:is|was|were|are)|it (?:is|was) noted(?: that)?)\s+"
    r"|^(?:the )?(?:current |working |primary )?diagnos(?:is|es) (?:is|are|was|were|included?|includes?)"
    r"(?: (?:documented|noted|listed|detailed))?(?: as)?:?\s+"
    r"|^(?:the )?mechanism of injury (?:is|was) (?:detailed|described|noted|documented|reported) as\s+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Candidate:
    kind: Kind
    text: str  # what the reason says
    quote: str | None = None  # the request's words left out (None: the treatment, or a criterion it lacks)
    criteria: tuple[str, ...] = ()  # the criteria documented by (or lacking from) the phrase
    drop: frozenset[int] = frozenset()  # units of the summary left out
    add: str | None = None  # a sentence added to the summary
    blank_treatment: bool = False


@dataclass
class RequestPhrases:
    """A request cut into units (clauses, in order) and its candidate phrases."""

    record: Mapping[str, Any]
    units: list[str]
    candidates: list[Candidate] = field(default_factory=list)

    def summary(self, drop: frozenset[int] = frozenset(), add: str | None = None) -> str:
        kept = [u for i, u in enumerate(self.units) if i not in drop]
        return " ".join(kept + ([add] if add else []))

    def full(self) -> dict[str, Any]:
        """The request as the candidates see it: its summary rebuilt from the units (the effects compare
        like with like; the rebuilt summary differs from the original only in spacing and semicolons)."""
        return dict(self.record, case_summary=self.summary())

    def variant(self, c: Candidate) -> dict[str, Any]:
        """The request without the candidate's phrase (or, for a criterion it lacks, with the statement)."""
        out = dict(self.record, case_summary=self.summary(c.drop, c.add))
        if c.blank_treatment:
            out["treatment"] = " "  # no treatment name: what the summary alone says
        return out


def clauses(sentence: str) -> list[str]:
    """A sentence cut at clause breaks. A part stays with the one before it when either is shorter than
    MIN_CLAUSE_WORDS ("clicking, popping") or when a negation, a hypothetical or a relative earlier in the
    sentence reaches into it (features.criteria_context.assertion): "has not had PT, chiropractic care or
    acupuncture" is one clause, so no part of it reads as done."""
    cuts = [0, *(m.end() for m in _BREAK.finditer(sentence)), len(sentence)]
    merged: list[tuple[int, int]] = []
    for a, b in zip(cuts, cuts[1:]):
        if not sentence[a:b].strip():
            continue
        if merged and (
            len(sentence[merged[-1][0] : merged[-1][1]].split()) < MIN_CLAUSE_WORDS
            or len(sentence[a:b].split()) < MIN_CLAUSE_WORDS
            or assertion(sentence, a, b) is not None
        ):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return [sentence[a:b].strip() for a, b in merged]


_DATE = re.compile(
    r",?\s*\b(?:on|dated|from|of)?\s*(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"[a-z]*\.? \d{1,2},? \d{4})\b,?",
    re.IGNORECASE,
)


def readable(clause: str) -> str:
    """The clause without its connective, subject-verb lead and dates ("On 1/2/2017, he reported ...")."""
    text = " ".join(_DATE.sub(" ", clause).split())
    for _ in range(3):
        shorter = _SUBJECT.sub("", _LEAD.sub("", text))
        if shorter == text:
            break
        text = shorter
    text = text.strip(" ,;:.")
    return clip(text[:1].upper() + text[1:]) if text else ""


def clip(text: str, limit: int = TEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _sentence_units(summary: str) -> tuple[list[str], list[list[int]]]:
    units, by_sentence = [], []
    for sentence in sentences(summary):
        parts = clauses(sentence)
        by_sentence.append(list(range(len(units), len(units) + len(parts))))
        units.extend(parts)
    return units, by_sentence


def _documenting_units(criterion: str, units: list[str], by_sentence: list[list[int]]) -> list[int]:
    """The units that document the criterion: a clause that does so by itself, else its whole sentence."""
    found = []
    for members in by_sentence:
        sentence = " ".join(units[i] for i in members)
        if documented(criterion, sentence):
            own = [i for i in members if documented(criterion, units[i])]
            found.extend(own or members)
    return found


def request_phrases(record: Mapping[str, Any], criteria: Mapping[str, bool | None] | None = None) -> RequestPhrases:
    """The request's units and candidates. `criteria`: the criteria its treatment category calls for, each
    with whether the request documents it (serving/criteria.py's `in_request`): the documented ones are
    `documents` candidates, the others `lacks` ones. Without it, every documentable criterion is looked
    for (slower: the criteria's patterns run over every sentence) and none is scored as lacking."""
    units, by_sentence = _sentence_units(record.get("case_summary") or "")
    found = RequestPhrases(record, units)
    treatment = " ".join(str(record.get("treatment") or "").split())
    if treatment:
        category = treatment_category(treatment).replace("_", " ")
        found.candidates.append(Candidate("treatment", clip(f"{treatment} ({category})"), blank_treatment=True))
    if criteria is None:
        summary = found.summary()
        criteria = {c: True for c in DOCUMENTABLE if documented(c, summary)}
    found.candidates.extend(_documented([c for c in DOCUMENTABLE if criteria.get(c)], units, by_sentence))
    used = {i for c in found.candidates for i in c.drop}
    for criterion, in_request in criteria.items():
        if in_request is False and criterion in DOCUMENTABLE and criterion not in NOT_LACKING:
            statement = documenting_sentence(criterion, record)
            if statement is not None:
                found.candidates.append(Candidate("lacks", BY_ID[criterion].label, None, (criterion,), add=statement))
    found.candidates.extend(_findings(units, by_sentence, used))
    return found


def _documented(criteria: Sequence[str], units: list[str], by_sentence: list[list[int]]) -> list[Candidate]:
    """One candidate per set of clauses that documents criteria: criteria documented by the very same
    clauses share it ("An x-ray showed a fracture" documents imaging findings and a red flag), since
    leaving those clauses out measures them together."""
    by_drop: dict[frozenset[int], list[str]] = {}
    for criterion in criteria:
        members = _documenting_units(criterion, units, by_sentence)
        if members:
            by_drop.setdefault(frozenset(members), []).append(criterion)
    return [
        Candidate(
            "documents",
            "; ".join(BY_ID[c].label for c in criteria),
            clip(" ".join(units[i] for i in sorted(drop))),
            tuple(criteria),
            drop=drop,
        )
        for drop, criteria in by_drop.items()
    ]


def _findings(units: list[str], by_sentence: list[list[int]], used: set[int]) -> list[Candidate]:
    """One candidate per distinct clinical clause; a clause repeated in the summary is left out everywhere.
    A sentence about the review process is skipped whole ("The request was denied | due to no evidence
    of ...": the second clause is the reviewer's reason, not a fact of the request)."""
    process = {i for members in by_sentence if about_the_process(" ".join(units[i] for i in members)) for i in members}
    found: dict[str, Candidate] = {}
    for i, unit in enumerate(units):
        if i in used or i in process or about_the_worker(unit):
            continue
        text = readable(unit)
        key = text.lower()
        if key in found:
            found[key] = replace(found[key], drop=found[key].drop | {i})
        elif text and not bare(text) and len(found) < MAX_FINDINGS:
            found[key] = Candidate("finding", text, clip(unit), drop=frozenset([i]))
    return list(found.values())
