"""Which copy of a letter is kept when several files hold it: a rule on the files' content, never
on the order they were read in, so the same files always give the same dataset.

- Same bytes: the copy with the lowest path (in code-point order) is kept.
- Same case number, different bytes (a corrected or re-sent letter): the latest decision date is
  kept, then (same date, or none) the lowest sha256. A letter with a decision date beats one
  without.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol


class Candidate(Protocol):
    path: str
    status: str
    reason: str | None
    sha256: str | None
    case_number: str | None
    decision_date: str | None


def mark_duplicates(results: Sequence[Candidate]) -> None:
    """Set status "duplicate" (and the reason, naming the kept file) on every copy not kept."""
    by_sha: dict[str, list[Candidate]] = {}
    for r in results:
        if r.sha256 and r.status != "duplicate":
            by_sha.setdefault(r.sha256, []).append(r)
    for copies in by_sha.values():
        kept = min(copies, key=lambda r: r.path)
        for r in copies:
            if r is not kept:
                _duplicate(r, f"same content as {kept.path}")
    by_case: dict[str, list[Candidate]] = {}
    for r in results:
        if r.status == "parsed" and r.case_number:
            by_case.setdefault(r.case_number, []).append(r)
    for case_number, copies in by_case.items():
        kept = min(copies, key=_case_rank)
        for r in copies:
            if r is not kept:
                _duplicate(r, f"same case number {case_number} as {kept.path}")


def _case_rank(r: Candidate) -> tuple[int, str]:
    latest_first = -date.fromisoformat(r.decision_date).toordinal() if r.decision_date else 1
    return latest_first, r.sha256 or ""


def _duplicate(r: Candidate, reason: str) -> None:
    r.status, r.reason = "duplicate", reason
    if hasattr(r, "items"):
        r.items, r.overturned = 0, 0
    if hasattr(r, "letter"):
        r.letter = None
