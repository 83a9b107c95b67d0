"""`imr ingest`: a corpus of letters to `DIR/` (dataset, Parquet shards, report), streaming, in
parallel, incrementally, and atomically, by one writer at a time.

Files are read and hashed here and parsed in contained workers (features.contain); results stream
into the parse store (features.store) and from there, batch by batch, into the split shards
(features.shards). Everything is written to a temporary sibling of DIR that replaces DIR only
when complete, so a failed run leaves the previous output as it was. DIR is held by one writer
(features.outlock), which first removes what a killed writer left beside it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from features.dedup import mark_duplicates
from features.errors import InputError
from features.extract import MAX_LETTER_BYTES
from features.ingest import (
    FileResult,
    nothing_to_ingest,
    read_entry,
    report,
    result_from,
    split_counts_of,
    write_report,
)
from features.sources import walk
from features.store import DamagedStoreFile, row_batches
from features.work import PLACEMENT_COLUMNS

BATCH_ROWS = 2_048  # rows read back from the store at a time (~12 MB of text): memory stays flat


@dataclass(frozen=True)
class IngestOptions:
    """How `ingest_to_dir` parses and splits (every run of a retry uses the same)."""

    seed: int = 0
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    workers: int | None = None
    rebuild: bool = False
    progress: bool = False
    max_bytes: int = MAX_LETTER_BYTES
    timeout_s: float | None = None
    memory_mib: int | None = None


def ingest_to_dir(
    paths: Sequence[str | Path],
    out: Path,
    *,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    workers: int | None = None,
    rebuild: bool = False,
    progress: bool = False,
    max_bytes: int = MAX_LETTER_BYTES,
    timeout_s: float | None = None,
    memory_mib: int | None = None,
    wait: bool = False,
    notify: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Ingest into `out` and return the report. Raises
    InputError when there is nothing to ingest, `out` is not an ingest output or another ingest
    is writing it (with wait=True, waits for that one instead); `out` is then untouched.

    `notify` gets one line for each thing worth telling the user on the way (a damaged store
    file, leftovers of a killed run removed, a wait)."""
    import pyarrow as pa

    from features.outlock import hold_output

    opts = IngestOptions(seed, fractions, workers, rebuild, progress, max_bytes, timeout_s, memory_mib)
    notify = notify or (lambda line: None)
    # pyarrow's default allocator (mimalloc) keeps freed batches mapped, so this process's RSS would
    # grow with the corpus; the system allocator returns them.
    pa.set_memory_pool(_returning_pool(pa))
    out = Path(out).resolve()  # a link is written through to its target, never replaced itself
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with hold_output(out, wait=wait, notify=notify):
        _clear_leftovers(out, notify)
        _check_out(out)  # again: it may have changed while another writer held it
        dropped: dict[str, str] = {}  # run -> why, for a rows page found damaged only as it was read back
        while True:
            try:
                return _ingest_once(paths, out, opts, dropped, notify)
            except DamagedStoreFile as exc:  # start again without that run: its letters are parsed again
                if exc.run in dropped:
                    raise
                notify(str(exc))
                dropped[exc.run] = str(exc)


def _ingest_once(
    paths: Sequence[str | Path], out: Path, opts: IngestOptions, dropped: dict[str, str], notify
) -> dict[str, Any]:
    """One attempt, in a temporary sibling of `out` that replaces it only when complete."""
    started = time.perf_counter()
    entries = deque(walk(paths))  # consumed as files are read, so it shrinks as `placed` grows
    if not entries:
        raise nothing_to_ingest(list(paths), [])
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    try:  # mkdir inside: a signal the moment it returns must still find the folder removed
        tmp.mkdir()
        schema, info = _schema()
        parsed = _parse_into_store(entries, tmp, out, opts, _row_schema(schema), frozenset(dropped), notify)
        results = _results_of(parsed)
        kept = [r for r in results if r.status == "parsed"]
        if not kept:
            raise nothing_to_ingest(list(paths), results)
        splits = _write_splits(tmp, parsed.store, kept, schema, info, opts.seed, opts.fractions, out / "store")
        data = report(results, split_counts_of((splits[r.letter_id], r.items, r.overturned) for r in kept), lazy=True)
        data["run"] = {
            "workers": parsed.workers,
            "rebuild": opts.rebuild,
            "reused_outcomes": parsed.reused,
            "parsed_now": parsed.parsed_now,
            "damaged_store": [*dropped.values(), *parsed.store.damaged],
            "seconds": round(time.perf_counter() - started, 2),
        }
        write_report(tmp / "report.json", data)
        _swap_in(tmp, out)
        return data
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class _Parsed:
    store: Any  # features.store.ParseStore, closed
    placed: deque[tuple[str, str | None, str | None, str]]  # (path, sha256, reason, status) per file
    timed_out: dict[str, dict]  # outcomes not kept in the store: tried again next run
    reused: int
    parsed_now: int
    workers: int


def _parse_into_store(entries, tmp: Path, out: Path, opts: IngestOptions, row_schema, skip_runs, notify) -> _Parsed:
    """Every file read, and parsed unless the previous store knows its content, into tmp/store."""
    from features.contain import MEMORY_MIB, TIMEOUT_S, ContainedPool
    from features.store import ParseStore

    timeout_s = TIMEOUT_S if opts.timeout_s is None else opts.timeout_s
    memory_mib = MEMORY_MIB if opts.memory_mib is None else opts.memory_mib
    # the pool first: its workers start up while this process carries on
    with (
        ContainedPool(opts.workers, timeout_s, memory_mib) as pool,
        _progress_bar(len(entries), opts.progress) as bar,
    ):
        previous = None if opts.rebuild else out / "store"
        store = ParseStore(tmp / "store", row_schema, previous=previous, skip_runs=skip_runs)
        for line in store.damaged:
            notify(line)
        parsed = _Parsed(store, deque(), {}, len(store.outcomes), 0, pool.workers)
        jobs = _jobs(entries, store.outcomes, store.known_paths, opts.max_bytes)
        for (path, sha, reason, status), outcome in pool.imap(jobs):
            if outcome is not None:
                parsed.parsed_now += 1
                if outcome.get("timed_out"):
                    parsed.timed_out[sha] = outcome
                store.add(sha, outcome)
            parsed.placed.append((path, sha, reason, status))
            bar.update()
    store.save_paths()
    store.close()
    return parsed


def _results_of(parsed: _Parsed) -> list[FileResult]:
    """Each file's result, sorted by path, duplicates marked."""
    results = []
    placed, store = parsed.placed, parsed.store
    while placed:  # popped as they are turned into results: the two never both hold every file
        path, sha, reason, status = placed.popleft()
        outcome = (store.get(sha) or parsed.timed_out[sha]) if sha else None
        results.append(result_from(path, sha, outcome) if outcome else FileResult(path, status, reason))
    store.outcomes.clear()
    results.sort(key=lambda r: r.path)
    mark_duplicates(results)
    return results


def _jobs(entries, known: dict[str, dict], known_paths, max_bytes: int) -> Iterator[tuple[tuple, tuple | None]]:
    """((path, sha, reason, status), worker args or None): a file whose content was already parsed
    (in an earlier run, or earlier in this one) is not parsed again, and a file whose size,
    modification and change times and inode are those of the last run is not even read."""
    submitted: set[str] = set()
    while entries:
        entry = entries.popleft()
        if entry.reason:
            yield (str(entry.path), None, entry.reason, entry.status), None
            continue
        sha = known_paths.unchanged(entry.path)
        if sha is not None and sha in known:
            yield (str(entry.path), sha, None, "rejected"), None
            continue
        data, sha, reason = read_entry(entry, max_bytes)
        if sha is not None:
            known_paths.record(entry.path, sha)
        new = data is not None and sha not in known and sha not in submitted
        if new:
            submitted.add(sha)
        yield (str(entry.path), sha, reason, "rejected"), ((data, True) if new else None)


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "report.json").exists():
        raise InputError(
            f"--out {out}: a non-empty folder that is not an imr ingest output (no report.json); "
            f"refusing to replace it: choose another --out"
        )


def _clear_leftovers(out: Path, notify: Callable[[str], None]) -> None:
    """Remove the temporary and old siblings of `out` a killed writer left (SIGKILL, a power cut):
    under the lock on `out`, no living writer owns any. Where `out` itself is missing because a
    writer died between the two renames of _swap_in, its old copy is put back first."""
    mine = re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-\d+")
    left = {p: m.group(1) for p in out.parent.iterdir() if (m := mine.fullmatch(p.name))}
    olds = sorted((p for p, kind in left.items() if kind == "old"), key=lambda p: p.stat().st_mtime_ns)
    if olds and not out.exists() and (olds[-1] / "report.json").exists():
        old = olds[-1]
        old.rename(out)
        del left[old]
        notify(f"restored {out} from {old}, left by an ingest that was killed while replacing it")
    for path in left:
        shutil.rmtree(path, ignore_errors=True)
        notify(f"removed {path}, left by an ingest that was killed")


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace `out` by `tmp` with two renames; the old output is deleted only afterwards."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


def _schema():
    from features.dataset import arrow_schema, features_dict

    info = {"citation": "", "description": "", "features": features_dict(), "homepage": "", "license": ""}
    return arrow_schema(), info


def _row_schema(schema):
    import pyarrow as pa

    fields = [f for f in schema if f.name not in PLACEMENT_COLUMNS]
    return pa.schema([*fields, pa.field("sha256", pa.string())])


def _write_splits(
    tmp: Path,
    store,
    kept: list[FileResult],
    schema,
    info,
    seed: int,
    fractions: tuple[float, float, float],
    named: Path,
) -> dict[str, str]:
    """Stream the kept letters' rows from the store into the per-split Parquet and Arrow shards;
    returns {letter_id: split}. A store file that cannot be read is DamagedStoreFile, named as
    in the folder `named` (the previous output's store, where the user sees it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from features.dataset import SPLITS, split_of
    from features.shards import ArrowSplit, ParquetShards, write_dataset_dict_json

    splits = {r.letter_id: split_of(r.letter_id, r.overturned > 0, seed, fractions) for r in kept}
    # The kept letters as columns, looked up per batch in C++ (pyarrow.compute), not per row in Python.
    kept_sha = pa.array([r.sha256 for r in kept], pa.string())
    kept_id = pa.array([r.letter_id for r in kept], pa.string())
    kept_path = pa.array([r.path for r in kept], pa.string())
    kept_split = pa.array([SPLITS.index(splits[r.letter_id]) for r in kept], pa.int8())
    parquet = {s: ParquetShards(tmp / "parquet" / f"{s}.parquet", schema) for s in SPLITS}
    arrow = {s: ArrowSplit(tmp / "dataset" / s, schema, info) for s in SPLITS}
    for path in store.row_files():
        origin = named / path.name if (named / path.name).exists() else path
        for batch in row_batches(path, BATCH_ROWS, origin):
            where = pc.index_in(batch.column("sha256"), value_set=kept_sha)
            split_code = pc.take(kept_split, where)
            for code, split in enumerate(SPLITS):
                mask = pc.fill_null(pc.equal(split_code, code), False)
                if not pc.any(mask).as_py():
                    continue
                at = pc.filter(where, mask)
                columns = {"letter_id": pc.take(kept_id, at), "source": pc.take(kept_path, at)}
                part = batch.filter(mask)
                table = pa.Table.from_arrays(
                    [columns[f.name] if f.name in columns else part.column(f.name) for f in schema], schema=schema
                )
                parquet[split].write(table)
                arrow[split].write(table)
    for split in SPLITS:
        parquet[split].close()
        arrow[split].close()
    write_dataset_dict_json(tmp / "dataset", list(SPLITS))
    return splits


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="letter", file=sys.stderr, smoothing=0.05, mininterval=0.5, dynamic_ncols=True)


def _returning_pool(pa):
    """jemalloc told to return freed memory at once, else the system allocator."""
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
        return pool
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return pa.system_memory_pool()
