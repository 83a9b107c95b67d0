"""The parse store: every file's parse outcome and dataset rows, by the sha256 of its bytes, kept
in `DIR/store/` so a re-run parses only files it has not seen.

- `outcomes-<run>.parquet`: sha256, ok, reason, case_number, decision_date, items, overturned,
  warnings; one row per distinct file content parsed in that run.
- `rows-<run>-<k>.parquet`: the parsed letters' dataset rows (no placement columns), with sha256.

A run's files are only ever added, never rewritten: a new output folder hard-links the previous
run's files (a copy where links are not possible) and adds its own. Outcomes of a worker that hung
or died are not stored (they depend on the machine's limits), so those files are tried again.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OUTCOME_SCHEMA = pa.schema([
    ("sha256", pa.string()), ("ok", pa.bool_()), ("reason", pa.string()), ("case_number", pa.string()),
    ("decision_date", pa.string()), ("items", pa.int32()), ("overturned", pa.int32()),
    ("warnings", pa.list_(pa.string())),
])
ROWS_PER_FILE = 200_000
BUFFER_ROWS = 2_000  # rows held before they are written out as one row group


def run_stamp() -> str:
    """Sorts in run order, so the dataset keeps the order letters were first ingested in."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class ParseStore:
    def __init__(self, folder: Path, row_schema: pa.Schema, previous: Path | None = None):
        self.folder, self.row_schema = folder, row_schema
        folder.mkdir(parents=True, exist_ok=True)
        if previous is not None and previous.is_dir():
            for src in sorted(previous.glob("*.parquet")):
                _link_or_copy(src, folder / src.name)
        self.outcomes: dict[str, dict] = {}
        for path in sorted(folder.glob("outcomes-*.parquet")):
            for row in pq.read_table(path).to_pylist():
                self.outcomes[row.pop("sha256")] = row
        self.stamp = run_stamp()
        self._new_outcomes: list[dict] = []
        self._rows: list[dict] = []
        self._writer: pq.ParquetWriter | None = None
        self._files = 0
        self._in_file = 0

    def add(self, sha: str, outcome: dict) -> None:
        """Record a new outcome (a worker's, features.work.parse_bytes with rows=True)."""
        if outcome.get("contained"):
            return
        record = {k: outcome.get(k) for k in OUTCOME_SCHEMA.names if k != "sha256"}
        record["warnings"] = record["warnings"] or []
        self.outcomes[sha] = record
        self._new_outcomes.append({"sha256": sha, **record})
        for row in outcome.get("rows", ()):
            self._rows.append({**row, "sha256": sha})
        if len(self._rows) >= BUFFER_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        if self._writer is None or self._in_file >= ROWS_PER_FILE:
            if self._writer is not None:
                self._writer.close()
            path = self.folder / f"rows-{self.stamp}-{self._files:05d}.parquet"
            self._writer = pq.ParquetWriter(path, self.row_schema)
            self._files += 1
            self._in_file = 0
        self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.row_schema))
        self._in_file += len(self._rows)
        self._rows = []

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
        if self._new_outcomes:
            table = pa.Table.from_pylist(self._new_outcomes, schema=OUTCOME_SCHEMA)
            pq.write_table(table, self.folder / f"outcomes-{self.stamp}.parquet")

    def row_files(self) -> list[Path]:
        return sorted(self.folder.glob("rows-*.parquet"))


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(src, dst)
