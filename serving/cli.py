"""`imr predict`: score requests (JSON Lines or CSV) or the disputed items of whole letters."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from features.views import ItemRecord


def add_serving_commands(sub) -> None:
    p = sub.add_parser("predict", help="score requests or letters with a registered model")
    p.add_argument("--model", required=True, help="models:/NAME/VERSION, models:/NAME@ALIAS, runs:/ID/model or a folder")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", type=Path, help="requests as .jsonl or .csv (treatment required)")
    src.add_argument("--letters", type=Path, nargs="+", help="letters (PDF or text) whose items to score")
    p.add_argument("--output", type=Path, default=Path("-"), help="JSON Lines output (default: stdout)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any input line or letter is invalid")
    p.add_argument("--backend", choices=["torch", "onnx"], help="transformer runtime (default torch; onnx = int8)")
    p.set_defaults(func=cmd_predict)


class InputError(ValueError):
    pass


def read_requests(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, record, None) or (line number, None, error) for every input record."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read input ({exc.strerror})") from exc
    with handle:
        try:
            if path.suffix.lower() == ".csv":
                reader = csv.DictReader(handle)
                if not reader.fieldnames or "treatment" not in reader.fieldnames:
                    raise InputError(f"{path}:1: CSV header has no 'treatment' column")
                for row in reader:
                    yield reader.line_num, {k: v for k, v in row.items() if k and v not in ("", None)}, None
            else:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield number, None, f"not valid JSON ({exc.msg} at column {exc.colno})"
                        continue
                    if not isinstance(record, dict):
                        yield number, None, f"expected a JSON object, got {type(record).__name__}"
                        continue
                    yield number, record, None
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def validation_message(exc: ValidationError) -> str:
    return "; ".join(f"field '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in exc.errors())


def score_requests(predictor, path: Path) -> tuple[list[dict], int]:
    """Output rows in input order; invalid lines become error rows and are counted."""
    rows: list[dict] = []
    valid: list[tuple[int, dict]] = []
    for number, record, error in read_requests(path):
        if record is not None:
            try:
                ItemRecord.model_validate(record)
            except ValidationError as exc:
                error = validation_message(exc)
        row = {"line": number}
        if record is not None and "id" in record:
            row["id"] = record["id"]
        if error:
            row["error"] = error
            print(f"{path}:{number}: {error}", file=sys.stderr)
        else:
            valid.append((len(rows), record))
        rows.append(row)
    for (index, _), prediction in zip(valid, predictor.predict([r for _, r in valid])):
        rows[index].update(prediction)
    return rows, len(rows) - len(valid)


def score_letters(predictor, paths: list[Path]) -> tuple[list[dict], int]:
    from features.dataset import item_rows
    from features.ingest import expand_paths, parse_file

    rows: list[dict] = []
    failed = 0
    for path in expand_paths(paths):
        letter, _, reason = parse_file(path)
        if letter is None:
            failed += 1
            print(f"{path}: rejected: {reason}", file=sys.stderr)
            rows.append({"source": str(path), "error": reason})
            continue
        items = item_rows(letter, letter.case_number or str(path), str(path))
        for item, prediction in zip(items, predictor.predict(items)):
            rows.append({"source": str(path), "case_number": letter.case_number, "item_index": item["item_index"],
                         "treatment": item["treatment"], **prediction})
    return rows, failed


def cmd_predict(args: argparse.Namespace) -> int:
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import ModelNotFoundError, load_predictor

    try:
        predictor = load_predictor(args.model, args.backend)
        if args.input:
            rows, failed = score_requests(predictor, args.input)
        else:
            rows, failed = score_letters(predictor, args.letters)
    except (ModelNotFoundError, ModelIntegrityError, InputError) as exc:
        print(f"imr predict: {exc}", file=sys.stderr)
        return 2
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if str(args.output) == "-":
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    print(f"scored {len(rows) - failed} of {len(rows)} with {predictor.model_name} v{predictor.model_version}",
          file=sys.stderr)
    return 1 if args.strict and failed else 0
