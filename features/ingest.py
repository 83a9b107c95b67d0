"""Files and folders of letters to parsed letters, with every input accounted for (in memory:
for training straight from `data.sources` and for tests; `features.corpus` streams to disk)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.dedup import mark_duplicates
from features.errors import InputError
from features.extract import MAX_LETTER_BYTES, too_large
from features.letter import Letter
from features.sources import LETTER_SUFFIXES, Entry, walk

__all__ = ["LETTER_SUFFIXES", "FileResult", "expand_paths", "parse_file", "ingest_files", "ingest", "report"]


@dataclass(slots=True)  # slots: one per file of a million-file corpus
class FileResult:
    path: str
    status: str  # parsed | rejected | duplicate
    reason: str | None = None
    items: int = 0
    sha256: str | None = None
    letter: Letter | None = field(default=None, repr=False)
    letter_id: str | None = None
    overturned: int = 0
    case_number: str | None = None
    decision_date: str | None = None
    warnings: list[str] = field(default_factory=list)


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every path `walk` finds, readable or not (callers report the unreadable ones)."""
    for entry in walk(paths):
        yield entry.path


def read_entry(entry: Entry, max_bytes: int = MAX_LETTER_BYTES) -> tuple[bytes | None, str | None, str | None]:
    """(bytes, sha256, None) or (None, None, reason); the size is checked before reading."""
    if entry.reason:
        return None, None, entry.reason
    path = entry.path
    try:
        if not path.is_file():
            return None, None, "not a regular file"
        size = path.stat().st_size
        if size > max_bytes:
            return None, None, too_large(size, max_bytes)
        data = path.read_bytes()
    except OSError as exc:
        return None, None, f"cannot read file: {exc.strerror}"
    return data, hashlib.sha256(data).hexdigest(), None


def parse_file(path: Path, max_bytes: int = MAX_LETTER_BYTES) -> tuple[Letter | None, str | None, str | None]:
    """(letter, sha256 of the bytes, None) or (None, sha256 or None, reason); contained (see
    features.contain), so a hostile file costs a worker, never the caller."""
    from features.contain import parse_contained

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return None, None, "no such file"
    [entry] = list(walk([path])) if not path.is_dir() else [Entry(path, "not a regular file")]
    data, sha, reason = read_entry(entry, max_bytes)
    if data is None:
        return None, sha, reason
    letter, reason = parse_contained(data)
    return letter, sha, reason


def result_from(path: str, sha: str | None, outcome: dict) -> FileResult:
    """A FileResult from a worker's outcome (features.work.parse_bytes)."""
    if not outcome["ok"]:
        return FileResult(path, "rejected", outcome["reason"], sha256=sha)
    letter = Letter.model_validate(outcome["letter"]) if "letter" in outcome else None
    case = outcome["case_number"]
    return FileResult(
        path,
        "parsed",
        None,
        outcome["items"],
        sha,
        letter,
        case or f"sha256:{sha[:16]}",
        outcome["overturned"],
        case,
        outcome["decision_date"],
        list(outcome["warnings"]),
    )


def ingest_files(
    paths: Iterable[str | Path], max_bytes: int = MAX_LETTER_BYTES, workers: int | None = None
) -> list[FileResult]:
    """Parse each distinct file once, in contained worker processes; a repeat of another file's
    bytes or case number is a duplicate (see features.dedup for which copy is kept)."""
    from features.contain import ContainedPool, default_workers

    results: list[FileResult] = []
    jobs: list[tuple[tuple[str, str | None, str | None], tuple | None]] = []
    first_of_sha: set[str] = set()
    for entry in walk(paths):
        if entry.reason:
            results.append(FileResult(str(entry.path), entry.status, entry.reason))
            continue
        data, sha, reason = read_entry(entry, max_bytes)
        run = data is not None and sha not in first_of_sha
        if sha:
            first_of_sha.add(sha)
        jobs.append(((str(entry.path), sha, reason), (data,) if run else None))
    if jobs:
        by_sha: dict[str, dict] = {}
        pending: list[tuple[str, str | None, str | None]] = []
        with ContainedPool(workers=min(workers or default_workers(), len(jobs))) as pool:
            for (path, sha, reason), outcome in pool.imap(jobs):
                if outcome is not None:
                    by_sha[sha] = outcome
                pending.append((path, sha, reason))
        for path, sha, reason in pending:
            outcome = by_sha[sha] if sha else {"ok": False, "reason": reason}
            results.append(result_from(path, sha, outcome))
    results.sort(key=lambda r: r.path)  # the report's order, whatever order the paths were given in
    mark_duplicates(results)
    return results


class FileRows:
    """The report's "files": one dict per result, made afresh on each pass (never all at once)."""

    def __init__(self, results: Sequence[FileResult]):
        self.results = results

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for r in self.results:
            yield {
                "path": r.path,
                "status": r.status,
                "reason": r.reason,
                "items": r.items,
                "sha256": r.sha256,
                "overturned": r.overturned,
                "warnings": r.warnings,
            }

    def __len__(self) -> int:
        return len(self.results)


def report(
    results: Sequence[FileResult], split_counts: dict[str, dict[str, int]] | None = None, lazy: bool = False
) -> dict[str, Any]:
    """The report; with lazy=True its "files" is a FileRows (for write_report), else a list."""
    files = FileRows(results) if lazy else list(FileRows(results))
    totals = {
        "total_files": len(results),
        "parsed": sum(r.status == "parsed" for r in results),
        "rejected": sum(r.status == "rejected" for r in results),
        "duplicate": sum(r.status == "duplicate" for r in results),
        "items": sum(r.items for r in results),
        "overturned": sum(r.overturned for r in results),
        "warnings": sum(len(r.warnings) for r in results),
    }
    out: dict[str, Any] = {"files": files, **totals}
    if split_counts is not None:
        out["splits"] = split_counts
    return out


def nothing_to_ingest(paths: Sequence[str | Path], results: Sequence[FileResult]) -> InputError:
    """One line naming the path(s) and what was found there."""
    named = ", ".join(str(p) for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    if not results:
        return InputError(f"nothing to ingest: {named}: no .pdf or .txt files found (empty folder?)")
    counts = {s: sum(r.status == s for r in results) for s in ("rejected", "duplicate")}
    first = next(r for r in results if r.status != "parsed")
    return InputError(
        f"nothing to ingest: {named}: no letter parsed from {len(results)} file(s) "
        f"({counts['rejected']} rejected, {counts['duplicate']} duplicate); "
        f"first: {first.path}: {first.reason}"
    )


def split_counts_of(letters: Iterable[tuple[str, int, int]]) -> dict[str, dict[str, int]]:
    """{split: {letters, items, overturned}} from (split, items, overturned) per kept letter."""
    from features.dataset import SPLITS

    counts = {split: {"letters": 0, "items": 0, "overturned": 0} for split in SPLITS}
    for split, items, overturned in letters:
        c = counts[split]
        c["letters"], c["items"], c["overturned"] = c["letters"] + 1, c["items"] + items, c["overturned"] + overturned
    return counts


def ingest(
    paths: Iterable[str | Path],
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    max_bytes: int = MAX_LETTER_BYTES,
    workers: int | None = None,
):
    """Parse letters and split their items by letter: (DatasetDict, report dict). Raises
    InputError when no letter parses."""
    from features.dataset import build_dataset_dict, holdout_splits, item_rows

    paths = list(paths)
    results = ingest_files(paths, max_bytes, workers)
    kept = [r for r in results if r.status == "parsed" and r.letter]
    if not kept:
        raise nothing_to_ingest(paths, results)
    rows = [row for r in kept for row in item_rows(r.letter, r.letter_id, r.path)]
    dsd = build_dataset_dict(rows, seed, fractions)
    assignment = holdout_splits({r.letter_id: r.overturned > 0 for r in kept}, seed, fractions)
    counts = split_counts_of((assignment[r.letter_id], r.items, r.overturned) for r in kept)
    return dsd, report(results, counts)


def write_report(path: Path, data: dict[str, Any]) -> None:
    """One line per file (greppable, and fast: the C encoder per line), streamed to disk so a
    million-file report is never one string; totals and splits indented after the files."""
    with path.open("w") as f:
        f.write('{"files": [')
        for k, entry in enumerate(data["files"]):
            f.write(("\n  " if k == 0 else ",\n  ") + json.dumps(entry))
        f.write("\n]")
        for key, value in data.items():
            if key != "files":
                f.write(f",\n{json.dumps(key)}: " + json.dumps(value, indent=1))
        f.write("\n}\n")
