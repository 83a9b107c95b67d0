"""Letter text to a `Letter` record.

The parser anchors on the fixed labels MAXIMUS prints for every disputed item
("Claims Administrator guideline:", "MAXIMUS guideline:", "Decision rationale:") and reads the
item's name and decision from the lines just before its first label. A letter whose labels do
not line up one-to-one with its decisions is rejected rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from features.extract import PAGE_BREAK
from features.letter import Item, Letter, PartialApproval

HOW_MADE = "HOW THE IMR FINAL DETERMINATION WAS MADE"
SUMMARY = "CLINICAL CASE SUMMARY"
ISSUES = "IMR ISSUES, DECISIONS AND RATIONALES"
OLD_LAYOUT = "Notice of Independent Medical Review Determination"

CA_LABEL = "Claims Administrator guideline:"
MAXIMUS_LABEL = "MAXIMUS guideline:"
RATIONALE_LABEL = "Decision rationale:"

DECISION_AT_END = re.compile(r"^(?P<head>.*):\s*(?P<decision>Upheld|Overturned)$")
DECISION_ALONE = re.compile(r"^(?P<decision>Upheld|Overturned)$")
PAGE_FURNITURE = re.compile(r"^(Page \d+( of \d+)?|-?\s*\d{1,3}\s*-?)$", re.IGNORECASE)
PAGE_OF = re.compile(r"^Page \d+ of \d+$", re.IGNORECASE)
ENUMERATION = re.compile(r"^\d{1,2}[.)]\s+")  # "1. MRI ..." / "2) Norco ..." (not "1 Prescription of")
SENTENCE_END = (".", "?", "!", '."')
SUMMARY_PREAMBLE = re.compile(
    r"^The expert reviewer developed the following clinical case summary based on a review of the "
    r"case file, including all medical records:\s*"
)
ISSUES_PREAMBLE = re.compile(
    r"^The Final Determination was based on decisions for the disputed items/services set forth below:\s*"
)
DATE = r"(\d{1,2}/\d{1,2}/\d{4})"
MIN_AGE, MAX_AGE = 0, 120  # the range the predict API accepts for patient_age


class LetterRejected(ValueError):
    """The text is not a letter this parser can read with certainty; the message says why."""


@dataclass(frozen=True)
class Line:
    text: str
    number: int  # 1-based line number in the cleaned text, for error messages


def parse_letter(text: str) -> Letter:
    lines = clean_lines(text)
    if not lines:
        raise LetterRejected("no text")
    body = "\n".join(line.text for line in lines)
    if OLD_LAYOUT.lower() in body.lower() and ISSUES not in body:
        raise LetterRejected(f"unsupported layout: 2013 '{OLD_LAYOUT}' letters are not parsed")
    how, summary, issues = (_find_heading(lines, h) for h in (HOW_MADE, SUMMARY, ISSUES))
    _reject_repeated_sections(lines)
    if not how < summary < issues:
        raise LetterRejected(f"sections out of order: '{HOW_MADE}', '{SUMMARY}', '{ISSUES}'")

    header = _header_fields(join(lines[:how]))
    reviewer = join(lines[how + 1 : summary])
    case_summary = SUMMARY_PREAMBLE.sub("", join(lines[summary + 1 : issues]))
    if not case_summary:
        raise LetterRejected(f"empty '{SUMMARY}' section")
    items = parse_items(lines[issues + 1 :])
    age, sex = patient_age_sex(case_summary)
    warnings = []
    if age is not None and not MIN_AGE <= age <= MAX_AGE:
        # A typo or an OCR slip in the summary; the letter's items are still good data.
        warnings.append(f"patient age {age} outside {MIN_AGE}-{MAX_AGE}: set to null")
        age = None
    return Letter(
        **header,
        reviewer_licensure=_licensure(reviewer),
        reviewer_specialty=_specialty(reviewer),
        patient_age=age,
        patient_sex=sex,
        case_summary=case_summary,
        items=items,
        warnings=warnings,
    )


def _reject_repeated_sections(lines: list[Line]) -> None:
    """Two PDFs joined into one file (a common download artefact) repeat every section heading;
    parsing on would invent an item from the second copy's headings and swallow it in a rationale."""
    for heading in (HOW_MADE, SUMMARY, ISSUES):
        count = sum(line.text == heading for line in lines)
        if count > 1:
            raise LetterRejected(f"more than one letter in the file: '{heading}' appears {count} times")


def clean_lines(text: str) -> list[Line]:
    """Strip, drop blank lines (the seed texts have one between every line) and page furniture:
    "Page 2 of 5" anywhere, bare page numbers at a page's top or bottom, and repeats of the
    "Case Number:" header on later pages."""
    out: list[Line] = []
    seen_case_number = False
    for page in text.split(PAGE_BREAK):
        raw = [ln.strip() for ln in page.split("\n")]
        kept = [ln for ln in raw if ln]
        for i, ln in enumerate(kept):
            at_edge = i < 2 or i >= len(kept) - 2
            if PAGE_OF.match(ln) or (at_edge and PAGE_FURNITURE.match(ln)):
                continue
            if ln.startswith("Case Number:"):
                if seen_case_number:
                    continue
                seen_case_number = True
            out.append(Line(ln, len(out) + 1))
    return out


def join(lines: list[Line]) -> str:
    """Rejoin wrapped lines; a line ending in '-' or '/' was wrapped inside a word or date."""
    text = ""
    for line in lines:
        if text and not text.endswith(("-", "/")):
            text += " "
        text += line.text
    return re.sub(r"\s+", " ", text).strip()


def _find_heading(lines: list[Line], heading: str) -> int:
    for i, line in enumerate(lines):
        if line.text == heading:
            return i
    raise LetterRejected(f"not an IMR Final Determination Letter: no '{heading}' section")


def _iso(date: str | None, field: str) -> str | None:
    """ISO date, or a rejection naming the header field (never its value: the letter's data)."""
    if not date:
        return None
    try:
        return datetime.strptime(date, "%m/%d/%Y").date().isoformat()
    except ValueError:
        raise LetterRejected(f"invalid date in header field '{field}': not a real MM/DD/YYYY date") from None


def _header_fields(header: str) -> dict:
    def grab(pattern: str) -> str | None:
        m = re.search(pattern, header)
        return m.group(1).strip() if m else None

    return {
        "case_number": grab(r"Case Number:\s*(CM\d{2}-\d{7})"),
        "date_assigned": _iso(grab(r"Date Assigned:\s*" + DATE), "Date Assigned"),
        "date_of_injury": _iso(grab(r"Date of Injury:\s*" + DATE), "Date of Injury"),
        "decision_date": _iso(grab(r"Decision Date:\s*" + DATE), "Decision Date"),
        "ur_denial_date": _iso(grab(r"UR Denial Date:\s*" + DATE), "UR Denial Date"),
        "application_received": _iso(grab(r"Application\s+Received:\s*" + DATE), "Application Received"),
        "priority": grab(r"Priority:\s*(\w+)"),
    }


def _licensure(reviewer: str) -> list[str]:
    m = re.search(r"State\(s\) of Licensure:\s*(.+?)\s*(?:Certification\(s\)/Specialty:|$)", reviewer)
    if not m:  # older phrasing: "... and is licensed to practice in California."
        m = re.search(r"licensed to practice in (.+?)\.", reviewer)
    if not m:
        return []
    states = re.split(r"\s*(?:,|\band\b)\s*", m.group(1))
    return [s for s in states if s]


def _specialty(reviewer: str) -> str | None:
    m = re.search(r"Certification\(s\)/Specialty:\s*(.+)$", reviewer)
    if not m:  # older phrasing: "The expert reviewer is Board Certified in X and is licensed ..."
        m = re.search(r"Certified in (.+?) and is licensed", reviewer)
    return m.group(1).strip() if m else None


def patient_age_sex(summary: str) -> tuple[int | None, str | None]:
    age = re.search(r"\b(\d{1,3})[- ]years?[- ]old\b", summary, re.IGNORECASE)
    sex = re.search(r"\b(male|female|man|woman|gentleman|lady)\b", summary, re.IGNORECASE)
    sex_value = None
    if sex:
        sex_value = "female" if sex.group(1).lower() in ("female", "woman", "lady") else "male"
    return (int(age.group(1)) if age else None), sex_value


def parse_items(lines: list[Line]) -> list[Item]:
    """Items of the "IMR ISSUES, DECISIONS AND RATIONALES" section, in letter order."""
    start = 0
    preamble = ""
    while start < len(lines) and not preamble.endswith("set forth below:") and start < 3:
        preamble = join(lines[: start + 1])
        start += 1
    if not ISSUES_PREAMBLE.match(preamble):
        start = 0
    lines = lines[start:]

    labels = {
        lab: [i for i, ln in enumerate(lines) if ln.text.startswith(lab)]
        for lab in (CA_LABEL, MAXIMUS_LABEL, RATIONALE_LABEL)
    }
    ca, mx, rat = labels[CA_LABEL], labels[MAXIMUS_LABEL], labels[RATIONALE_LABEL]
    if not ca:
        raise LetterRejected(f"no disputed items: no '{CA_LABEL}' in '{ISSUES}'")
    if not len(ca) == len(mx) == len(rat):
        raise LetterRejected(
            f"items do not reconcile: {len(ca)} '{CA_LABEL}', {len(mx)} '{MAXIMUS_LABEL}', "
            f"{len(rat)} '{RATIONALE_LABEL}'"
        )
    for k, (c, m, r) in enumerate(zip(ca, mx, rat)):
        nxt = ca[k + 1] if k + 1 < len(ca) else len(lines)
        if not c < m < r < nxt:
            raise LetterRejected(
                f"item {k + 1}: guideline and rationale labels out of order near line {lines[c].number}"
            )

    headings = [_heading_span(lines, c, floor=(rat[k - 1] if k else -1), item_no=k + 1) for k, c in enumerate(ca)]
    decision_lines = sum(1 for ln in lines if DECISION_AT_END.match(ln.text) or DECISION_ALONE.match(ln.text))
    if decision_lines != len(ca):
        raise LetterRejected(f"items do not reconcile: {decision_lines} decision lines but {len(ca)} rationales")

    items = []
    for k, (c, m, r) in enumerate(zip(ca, mx, rat)):
        end = headings[k + 1][0] if k + 1 < len(ca) else len(lines)
        head_start, _ = headings[k]
        treatment, decision, partial = _read_heading(join(lines[head_start:c]), item_no=k + 1)
        items.append(
            Item(
                treatment=treatment,
                decision=decision,
                partial_approval=partial,
                claims_administrator_guideline=join(lines[c:m])[len(CA_LABEL) :].strip(),
                maximus_guideline=join(lines[m:r])[len(MAXIMUS_LABEL) :].strip(),
                rationale=join(lines[r:end])[len(RATIONALE_LABEL) :].strip(),
            )
        )
    return items


def _heading_span(lines: list[Line], ca_index: int, floor: int, item_no: int) -> tuple[int, int]:
    """Lines [start, ca_index) holding the item's name and decision. The decision is on the line
    just before the first guideline label, or alone on that line after a line ending in ':'.
    The name runs back to the previous sentence end (the end of the last rationale)."""
    d = ca_index - 1
    if d <= floor:
        raise LetterRejected(f"item {item_no}: no item name before '{CA_LABEL}' (line {lines[ca_index].number})")
    text = lines[d].text
    decision_alone = DECISION_ALONE.match(text) and d - 1 > floor and lines[d - 1].text.endswith(":")
    if not (DECISION_AT_END.match(text) or decision_alone):
        raise LetterRejected(
            f"item {item_no}: no Upheld/Overturned decision on line {lines[d].number}, before '{CA_LABEL}'"
        )
    start = d - 1 if DECISION_ALONE.match(text) else d

    def extend(start: int) -> int:
        while start - 1 > floor and not lines[start - 1].text.endswith(SENTENCE_END):
            start -= 1
        return start

    start = extend(start)
    # A partial approval's name is several sentences ("X was the original request. Y was
    # authorized ... The remaining IMR eligible portion ... is: Upheld"): reach back to its first.
    heading = join(lines[start:ca_index])
    if re.search(r"original request|remaining IMR eligible", heading) and "was the original request" not in heading:
        while start - 1 > floor and "was the original request" not in join(lines[start:ca_index]):
            start -= 1
        if "was the original request" not in join(lines[start:ca_index]):
            raise LetterRejected(
                f"item {item_no}: partial approval without 'was the original request' (line {lines[d].number})"
            )
        start = extend(start)
    if start == floor + 1 and floor >= 0 and not lines[floor].text.endswith(SENTENCE_END):
        raise LetterRejected(
            f"item {item_no}: cannot tell the item name from the previous rationale (line {lines[start].number})"
        )
    return start, d


def _read_heading(heading: str, item_no: int) -> tuple[str, str, PartialApproval | None]:
    m = DECISION_AT_END.match(heading)
    if not m:
        raise LetterRejected(f"item {item_no}: no decision in '{heading[:80]}'")
    head, decision = m.group("head").strip(), m.group("decision")
    partial = None
    if "was the original request" in head:
        original = head.split(" was the original request", 1)[0].strip()
        authorized = re.search(r"was the original request\.\s*(.+?) was authorized by the Claims Administrator", head)
        if not authorized:
            authorized = re.search(r"The Claims Administrator authorized (.+?)(?:, leaving|\.\s)", head)
        remaining = re.search(
            r"(?:The remaining IMR eligible portion of the original request|The original request)"
            r",?\s*(.+?)(?:,?\s+is)?$",
            head,
        )
        partial = PartialApproval(
            original_request=original,
            authorized=authorized.group(1).strip() if authorized else None,
            remaining_portion=remaining.group(1).strip() if remaining else None,
        )
        head = partial.remaining_portion or original
    head = ENUMERATION.sub("", head)
    if not head:
        raise LetterRejected(f"item {item_no}: empty item name")
    return head, decision, partial
