"""Synthetic Final Determination Letters for tests.

A letter is built as a list of lines from parts (header, reviewer credentials, case summary,
items); `PAGE_BREAK` entries in that list mark where a page ends. `render` then turns the
lines into text the way a PDF extractor would hand it over, optionally with page furniture
("Page 2 of 3", bare page numbers, the case number repeated on later pages) and with a blank
line between every line (as in the seed texts). `pdf_bytes` writes the same pages as a tiny
but valid PDF (Helvetica, one text object per line, a correct xref table).
"""

from __future__ import annotations

from pathlib import Path

PAGE_BREAK = "\f"
CASE_NUMBER = "CM16-0000001"


def header_lines(case_number: str = CASE_NUMBER, injured: str = "03/15/2015", decided: str = "02/01/2017") -> list[str]:
    """The header block of the bundled PDFs ("Application" and "Received:" wrap, as there)."""
    return [
        f"Case Number: {case_number}",
        f"Date Assigned: 01/04/2017 Date of Injury: {injured}",
        f"Decision Date: {decided} UR Denial Date: 12/20/2016",
        "Priority: Standard Application",
        "Received:",
        "12/28/2016",
    ]


REVIEWER = [
    "HOW THE IMR FINAL DETERMINATION WAS MADE",
    "MAXIMUS Federal Services sent the complete case file to an expert reviewer. He/she has no",
    "affiliation with the employer, employee, providers or the claims administrator.",
    "The Expert Reviewer has the following credentials:",
    "State(s) of Licensure: California, Oregon",
    "Certification(s)/Specialty: Orthopaedic Surgery",
]

SUMMARY = [
    "CLINICAL CASE SUMMARY",
    "The expert reviewer developed the following clinical case summary based on a review of the",
    "case file, including all medical records:",
    "The injured worker is a 47 year old female who sustained an industrial injury on 03-15-2015.",
    "She reports right knee pain rated 6/10. Utilization review non-certified the requests.",
]

ISSUES = [
    "IMR ISSUES, DECISIONS AND RATIONALES",
    "The Final Determination was based on decisions for the disputed items/services set forth below:",
]

CA_GUIDELINE = "Decision based on MTUS Knee Complaints 2004."
MAXIMUS_GUIDELINE = "Decision based on MTUS Knee Complaints 2004, Section(s): Special Studies."
NON_MTUS_GUIDELINE = [
    "The Expert Reviewer based their decision on recommendation(s) outside of the MTUS",
    "Guidelines. Decision based on Non-MTUS Citation Official Disability Guidelines (ODG),",
    "Knee and Leg Chapter.",
]


def rationale_lines(topic: str, verdict: str = "is not medically necessary") -> list[str]:
    """A short rationale whose last sentence states the verdict."""
    return [
        f"The guidelines address {topic} for the injured worker with persistent symptoms.",
        "The records document examination findings and prior conservative care.",
        f"Therefore, the request for {topic} {verdict}.",
    ]


def item(
    name: str | list[str],
    decision: str = "Upheld",
    *,
    rationale: list[str] | None = None,
    ca: str | list[str] = CA_GUIDELINE,
    maximus: str | list[str] = MAXIMUS_GUIDELINE,
    decision_alone: bool = False,
) -> list[str]:
    """Lines of one disputed item. `name` may be several lines (a wrapped name); with
    `decision_alone` the decision sits on its own line after a line ending in ':'."""
    name_lines = [name] if isinstance(name, str) else list(name)
    if decision_alone:
        heading = name_lines[:-1] + [f"{name_lines[-1]}:", decision]
    else:
        heading = name_lines[:-1] + [f"{name_lines[-1]}: {decision}"]
    ca_lines = [ca] if isinstance(ca, str) else list(ca)
    mx_lines = [maximus] if isinstance(maximus, str) else list(maximus)
    verdict = "is medically necessary" if decision == "Overturned" else "is not medically necessary"
    body = rationale if rationale is not None else rationale_lines("this request", verdict)
    return (
        heading
        + [f"Claims Administrator guideline: {ca_lines[0]}"]
        + ca_lines[1:]
        + [f"MAXIMUS guideline: {mx_lines[0]}"]
        + mx_lines[1:]
        + [f"Decision rationale: {body[0]}"]
        + body[1:]
    )


def partial_heading(original: str, authorized: str, remaining: str, *, leaving: bool = False) -> list[str]:
    """Name lines of a partial approval, in either of MAXIMUS's two phrasings (without the
    decision; pass the result to `item`). `leaving=True` is "The Claims Administrator
    authorized Y, leaving the original request IMR eligible. The original request, X is"."""
    if leaving:
        return [
            f"{original} was the original request. The Claims Administrator",
            f"authorized {authorized}, leaving the original request IMR eligible.",
            f"The original request, {remaining} is",
        ]
    return [
        f"{original} was the original request. {authorized}",
        "was authorized by the Claims Administrator. The remaining IMR eligible portion of the",
        f"original request, {remaining} is",
    ]


def letter_lines(
    *items: list[str],
    case_number: str | None = CASE_NUMBER,
    reviewer: list[str] = REVIEWER,
    summary: list[str] = SUMMARY,
    header: list[str] | None = None,
) -> list[str]:
    """A whole letter (no header block when case_number is None, like the seed texts; `header`
    replaces the default one); one page break after the case summary, as in the real letters."""
    header = header if header is not None else header_lines(case_number) if case_number else []
    return header + reviewer + summary + [PAGE_BREAK] + ISSUES + [ln for it in items for ln in it]


def simple_letter_lines(case_number: str, decisions: str) -> list[str]:
    """A letter with one item per character of `decisions` ("U" Upheld, "O" Overturned)."""
    names = ["MRI of the lumbar spine", "Norco 10/325mg #60", "Physical therapy 2x6", "TENS unit"]
    items = [item(names[k % len(names)], "Overturned" if d == "O" else "Upheld") for k, d in enumerate(decisions)]
    return letter_lines(*items, case_number=case_number)


def simple_letter(case_number: str, decisions: str) -> str:
    return render(simple_letter_lines(case_number, decisions))


def render(
    lines: list[str], *, page_numbers: str | None = None, repeat_case_number: bool = False, blank_lines: bool = False
) -> str:
    """Text as an extractor returns it. page_numbers: None, "page_of" ("Page 2 of 3" at the
    foot of every page) or "bare" ("2" at the foot of every page)."""
    pages = split_pages(lines)
    out = []
    for number, page in enumerate(pages, start=1):
        page = list(page)
        if repeat_case_number and number > 1:
            page.insert(0, f"Case Number: {CASE_NUMBER}")
        if page_numbers == "page_of":
            page.append(f"Page {number} of {len(pages)}")
        elif page_numbers == "bare":
            page.append(str(number))
        out.append(("\n\n" if blank_lines else "\n").join(page))
    return PAGE_BREAK.join(out)


def split_pages(lines: list[str]) -> list[list[str]]:
    pages: list[list[str]] = [[]]
    for line in lines:
        if line == PAGE_BREAK:
            pages.append([])
        else:
            pages[-1].append(line)
    return pages


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: one page per list, each line its own BT/ET text object in
    Helvetica. A page with no lines has no text layer at all (an empty content stream)."""
    objects: dict[int, bytes] = {}
    page_ids = [4 + 2 * k for k in range(len(pages))]
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode()
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    for page_id, lines in zip(page_ids, pages):
        leading = min(12.0, 740.0 / max(len(lines), 1))
        stream = b"".join(
            f"BT /F1 8 Tf 40 {770 - i * leading:.2f} Td (".encode() + _pdf_string(line) + b") Tj ET\n"
            for i, line in enumerate(lines)
        )
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_id + 1} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>"
        ).encode()
        objects[page_id + 1] = f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"endstream"

    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    out += b"".join(f"{offsets[n]:010d} 00000 n \n".encode() for n in sorted(objects))
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _pdf_string(text: str) -> bytes:
    return text.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def write_pdf(path: Path, lines: list[str]) -> Path:
    path.write_bytes(pdf_bytes(split_pages(lines)))
    return path
