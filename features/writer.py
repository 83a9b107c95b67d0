"""The writer template of a case summary: how it opens and names the worker.

IMR reviewers write the case summary in a few fixed templates, and a model that learns one
template's wording has learnt the writer, which a request scored before submission does not have.
training.data.folds.writer_folds holds out one template at a time to measure that shift.

The rule reads the summary's opening (its first OPENING characters) and looks, in this order, for
"this case involves", "applicant", "injured worker"/"injured employee" and "patient". On the 152
bundled letters (147 PDFs and 5 seed letters; 336 items, 36 overturned):

| template | letters | items | overturned items | letters with an overturned item |
| --- | --- | --- | --- | --- |
| injured_worker | 106 | 131 | 23 | 22 |
| this_case_involves | 37 | 194 | 10 | 3 |
| applicant | 8 | 9 | 3 | 3 |
| patient | 1 | 2 | 0 | 0 |

Within injured_worker the next sentence varies ("who sustained an industrial injury on" in 78
letters, "with a date of injury on", "with an industrial injury date of", "who sustained a work
related injury" in 3 to 9 each), but every variant names the worker the same way and has too few
overturned items to be a fold of its own, so they are one template here.
"""

from __future__ import annotations

OPENING = 200
# (template, phrase): the first phrase found in the opening names the template.
_PHRASES = (
    ("this_case_involves", "this case involves"),
    ("applicant", "applicant"),
    ("injured_worker", "injured worker"),
    ("injured_worker", "injured employee"),
    ("patient", "patient"),
)
OTHER = "other"
TEMPLATES = ("this_case_involves", "applicant", "injured_worker", "patient", OTHER)


def writer_template(case_summary: str | None) -> str:
    """One of TEMPLATES for the case summary (OTHER when it opens in none of the known ways)."""
    opening = " ".join((case_summary or "")[:OPENING].lower().split())
    return next((template for template, phrase in _PHRASES if phrase in opening), OTHER)
