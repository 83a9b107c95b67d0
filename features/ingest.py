"""Files and folders of letters to parsed letters, with every input accounted for."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from features.extract import MAX_LETTER_BYTES, ExtractionError, letter_text_from_bytes
from features.letter import Letter
from features.parser import LetterRejected, parse_letter

LETTER_SUFFIXES = (".pdf", ".txt")


@dataclass
class FileResult:
    path: str
    status: str  # parsed | rejected | duplicate
    reason: str | None = None
    items: int = 0
    sha256: str | None = None
    letter: Letter | None = field(default=None, repr=False)
    letter_id: str | None = None


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Named files as given; folders recursively, their .pdf/.txt files in sorted order.
    Other files inside a folder are not letters and are skipped silently (a folder's README)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in LETTER_SUFFIXES)
        else:
            yield path


def parse_file(path: Path, max_bytes: int = MAX_LETTER_BYTES) -> tuple[Letter | None, str | None, str | None]:
    """(letter, sha256 of the bytes, None) or (None, sha256 or None, reason)."""
    if not path.exists():
        return None, None, "no such file"
    if not path.is_file():
        return None, None, "not a regular file"
    size = path.stat().st_size
    if size > max_bytes:
        return None, None, f"file is {size / 1e6:.1f} MB, larger than any letter (limit {max_bytes / 1e6:.1f} MB)"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, None, f"cannot read file: {exc.strerror}"
    sha = hashlib.sha256(data).hexdigest()
    try:
        return parse_letter(letter_text_from_bytes(data)), sha, None
    except (ExtractionError, LetterRejected) as exc:
        return None, sha, str(exc)


def ingest_files(paths: Iterable[str | Path], max_bytes: int = MAX_LETTER_BYTES) -> list[FileResult]:
    """Parse each file once; a repeat of an earlier file's bytes or case number is a duplicate."""
    results: list[FileResult] = []
    seen_hash: dict[str, str] = {}
    seen_case: dict[str, str] = {}
    for path in expand_paths(paths):
        source = str(path)
        letter, sha, reason = parse_file(path, max_bytes)
        if sha and sha in seen_hash:
            results.append(FileResult(source, "duplicate", f"same content as {seen_hash[sha]}", sha256=sha))
            continue
        if sha:
            seen_hash[sha] = source
        if letter is None:
            results.append(FileResult(source, "rejected", reason, sha256=sha))
            continue
        if letter.case_number and letter.case_number in seen_case:
            results.append(FileResult(
                source, "duplicate", f"same case number {letter.case_number} as {seen_case[letter.case_number]}", sha256=sha
            ))
            continue
        if letter.case_number:
            seen_case[letter.case_number] = source
        letter_id = letter.case_number or f"sha256:{sha[:16]}"
        results.append(FileResult(source, "parsed", None, len(letter.items), sha, letter, letter_id))
    return results


def report(results: list[FileResult], split_counts: dict[str, dict[str, int]] | None = None) -> dict[str, Any]:
    files = [{k: v for k, v in asdict(r).items() if k not in ("letter",)} for r in results]
    for f, r in zip(files, results):
        f.pop("letter_id")
        f["overturned"] = sum(i.decision == "Overturned" for i in r.letter.items) if r.letter else 0
    totals = {
        "total_files": len(results),
        "parsed": sum(r.status == "parsed" for r in results),
        "rejected": sum(r.status == "rejected" for r in results),
        "duplicate": sum(r.status == "duplicate" for r in results),
        "items": sum(r.items for r in results),
        "overturned": sum(f["overturned"] for f in files),
    }
    out: dict[str, Any] = {"files": files, **totals}
    if split_counts is not None:
        out["splits"] = split_counts
    return out


def write_report(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def ingest(paths: Iterable[str | Path], seed: int = 0, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
           max_bytes: int = MAX_LETTER_BYTES):
    """Parse letters and split their items by letter: (DatasetDict, report dict)."""
    from features.dataset import SPLITS, build_dataset_dict, item_rows

    results = ingest_files(paths, max_bytes)
    rows = [row for r in results if r.letter for row in item_rows(r.letter, r.letter_id, r.path)]
    if not rows:
        raise ValueError("no letters parsed: " + "; ".join(f"{r.path}: {r.reason}" for r in results[:5]))
    dsd = build_dataset_dict(rows, seed, fractions)
    split_counts = {
        split: {
            "letters": len(set(dsd[split]["letter_id"])),
            "items": dsd[split].num_rows,
            "overturned": int(sum(dsd[split]["label"])),
        }
        for split in SPLITS
    }
    return dsd, report(results, split_counts)


def save_ingest(dsd, data: dict[str, Any], out: Path) -> None:
    """`out/dataset` (save_to_disk), `out/parquet/<split>.parquet` and `out/report.json`."""
    import datasets

    datasets.disable_progress_bars()
    out.mkdir(parents=True, exist_ok=True)
    dsd.save_to_disk(str(out / "dataset"))
    (out / "parquet").mkdir(exist_ok=True)
    for split, ds in dsd.items():
        ds.to_parquet(str(out / "parquet" / f"{split}.parquet"))
    write_report(out / "report.json", data)
