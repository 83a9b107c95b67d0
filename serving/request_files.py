"""The requests of `imr predict --input FILE`: JSON Lines or CSV, one request per line or row.

Each record is validated by the model that validates a `/v1/predict` item
(serving.http_models.PredictItem), and its text fields bounded by the same lengths
(serving/field_limits.py), so the command and the service accept and refuse the same items, and
score the same fields. A bad line (not UTF-8, not JSON, a CSV row the parser refuses,
an invalid item) is an error for that line only; the others are still scored. Errors name the
line and the field, never the line's text (it can be clinical text). Only what makes the whole
file unusable (it cannot be opened, a CSV header without `treatment`) is an InputError.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from features.errors import InputError
from serving.field_limits import FieldLimits
from serving.http_models import PredictItem, client_errors

# Python's csv default; a longer field is an error for its row (a case summary is a few KB).
MAX_CSV_FIELD = csv.field_size_limit()


def read_requests(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, record, None) or (line number, None, error) for every record of `path`."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read input ({exc.strerror})") from exc
    with handle:
        if path.suffix.lower() == ".csv":
            yield from _csv_records(path, handle)
        else:
            yield from _jsonl_records(handle)


def validate_request(
    record: dict[str, Any], limits: FieldLimits | None = None
) -> tuple[dict[str, Any] | None, Any, str | None]:
    """(fields to score, id, None) or (None, id or None, error) for one record, as /v1/predict
    validates an item: the fields are those the client set, without `id`, each text field within
    the model's `limits` (serving/field_limits.py)."""
    try:
        item = PredictItem.model_validate(record)
    except ValidationError as exc:
        details = client_errors(exc.errors())
        ids = [d for d in details if d["field"] == "id"]
        echo = record.get("id") if not ids else None  # an invalid id is not echoed either
        return None, echo, "; ".join(f"field '{d['field']}': {d['msg']}" for d in details)
    fields = item.model_dump(exclude={"id"}, exclude_unset=True)
    too_long = limits.problems(fields) if limits is not None else []
    if too_long:
        return None, item.id, "; ".join(f"field '{name}': {msg}" for name, msg in too_long)
    return fields, item.id, None


def _jsonl_records(handle) -> Iterator[tuple[int, dict | None, str | None]]:
    for number, raw in enumerate(handle, start=1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)  # written by some editors; not part of the JSON
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, None, f"not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line)"
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        except (ValueError, RecursionError):  # what json.loads refuses other than by syntax
            yield number, None, "not valid JSON (a number with too many digits, or nesting too deep)"
            continue
        if not isinstance(record, dict):
            yield number, None, f"expected a JSON object, got {type(record).__name__}"
            continue
        yield number, record, None


def _csv_records(path: Path, handle) -> Iterator[tuple[int, dict | None, str | None]]:
    # surrogateescape: a byte that is not UTF-8 becomes a lone surrogate in its field, found
    # below, so it fails its own row only (strict decoding would stop the whole file there).
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"{path}:1: CSV header cannot be read ({exc})") from None
    if header is not None and not _is_utf8(header):
        raise InputError(f"{path}:1: CSV header is not UTF-8 text")
    if not header or "treatment" not in header:
        raise InputError(f"{path}:1: CSV header has no 'treatment' column")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over MAX_CSV_FIELD; the reader goes on with the next row
            yield reader.line_num, None, f"not a valid CSV row ({exc})"
            continue
        if not row:
            continue
        if not _is_utf8(row):
            yield reader.line_num, None, "not UTF-8 text"
        elif len(row) > len(header):
            yield reader.line_num, None, f"{len(row)} fields, but the header names {len(header)}"
        else:
            # An empty CSV field is a field not given (CSV has no null), and so is a missing one.
            yield reader.line_num, {k: v for k, v in zip(header, row, strict=False) if k and v != ""}, None


def _is_utf8(values: list[str]) -> bool:
    try:
        for value in values:
            value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
