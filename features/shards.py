"""Streaming writers for the ingest output: Parquet shards per split, and the same rows as a
`datasets` save_to_disk folder, written batch by batch so memory does not grow with the corpus.

The save_to_disk layout (datasets 5.x: `dataset_dict.json`, and per split `data-0000k-of-0000n.arrow`
Arrow IPC streams, `state.json`, `dataset_info.json`) is written here rather than by
`DatasetDict.save_to_disk`, which would first need the whole split as one (memory-mapped, hence
resident) table, and which writes no file at all for an empty split, so `load_from_disk` fails.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROWS_PER_SHARD = 100_000


class ParquetShards:
    """`folder/part-00000.parquet`, ...; at least one file, so an empty split still has its schema."""

    def __init__(self, folder: Path, schema: pa.Schema, rows_per_shard: int = ROWS_PER_SHARD):
        self.folder, self.schema, self.rows_per_shard = folder, schema, rows_per_shard
        folder.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._in_shard = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if self._writer is None or self._in_shard >= self.rows_per_shard:
            self._open()
        self._writer.write(batch)
        self._in_shard += batch.num_rows
        self.rows += batch.num_rows

    def _open(self) -> None:
        if self._writer is not None:
            self._writer.close()
        path = self.folder / f"part-{len(self.files):05d}.parquet"
        self.files.append(path)
        self._writer = pq.ParquetWriter(path, self.schema)
        self._in_shard = 0

    def close(self) -> None:
        if self._writer is None:
            self._open()
        self._writer.close()


class ArrowSplit:
    """One split of a save_to_disk folder, as Arrow IPC stream shards."""

    def __init__(self, folder: Path, schema: pa.Schema, info: dict, rows_per_shard: int = ROWS_PER_SHARD):
        self.folder, self.schema, self.info, self.rows_per_shard = folder, schema, info, rows_per_shard
        folder.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []
        self.rows = 0
        self._sink = self._writer = None
        self._in_shard = 0
        self._digest = hashlib.blake2b(digest_size=8)

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if self._writer is None or self._in_shard >= self.rows_per_shard:
            self._open()
        self._writer.write(batch)
        self._in_shard += batch.num_rows
        self.rows += batch.num_rows

    def _open(self) -> None:
        self._close_shard()
        path = self.folder / f"data-{len(self.files):05d}.arrow"
        self.files.append(path)
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)
        self._in_shard = 0

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()

    def close(self) -> None:
        if self._writer is None:
            self._open()  # an empty split still gets one (empty) shard, so it loads
        self._close_shard()
        n = len(self.files)
        names = []
        for k, path in enumerate(self.files):
            final = path.with_name(f"data-{k:05d}-of-{n:05d}.arrow")
            path.rename(final)
            names.append(final.name)
            self._digest.update(f"{final.name}:{final.stat().st_size}".encode())
        state = {
            "_data_files": [{"filename": name} for name in names],
            "_fingerprint": self._digest.hexdigest(),
            "_format_columns": None,
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": None,
        }
        (self.folder / "state.json").write_text(json.dumps(state, indent=2))
        (self.folder / "dataset_info.json").write_text(json.dumps(self.info, indent=2))


def write_dataset_dict_json(folder: Path, splits: list[str]) -> None:
    (folder / "dataset_dict.json").write_text(json.dumps({"splits": splits}))
