"""Length bounds on a request's text fields, proportional to the longest text of each field the
model was trained on.

A request's cost grows with its text (the TF-IDF, the out-of-distribution check, the precedents
search and, with `explain`, each reason), so a 4.9 MB case summary, within the 5 MiB body limit,
held the scoring thread for 12-25 s. Nothing the model learned from was anywhere near that long:
the bundled letters' longest case summary is 4,794 characters. Training records the longest
value of each text field in the model's manifest (`ModelMeta.field_lengths`, written by
training/families/packaging.py); `imr serve` and `imr predict` refuse a field longer than `factor` times
that (at least `factor` x FLOOR_CHARS, so a field that was short or empty in training still takes
an ordinary request), naming the field and the limit, never quoting the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The text fields of features.views.ItemRecord that a request may carry.
TEXT_FIELDS = (
    "treatment",
    "case_summary",
    "claims_administrator_guideline",
    "original_request",
    "authorized_portion",
    "rationale",
)
DEFAULT_FACTOR = 10.0
FLOOR_CHARS = 1_000
# Models packaged before the lengths were recorded: every field is bounded as if the longest
# training text had been this long (10x the bundled letters' longest case summary, rounded).
LEGACY_LONGEST = 50_000


def longest_fields(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The longest value (in characters) of each text field over `records` (training items)."""
    longest = dict.fromkeys(TEXT_FIELDS, 0)
    for record in records:
        for name in TEXT_FIELDS:
            value = record.get(name)
            if isinstance(value, str) and len(value) > longest[name]:
                longest[name] = len(value)
    return longest


class FieldLimits:
    """The largest length accepted for each text field of a request to one model."""

    def __init__(self, longest: Mapping[str, int] | None, factor: float = DEFAULT_FACTOR):
        self.factor = factor
        if longest is None:
            self.basis = dict.fromkeys(TEXT_FIELDS, (LEGACY_LONGEST, "a fixed bound: no lengths recorded"))
        else:
            self.basis = {
                name: (longest.get(name, 0), f"the longest {name} in its training letters")
                if longest.get(name, 0) >= FLOOR_CHARS
                else (FLOOR_CHARS, "the least bound for any field")
                for name in TEXT_FIELDS
            }
        self.limits = {name: int(factor * base) for name, (base, _) in self.basis.items()}

    @classmethod
    def of(cls, predictor, factor: float = DEFAULT_FACTOR) -> FieldLimits:
        """The limits for a loaded predictor's model (its manifest's recorded lengths, when it has them)."""
        meta = getattr(getattr(predictor, "scorer", None), "meta", None)
        return cls(getattr(meta, "field_lengths", None), factor)

    def problems(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(field, message) for each text field of `record` longer than its limit; the message
        gives the field's length and limit, never its text."""
        out = []
        for name, limit in self.limits.items():
            value = record.get(name)
            if isinstance(value, str) and len(value) > limit:
                base, why = self.basis[name]
                out.append(
                    (
                        name,
                        f"{len(value):,} characters, longer than the {limit:,} this model accepts "
                        f"({self.factor:g} x {base:,}, {why})",
                    )
                )
        return out
