"""The per-file work of ingest: a pure function of a file's bytes, so it runs unchanged in a
local process pool or any other engine (its result is plain data, picklable and JSON-able)."""

from __future__ import annotations

from typing import Any

from features.dataset import item_rows
from features.extract import ExtractionError, letter_text_from_bytes
from features.letter import OVERTURNED
from features.parser import LetterRejected, parse_letter

# Row columns that depend on where a file was found, not on its bytes; the ingest adds them.
PLACEMENT_COLUMNS = ("letter_id", "source")


def parse_bytes(data: bytes, rows: bool = False) -> dict[str, Any]:
    """{"ok": False, "reason"} or {"ok": True, letter summary, and "letter" (the parsed letter as
    a dict) or, with rows=True, "rows" (its dataset rows without the placement columns)}."""
    try:
        letter = parse_letter(letter_text_from_bytes(data))
    except (ExtractionError, LetterRejected) as exc:
        return {"ok": False, "reason": str(exc)}
    out: dict[str, Any] = {
        "ok": True,
        "case_number": letter.case_number,
        "decision_date": letter.decision_date,
        "items": len(letter.items),
        "overturned": sum(i.decision == OVERTURNED for i in letter.items),
        "warnings": list(letter.warnings),
    }
    if rows:
        out["rows"] = [
            {k: v for k, v in row.items() if k not in PLACEMENT_COLUMNS} for row in item_rows(letter, "", "")
        ]
    else:
        out["letter"] = letter.model_dump()
    return out
