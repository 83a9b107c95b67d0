"""The parse store: every file's parse outcome and dataset rows, by the sha256 of its bytes, kept
in `DIR/store/` so a re-run parses only files it has not seen.

- `outcomes-<run>.parquet`: sha256, ok, reason, case_number, decision_date, items, overturned,
  warnings; one row per distinct file content parsed in that run.
- `rows-<run>-<k>.parquet`: the parsed letters' dataset rows (no placement columns), with sha256.

- `paths.parquet`: path, size, mtime_ns, inode and sha256 of every file read, so a re-run does not
  read (and hash) a file that has not changed.

A run's files are only ever added, never rewritten (but paths.parquet): a new output folder
hard-links the previous run's files (a copy where links are not possible) and adds its own.
Outcomes of files that ran out of time are not stored (they depend on how busy the machine was),
so those files are tried again; a worker that died (a bomb, a crash) gives the same outcome again.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OUTCOME_SCHEMA = pa.schema(
    [
        ("sha256", pa.string()),
        ("ok", pa.bool_()),
        ("reason", pa.string()),
        ("case_number", pa.string()),
        ("decision_date", pa.string()),
        ("items", pa.int32()),
        ("overturned", pa.int32()),
        ("warnings", pa.list_(pa.string())),
    ]
)
FIELDS = tuple(OUTCOME_SCHEMA.names[1:])  # an outcome's values, in this order, after its sha256
ROWS_PER_FILE = 200_000
BUFFER_ROWS = 2_000  # rows held before they are written out as one row group
PATHS = "paths.parquet"


def run_stamp() -> str:
    """Sorts in run order, so the dataset keeps the order letters were first ingested in."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class ParseStore:
    def __init__(self, folder: Path, row_schema: pa.Schema, previous: Path | None = None):
        self.folder, self.row_schema = folder, row_schema
        folder.mkdir(parents=True, exist_ok=True)
        self.known_paths = PathIndex()
        if previous is not None and previous.is_dir():
            for src in sorted(previous.glob("*-*.parquet")):
                _link_or_copy(src, folder / src.name)
            self.known_paths = PathIndex.load(previous / PATHS)
        # sha256 -> a tuple of FIELDS: a dict per file would cost ~0.7 KB, a tuple ~0.1 KB
        self.outcomes: dict[str, tuple] = {}
        for path in sorted(folder.glob("outcomes-*.parquet")):
            columns = pq.ParquetFile(path).read().to_pydict()
            for sha, *values in zip(columns["sha256"], *(columns[k] for k in FIELDS), strict=True):
                self.outcomes[sha] = _compact(values)
        self.stamp = run_stamp()
        self._new_outcomes: list[tuple] = []
        self._outcome_writer: pq.ParquetWriter | None = None
        self._rows: list[dict] = []
        self._writer: pq.ParquetWriter | None = None
        self._files = 0
        self._in_file = 0

    def add(self, sha: str, outcome: dict) -> None:
        """Record a new outcome (a worker's, features.work.parse_bytes with rows=True)."""
        if outcome.get("timed_out"):
            return
        record = _compact([outcome.get(k) for k in FIELDS])
        self.outcomes[sha] = record
        self._new_outcomes.append((sha, *record))
        if len(self._new_outcomes) >= BUFFER_ROWS:
            self._flush_outcomes()
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
        self._flush_outcomes()
        if self._outcome_writer is not None:
            self._outcome_writer.close()

    def get(self, sha: str) -> dict | None:
        """The outcome of a content as a dict (features.work.parse_bytes's keys), or None."""
        values = self.outcomes.get(sha)
        return None if values is None else dict(zip(FIELDS, values, strict=True))

    def _flush_outcomes(self) -> None:
        if not self._new_outcomes:
            return
        if self._outcome_writer is None:
            path = self.folder / f"outcomes-{self.stamp}.parquet"
            self._outcome_writer = pq.ParquetWriter(path, OUTCOME_SCHEMA)
        columns = list(zip(*self._new_outcomes, strict=True))
        self._outcome_writer.write_table(
            pa.table(
                {
                    name: pa.array(col, OUTCOME_SCHEMA.field(name).type)
                    for name, col in zip(OUTCOME_SCHEMA.names, columns, strict=True)
                },
                schema=OUTCOME_SCHEMA,
            )
        )
        self._new_outcomes = []

    def save_paths(self) -> None:
        self.known_paths.save(self.folder / PATHS)
        self.known_paths = PathIndex()

    def row_files(self) -> list[Path]:
        return sorted(self.folder.glob("rows-*.parquet"))


def _compact(values: list) -> tuple:
    """An outcome as a tuple of FIELDS, warnings as a tuple (the empty one is shared)."""
    values = list(values)
    values[-1] = tuple(values[-1] or ())
    return tuple(values)


class PathIndex:
    """path -> (size, mtime_ns, inode, sha256) of the files read by the last run and this one."""

    def __init__(self, old: dict[str, tuple] | None = None):
        self.old = old or {}
        self.new: dict[str, tuple] = {}

    @classmethod
    def load(cls, path: Path) -> PathIndex:
        if not path.exists():
            return cls()
        t = pq.ParquetFile(path).read().to_pydict()
        return cls(
            {
                p: (s, m, i, h)
                for p, s, m, i, h in zip(t["path"], t["size"], t["mtime_ns"], t["inode"], t["sha256"], strict=True)
            }
        )

    def unchanged(self, path: Path) -> str | None:
        """The file's sha256 when it is as the last run saw it, else None."""
        before = self.old.get(str(path))
        if before is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if (st.st_size, st.st_mtime_ns, st.st_ino) != before[:3]:
            return None
        self.new[str(path)] = before
        return before[3]

    def record(self, path: Path, sha: str) -> None:
        try:
            st = path.stat()
        except OSError:
            return
        self.new[str(path)] = (st.st_size, st.st_mtime_ns, st.st_ino, sha)

    def save(self, path: Path) -> None:
        rows = sorted(self.new.items())
        pq.write_table(
            pa.table(
                {
                    "path": pa.array([p for p, _ in rows], pa.string()),
                    "size": pa.array([v[0] for _, v in rows], pa.int64()),
                    "mtime_ns": pa.array([v[1] for _, v in rows], pa.int64()),
                    "inode": pa.array([v[2] for _, v in rows], pa.uint64()),
                    "sha256": pa.array([v[3] for _, v in rows], pa.string()),
                }
            ),
            path,
        )


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(src, dst)
