"""Parsed letters to per-item rows and a train/validation/test split by letter."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from features.categories import treatment_category
from features.letter import LABEL2ID, LABEL_NAMES, Letter
from features.views import item_field_types

SPLITS = ("train", "validation", "test")


def item_rows(letter: Letter, letter_id: str, source: str) -> list[dict[str, Any]]:
    """One row per disputed item: every `ItemRecord` field plus label, provenance and the
    post-decision text (kept for research views and audits; `pre_decision` never reads it)."""
    days = None
    if letter.date_of_injury and letter.ur_denial_date:
        delta = date.fromisoformat(letter.ur_denial_date) - date.fromisoformat(letter.date_of_injury)
        days = max(delta.days, 0)
    rows = []
    for index, item in enumerate(letter.items):
        partial = item.partial_approval
        rows.append(
            {
                "letter_id": letter_id,
                "source": source,
                "case_number": letter.case_number,
                "item_index": index,
                "label": LABEL2ID[item.decision],
                "decision": item.decision,
                "treatment": item.treatment,
                "treatment_category": treatment_category(item.treatment),
                "case_summary": letter.case_summary,
                "claims_administrator_guideline": item.claims_administrator_guideline,
                "patient_age": letter.patient_age,
                "patient_sex": letter.patient_sex,
                "days_since_injury": days,
                "partial_approval": partial is not None,
                "original_request": partial.original_request if partial else "",
                "authorized_portion": (partial.authorized or "") if partial else "",
                "maximus_guideline": item.maximus_guideline,
                "rationale": item.rationale,
                "decision_date": letter.decision_date,
            }
        )
    return rows


def letter_unit(key: str, salt: str) -> float:
    """A number in [0, 1) that depends only on the letter's key (its case number) and a salt:
    assignments built on it never move an old letter when new letters are added."""
    digest = hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def split_of(key: str, has_overturn: bool, seed: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> str:
    """A letter's split: a hash of its key (case number) with the seed, taken within its stratum
    (whether it has an overturned item), as training/data/folds.py does for folds. Stratified in
    expectation, and stable: adding letters never moves an old one to another split."""
    u = letter_unit(key, f"holdout:{seed}:{'overturned' if has_overturn else 'upheld'}")
    return "train" if u < fractions[0] else "validation" if u < fractions[0] + fractions[1] else "test"


def holdout_splits(
    letters: dict[str, bool], seed: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> dict[str, str]:
    """The split of each letter id (its case number where it has one); see split_of."""
    if abs(sum(fractions) - 1) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions}")
    return {key: split_of(key, has_overturn, seed, fractions) for key, has_overturn in letters.items()}


def build_dataset_dict(
    rows: list[dict[str, Any]], seed: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
):
    """`datasets.DatasetDict` with the three splits; no letter's items cross a split."""
    import datasets

    has_overturn: dict[str, bool] = {}
    for row in rows:
        has_overturn[row["letter_id"]] = has_overturn.get(row["letter_id"], False) or bool(row["label"])
    assignment = holdout_splits(has_overturn, seed, fractions)
    features = features_of(datasets)
    by_split: dict[str, dict[str, list]] = {split: {name: [] for name in features} for split in SPLITS}
    for row in rows:  # column-wise, so an empty split still has every column
        for name in features:
            by_split[assignment[row["letter_id"]]][name].append(row[name])
    return datasets.DatasetDict(
        {split: datasets.Dataset.from_dict(columns, features=features) for split, columns in by_split.items()}
    )


# The dataset's columns: name -> type ("label" is the Upheld/Overturned ClassLabel). The item
# fields a model reads take their types from features.views.ItemRecord, the one item schema.
_ITEM = {name: {"int": "int32"}.get(kind, kind) for name, kind in item_field_types().items()}
COLUMNS = {
    "letter_id": "string",
    "source": "string",
    "case_number": "string",
    "item_index": "int32",
    "label": "label",
    "decision": "string",
    "treatment": _ITEM["treatment"],
    "treatment_category": "string",
    **{name: kind for name, kind in _ITEM.items() if name not in ("treatment", "rationale")},
    "maximus_guideline": "string",
    "rationale": _ITEM["rationale"],
    "decision_date": "string",
}


def features_of(datasets):
    """The dataset's columns and types (`datasets` passed in: imported only where needed)."""
    return datasets.Features(
        {
            name: datasets.ClassLabel(names=list(LABEL_NAMES)) if kind == "label" else datasets.Value(kind)
            for name, kind in COLUMNS.items()
        }
    )


def features_dict() -> dict:
    """`features_of(datasets).to_dict()`, without importing datasets (a second of start-up)."""
    return {
        name: {"names": list(LABEL_NAMES), "_type": "ClassLabel"}
        if kind == "label"
        else {"dtype": kind, "_type": "Value"}
        for name, kind in COLUMNS.items()
    }


def arrow_schema():
    """`features_of(datasets).arrow_schema` (with the metadata `datasets` reads back), without
    importing datasets."""
    import json

    import pyarrow as pa

    types = {"string": pa.string(), "int32": pa.int32(), "bool": pa.bool_(), "label": pa.int64()}
    metadata = {"huggingface": json.dumps({"info": {"features": features_dict()}})}
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS.items()], metadata=metadata)
