"""The parse store: every file's parse outcome and dataset rows, by the sha256 of its bytes, kept
in `DIR/store/` so a re-run parses only files it has not seen.

- `outcomes-<run>.parquet`: sha256, ok, reason, case_number, decision_date, items, overturned,
  warnings; one row per distinct file content parsed in that run.
- `rows-<run>-<k>.parquet`: the parsed letters' dataset rows (no placement columns), with sha256.

- `paths.parquet`: path, size, mtime_ns, ctime_ns, inode and sha256 of every file read, so a
  re-run does not read (and hash) a file that has not changed.

A run's files are only ever added, never rewritten (but paths.parquet): a new output folder
hard-links the previous run's files (a copy where links are not possible) and adds its own.
Outcomes of files that ran out of time are not stored (they depend on how busy the machine was),
so those files are tried again; a worker that died (a bomb, a crash) gives the same outcome again.

A damaged store file (truncated, a flipped byte: pages carry CRC checksums) costs only its run: a
run's outcomes and rows are kept or dropped together, so the letters of a dropped run are parsed
again, and a damaged paths.parquet only means every file is read and hashed again. Footers and
outcomes are checked when the store is opened; a rows page is checked when it is read back
(DamagedStoreFile), which the ingest answers by starting again without that run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from features.errors import InputError

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
READ_ERRORS = (OSError, pa.ArrowException)  # what pyarrow raises for a truncated or corrupt file


class DamagedStoreFile(InputError):
    """A store file that cannot be read back; `run` is the run it belongs to."""

    def __init__(self, path: Path, why: str):
        self.path, self.run = path, run_of(path.name)
        super().__init__(f"store file {path} is damaged ({why}): the letters parsed in that run are parsed again")


def run_stamp() -> str:
    """Sorts in run order, so the dataset keeps the order letters were first ingested in."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def run_of(name: str) -> str:
    """The run stamp in `outcomes-<run>.parquet` or `rows-<run>-<k>.parquet`."""
    return name.removesuffix(".parquet").split("-")[1]


def _why(exc: BaseException) -> str:
    """pyarrow's first sentence (it names no letter content), short."""
    return str(exc).strip().split(". ")[0].splitlines()[0][:120] or type(exc).__name__


class ParseStore:
    def __init__(
        self, folder: Path, row_schema: pa.Schema, previous: Path | None = None, skip_runs: frozenset[str] = frozenset()
    ):
        """A store in `folder` holding the usable runs of `previous` but `skip_runs`; each store
        file found damaged is a line in `damaged`."""
        self.folder, self.row_schema = folder, row_schema
        folder.mkdir(parents=True, exist_ok=True)
        self.known_paths = PathIndex()
        self.damaged: list[str] = []
        # sha256 -> a tuple of FIELDS: a dict per file would cost ~0.7 KB, a tuple ~0.1 KB
        self.outcomes: dict[str, tuple] = {}
        if previous is not None and previous.is_dir():
            for run, files in sorted(_runs(previous).items()):
                if run not in skip_runs:
                    self._take_run(files)
            self._load_paths(previous / PATHS)
        self.stamp = run_stamp()
        self._new_outcomes: list[tuple] = []
        self._outcome_writer: pq.ParquetWriter | None = None
        self._rows: list[dict] = []
        self._writer: pq.ParquetWriter | None = None
        self._files = 0
        self._in_file = 0

    def _take_run(self, files: list[Path]) -> None:
        """Link a previous run's files in and read its outcomes, or drop the whole run (and say
        why) when any of its files is damaged or written with other columns."""
        outcomes, rows = files[0], files[1:]
        try:
            if not outcomes.name.startswith("outcomes-"):
                raise DamagedStoreFile(rows[0], f"its outcomes file outcomes-{run_of(rows[0].name)}.parquet is missing")
            table = _read_checked(outcomes, OUTCOME_SCHEMA)
            for path in rows:
                _check_footer(path, self.row_schema)
        except DamagedStoreFile as exc:
            self.damaged.append(str(exc))
            return
        for src in files:
            _link_or_copy(src, self.folder / src.name)
        columns = table.to_pydict()
        for sha, *values in zip(columns["sha256"], *(columns[k] for k in FIELDS), strict=True):
            self.outcomes[sha] = _compact(values)

    def _load_paths(self, path: Path) -> None:
        try:
            self.known_paths = PathIndex.load(path)
        except (*READ_ERRORS, KeyError) as exc:  # KeyError: a readable file without the columns
            self.damaged.append(
                f"store file {path} is damaged ({_why(exc)}): every letter is read and hashed again "
                f"(none is parsed again)"
            )

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
            self._writer = pq.ParquetWriter(path, self.row_schema, write_page_checksum=True)
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
            self._outcome_writer = pq.ParquetWriter(path, OUTCOME_SCHEMA, write_page_checksum=True)
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


def row_batches(path: Path, batch_rows: int, named: Path) -> Iterator[pa.RecordBatch]:
    """A rows file's batches, each page's checksum verified; DamagedStoreFile (naming the file
    as `named`, where the user sees it) when one cannot be read."""
    try:
        # pre_buffer=False: do not read the whole file ahead (its text would sit in memory)
        reader = pq.ParquetFile(path, pre_buffer=False, page_checksum_verification=True)
        batches = reader.iter_batches(batch_size=batch_rows)
    except READ_ERRORS as exc:
        raise DamagedStoreFile(named, _why(exc)) from None
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except READ_ERRORS as exc:
            raise DamagedStoreFile(named, _why(exc)) from None
        yield batch


def _runs(folder: Path) -> dict[str, list[Path]]:
    """run -> its files, the outcomes file first (when there is one), then the rows files."""
    runs: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*-*.parquet"), key=lambda p: (not p.name.startswith("outcomes-"), p.name)):
        if path.name.startswith(("outcomes-", "rows-")):
            runs.setdefault(run_of(path.name), []).append(path)
    return runs


def _read_checked(path: Path, schema: pa.Schema) -> pa.Table:
    try:
        table = pq.ParquetFile(path, page_checksum_verification=True).read()
    except READ_ERRORS as exc:
        raise DamagedStoreFile(path, _why(exc)) from None
    if not table.schema.equals(schema):
        raise DamagedStoreFile(path, "its columns are not this version's")
    return table


def _check_footer(path: Path, schema: pa.Schema) -> None:
    """The footer (which truncation takes away) and the columns; the pages are checked as read."""
    try:
        found = pq.ParquetFile(path).schema_arrow
    except READ_ERRORS as exc:
        raise DamagedStoreFile(path, _why(exc)) from None
    if not found.equals(schema):
        raise DamagedStoreFile(path, "its columns are not this version's")


def _compact(values: list) -> tuple:
    """An outcome as a tuple of FIELDS, warnings as a tuple (the empty one is shared)."""
    values = list(values)
    values[-1] = tuple(values[-1] or ())
    return tuple(values)


class PathIndex:
    """path -> (size, mtime_ns, ctime_ns, inode, sha256) of the files read by the last run and
    this one. ctime is in the key because a file rewritten in place can keep its size and have its
    mtime set back (cp -p, rsync, os.utime), but the kernel sets ctime on every change."""

    def __init__(self, old: dict[str, tuple] | None = None):
        self.old = old or {}
        self.new: dict[str, tuple] = {}

    @classmethod
    def load(cls, path: Path) -> PathIndex:
        if not path.exists():
            return cls()
        t = pq.ParquetFile(path, page_checksum_verification=True).read().to_pydict()
        # a store written before ctime_ns was kept: no file matches, each is read (not parsed) again
        ctimes = t.get("ctime_ns") or [None] * len(t["path"])
        columns = (t["path"], t["size"], t["mtime_ns"], ctimes, t["inode"], t["sha256"])
        return cls({p: (s, m, c, i, h) for p, s, m, c, i, h in zip(*columns, strict=True)})

    def unchanged(self, path: Path) -> str | None:
        """The file's sha256 when it is as the last run saw it, else None."""
        before = self.old.get(str(path))
        if before is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if _key(st) != before[:4]:
            return None
        self.new[str(path)] = before
        return before[4]

    def record(self, path: Path, sha: str) -> None:
        try:
            st = path.stat()
        except OSError:
            return
        self.new[str(path)] = (*_key(st), sha)

    def save(self, path: Path) -> None:
        rows = sorted(self.new.items())
        pq.write_table(
            pa.table(
                {
                    "path": pa.array([p for p, _ in rows], pa.string()),
                    "size": pa.array([v[0] for _, v in rows], pa.int64()),
                    "mtime_ns": pa.array([v[1] for _, v in rows], pa.int64()),
                    "ctime_ns": pa.array([v[2] for _, v in rows], pa.int64()),
                    "inode": pa.array([v[3] for _, v in rows], pa.uint64()),
                    "sha256": pa.array([v[4] for _, v in rows], pa.string()),
                }
            ),
            path,
            write_page_checksum=True,
        )


def _key(st: os.stat_result) -> tuple[int, int, int, int]:
    """What must be as the last run saw it for a file not to be read again."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(src, dst)
