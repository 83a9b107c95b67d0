"""The training data: letters ingested into by-letter splits, and model-input frames of a view."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from features.errors import InputError
from features.views import View, model_inputs
from training.config import DataConfig

# Files of the ingest report a run keeps and logs (the rejected and duplicate ones first): the totals
# count every file, and a million-line list would be neither read nor logged.
REPORT_FILES_KEPT = 1_000


def load_splits(cfg: DataConfig):
    """(DatasetDict with train/validation/test, ingest report): from an `imr ingest` output
    (`data.dataset`, memory-mapped, nothing re-parsed) or by ingesting `data.sources`. The report
    is bounded (read_report, bounded_report): its totals, and its files up to REPORT_FILES_KEPT."""
    if cfg.dataset:
        dsd, report = _load_ingested(cfg)
    else:
        from features.ingest import ingest

        dsd, report = ingest(cfg.source_paths(), seed=cfg.split_seed, fractions=tuple(cfg.split_fractions))
        report = bounded_report(report)
    return dsd, report


def corpus_letters(dsd) -> int:
    """Letters in the corpus (every split)."""
    return len({lid for split in dsd for lid in dsd[split]["letter_id"]})


def require_every_split(dsd, cfg: DataConfig) -> None:
    """Split mode selects on validation and tests on test: an empty split is a one-line
    InputError, raised before any run starts. (Cross-validation pools the splits.)"""
    empty = [split for split in ("train", "validation", "test") if split not in dsd or dsd[split].num_rows == 0]
    if empty:
        where = f"data.dataset {cfg.dataset}" if cfg.dataset else "data.sources"
        letters = len({k for split in dsd for k in dsd[split]["letter_id"]})
        raise InputError(
            f"{where}: the {', '.join(empty)} split(s) have no letters ({letters} letters in all); "
            f"every split needs letters: add letters, change data.split_fractions "
            f"or use evaluation.mode: cv"
        )


def _load_ingested(cfg: DataConfig):
    import datasets

    folder = cfg.dataset_path()
    if not (folder / "dataset" / "dataset_dict.json").exists() or not (folder / "report.json").exists():
        raise InputError(
            f"data.dataset {folder}: not an imr ingest output (no dataset/ and report.json); "
            f"run: imr ingest LETTERS... --out {folder}"
        )
    return datasets.load_from_disk(str(folder / "dataset")), read_report(folder / "report.json")


def read_report(path: Path, keep: int | None = None) -> dict:
    """An ingest report (features.ingest.write_report: one line per file, then the totals) read a line
    at a time: the totals and splits, `data_digest` (training.reporting.provenance) over every parsed
    letter's sha256, and every file while there are at most `keep`, else the first `keep` that were
    not parsed, with `files_not_listed` counting the rest. A million-file report never sits in memory."""
    keep = REPORT_FILES_KEPT if keep is None else keep
    with path.open() as f:
        if f.readline().strip() != '{"files": [':
            f.seek(0)
            return bounded_report(json.load(f), keep)
        head, problems, digests, total = [], [], bytearray(), 0
        for line in f:
            text = line.strip().rstrip(",")
            if text == "]":
                break
            entry = json.loads(text)
            total += 1
            if entry.get("status") == "parsed":
                digests += bytes.fromhex(entry["sha256"])
            elif len(problems) < keep:
                problems.append(entry)
            if len(head) < keep:
                head.append(entry)
        tail = f.read().strip()
    totals = json.loads("{" + tail.removeprefix(",")) if tail.removeprefix(",").strip() != "}" else {}
    files = head if total <= keep else problems
    listed = {"files_not_listed": total - len(files)} if total > keep else {}
    return {"files": files, **totals, **listed, "data_digest": letters_digest(digests)}


def bounded_report(report: dict, keep: int | None = None) -> dict:
    """The report as a run logs it: every total, and the files only while there are at most `keep`
    (else the first `keep` not parsed, and `files_not_listed`); `data_digest` computed first."""
    keep = REPORT_FILES_KEPT if keep is None else keep
    files = report.get("files", [])
    if len(files) <= keep and "files_not_listed" not in report:
        return report
    digest = report.get("data_digest") or report_digest(report)
    listed = [f for f in files if f.get("status") != "parsed"][:keep]
    return {**report, "files": listed, "files_not_listed": len(files) - len(listed), "data_digest": digest}


def inputs_frame(rows, view: View) -> pd.DataFrame:
    """One row of model inputs per item (see features.views.model_inputs)."""
    return pd.DataFrame([model_inputs(r, view) for r in rows])


def report_digest(report: dict) -> str:
    """letters_digest of the parsed files a report lists (all of them: a report from features.ingest)."""
    parsed = bytearray()
    for f in report.get("files", []):
        if f.get("status") == "parsed":
            parsed += bytes.fromhex(f["sha256"])
    return letters_digest(parsed)


def letters_digest(sha256s: bytes | bytearray) -> str:
    """12 hex digits over the sha256 (32 bytes each, concatenated) of every letter that was ingested,
    order-free: their hex forms sorted, one a line. The same letters give the same digest wherever
    they lie, and one changed byte changes it."""
    rows = np.frombuffer(bytes(sha256s), dtype=">u8").reshape(-1, 4)
    order = np.lexsort(rows.T[::-1])  # lexicographic over the 32 bytes: the hex strings' order
    h = hashlib.sha256()
    for k, i in enumerate(order):
        h.update((b"\n" if k else b"") + rows[i].tobytes().hex().encode())
    return h.hexdigest()[:12]
