"""Reviewer criteria: what IMR reviewers cited for each treatment category, shipped inside the
model package, and shown beside a request with whether its case summary documents each one.

    model_dir/criteria/
      table.json    the vocabulary (id, label, kind) and, per treatment category, how many
                    training items were Upheld and Overturned and how many of each cited each
                    criterion (features/criteria.py extracts them from the rationales)
      letters.npy   sorted uint64 digests of the training letters (case number, case summary),
                    so a scored letter that was itself trained on is recognised (never its text)

Both files are listed with their sha256 in imr_model.json and verified before they are read.
The table is aggregate counts: its size depends on the vocabulary and the categories, not on
the number of letters; letters.npy grows by 16 bytes a letter (16 MB for a million).

"Never indexes the scored letter": a letter scored with its own rationales (predict-letter,
`imr predict --letters`) that was among the training letters has its own items' citations
taken out of the counts before they are shown, as precedents leave out its own items.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from features.categories import treatment_category
from features.criteria import BY_ID, CRITERIA, cited, documented
from features.letter import LABEL_NAMES, OVERTURNED, UPHELD
from serving.precedents import summary_digest
from serving.prediction import CitedCriterion

FOLDER = "criteria"
TABLE_FILE, LETTERS_FILE = f"{FOLDER}/table.json", f"{FOLDER}/letters.npy"
FILES = (TABLE_FILE, LETTERS_FILE)
ALL = "all"  # the counts over every category, for a category with too few items
MIN_CATEGORY_ITEMS = 10  # fewer training items than this: a category's counts are noise, show ALL's
# A criterion is shown for a request when reviewers cited it in at least this many decided items of the
# counted category: one citation is one reviewer's remark, two are a criterion reviewers cite.
MIN_CITATIONS = 2


def _digest(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def letter_keys(record: Mapping[str, Any]) -> list[int]:
    """The digests that identify the letter of a record: its case number and its case summary."""
    keys = []
    if record.get("case_number"):
        keys.append(_digest(f"case:{record['case_number']}"))
    summary = summary_digest(record.get("case_summary"))
    if summary:
        keys.append(_digest(f"summary:{summary}"))
    return keys


def _category(record: Mapping[str, Any]) -> str:
    return record.get("treatment_category") or treatment_category(record["treatment"])


def count(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict]:
    """Per treatment category: {"items": [upheld, overturned], "cited": {criterion: [upheld, overturned]}}
    over decided items (dataset rows with `decision` and `rationale`)."""
    table: dict[str, dict] = {}
    for row in rows:
        if row.get("decision") not in LABEL_NAMES:
            continue
        column = LABEL_NAMES.index(row["decision"])
        entry = table.setdefault(_category(row), {"items": [0, 0], "cited": {}})
        entry["items"][column] += 1
        for criterion in cited(row.get("rationale")):
            entry["cited"].setdefault(criterion, [0, 0])[column] += 1
    return table


def build_table(rows: Sequence[Mapping[str, Any]], model_dir: Path) -> list[str]:
    """Write the criteria of the decided items `rows` into model_dir/criteria/; returns the
    files' paths relative to model_dir, for the manifest."""
    return write_table(model_dir, count(rows), [k for r in rows for k in letter_keys(r)])


def add_counts(total: dict[str, dict], part: dict[str, dict]) -> dict[str, dict]:
    """`total` plus the counts of another block of items (both as `count` gives them), in place:
    counting a corpus a block at a time gives count() of the whole."""
    for category, entry in part.items():
        into = total.setdefault(category, {"items": [0, 0], "cited": {}})
        into["items"] = [a + b for a, b in zip(into["items"], entry["items"])]
        for criterion, n in entry["cited"].items():
            into["cited"][criterion] = [a + b for a, b in zip(into["cited"].get(criterion, [0, 0]), n)]
    return total


def write_table(model_dir: Path, counts: dict[str, dict], keys) -> list[str]:
    """The two files from the counts of every decided item and the letter_keys of every item."""
    (model_dir / FOLDER).mkdir(parents=True, exist_ok=True)
    spec = {
        "criteria": [{"id": c.id, "label": c.label, "kind": c.kind} for c in CRITERIA],
        "categories": counts,
    }
    (model_dir / TABLE_FILE).write_text(json.dumps(spec, sort_keys=True))
    np.save(model_dir / LETTERS_FILE, np.unique(np.asarray(keys, dtype=np.uint64)), allow_pickle=False)
    return list(FILES)


def _minus(a: list[int], b: list[int]) -> list[int]:
    return [max(x - y, 0) for x, y in zip(a, b)]


class CriteriaTable:
    """The packaged counts. Load only after the model folder's hashes were verified."""

    def __init__(self, model_dir: Path):
        spec = json.loads((model_dir / TABLE_FILE).read_text())
        self.vocabulary = {c["id"]: c for c in spec["criteria"]}
        self.categories: dict[str, dict] = spec["categories"]
        self.letters = np.load(model_dir / LETTERS_FILE, allow_pickle=False)

    def trained_on(self, record: Mapping[str, Any]) -> bool:
        keys = np.array(letter_keys(record), dtype=np.uint64)
        if not len(keys) or not len(self.letters):
            return False
        at = np.searchsorted(self.letters, keys).clip(max=len(self.letters) - 1)
        return bool((self.letters[at] == keys).any())

    def _counts(self, category: str, own: dict[str, dict]) -> tuple[str, dict]:
        """The counts of `category` (ALL when it has too few items) less the scored letter's `own`."""

        def less_own(name: str) -> dict:
            entry, mine = self.categories.get(name, {"items": [0, 0], "cited": {}}), own.get(name, {})
            cited_own = mine.get("cited", {})
            return {
                "items": _minus(entry["items"], mine.get("items", [0, 0])),
                "cited": {c: _minus(n, cited_own.get(c, [0, 0])) for c, n in entry["cited"].items()},
            }

        entry = less_own(category)
        if sum(entry["items"]) >= MIN_CATEGORY_ITEMS:
            return category, entry
        total = {"items": [0, 0], "cited": {}}
        for name in self.categories:
            part = less_own(name)
            total["items"] = [x + y for x, y in zip(total["items"], part["items"])]
            for c, n in part["cited"].items():
                total["cited"][c] = [x + y for x, y in zip(total["cited"].get(c, [0, 0]), n)]
        return ALL, total

    def for_records(self, records: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
        """Per record, every criterion reviewers cited for its treatment category in at least
        MIN_CITATIONS decided items, most cited first, as serving.prediction.CitedCriterion fields."""
        own = self._own_items(records)
        out = []
        for record, mine in zip(records, own):
            category = _category(record)
            counted_in, entry = self._counts(category, mine)
            ranked = sorted(
                ((c, n) for c, n in entry["cited"].items() if sum(n) >= MIN_CITATIONS and c in self.vocabulary),
                key=lambda cn: (-sum(cn[1]), cn[0]),
            )
            out.append(
                [
                    CitedCriterion(
                        criterion=c,
                        label=self.vocabulary[c]["label"],
                        category=category,
                        kind=self.vocabulary[c]["kind"],
                        upheld_count=n[0],
                        overturned_count=n[1],
                        upheld_items=entry["items"][0],
                        overturned_items=entry["items"][1],
                        counted_in=counted_in,
                        in_request=(
                            documented(c, record.get("case_summary"), record.get("treatment")) if c in BY_ID else None
                        ),
                    ).model_dump()
                    for c, n in ranked
                ]
            )
        return out

    def _own_items(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, dict]]:
        """Per record, the counts its own letter added at training: the decided items among
        `records` that share its letter, when that letter was trained on; {} otherwise (a
        request without a decision, or a letter the model never saw)."""
        letters: dict[tuple, list[Mapping[str, Any]]] = {}
        for record in records:
            if record.get("decision") in (UPHELD, OVERTURNED):
                letters.setdefault(tuple(letter_keys(record)), []).append(record)
        own = {key: count(items) for key, items in letters.items() if key and self.trained_on(items[0])}
        return [
            own.get(tuple(letter_keys(r)), {}) if r.get("decision") in (UPHELD, OVERTURNED) else {} for r in records
        ]


def load_criteria(model_dir: Path, files: Mapping[str, str]) -> CriteriaTable | None:
    """The table when the (verified) manifest lists it; None for models packaged without one."""
    return CriteriaTable(model_dir) if all(name in files for name in FILES) else None
