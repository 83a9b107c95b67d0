"""What a baseline reason must never be (tests/features/test_style.py, tests/serving/test_reasons_style.py):
written here independently of features/style.py's own patterns, so a gap in them shows."""

from __future__ import annotations

import re

PERSON_WORDS = {"worker", "workers", "applicant", "applicants", "claimant", "employee", "patient", "patients", "iw"}
# "may" and "march" are left out: a verb and a clinical term far more often than months
MONTH_WORDS = {"january", "february", "april", "june", "july", "august", "september", "october", "november", "december"}


def style_marks(text: str) -> list[str]:
    """The words of `text` that name a person or a month, or are only digits."""
    words = re.findall(r"\w+", text.lower())
    return [w for w in words if w in PERSON_WORDS or w in MONTH_WORDS or w.isdigit()]
