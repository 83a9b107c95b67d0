"""Where a corpus's items are read from, a block at a time, never all at once.

An `imr ingest` output holds each split twice: `dataset/` (Arrow, which `datasets` memory-maps:
every page read stays in the process's resident memory) and `parquet/<split>.parquet/part-*.parquet`,
written from the same batches in the same order. Passes over the whole corpus (the streamed
baseline's features, the shipped model's precedents and criteria) read the Parquet shards, a few
row groups and only the columns they need at a time, into memory that is freed after each block:
memory stays flat as the corpus grows. A corpus ingested in memory (`data.sources`) is read from its
`datasets` tables instead, sliced into blocks the same way.

Items are numbered as training.data.splits.all_items numbers them: the splits in the dataset's
order (train, validation, test), each in its stored order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from features.errors import InputError

BLOCK_ITEMS = 4_096  # items per block: ~10 MB of text, enough work per task to make messaging cheap


@dataclass(frozen=True)
class Block:
    """Items [start, stop) of the corpus: some row groups of one Parquet file, or a slice of a table."""

    start: int
    stop: int
    path: str | None = None
    row_groups: tuple[int, ...] = ()
    table: pa.Table | None = None  # in-memory corpora only

    def __len__(self) -> int:
        return self.stop - self.start

    def read(self, columns: Sequence[str]) -> pa.Table:
        if self.table is not None:
            return self.table.select(list(columns))
        import pyarrow.parquet as pq

        return pq.ParquetFile(self.path).read_row_groups(list(self.row_groups), columns=list(columns))


class ItemSource:
    """The corpus's items as blocks (see the module's docstring)."""

    def __init__(self, blocks: list[Block], origin: str):
        self.blocks = blocks
        self.origin = origin  # what the items were read from, for messages
        self.n_items = blocks[-1].stop if blocks else 0
        self._scratch: str | None = None

    def scratch(self) -> Path:
        """A folder for files derived from these items (caches a run builds once and its workers
        read), in the temporary folder (TMPDIR), removed with the source by the process that made it."""
        if self._scratch is None:
            import shutil
            import tempfile
            import weakref

            self._scratch = tempfile.mkdtemp(prefix="imr-corpus-")
            weakref.finalize(self, shutil.rmtree, self._scratch, ignore_errors=True)
        return Path(self._scratch)

    def __getstate__(self) -> dict:
        # A worker gets the folder's name only after it exists, and never removes it.
        return {"blocks": self.blocks, "origin": self.origin, "n_items": self.n_items, "_scratch": self._scratch}

    @classmethod
    def of(cls, dsd, dataset_folder: Path | None = None, block_items: int = BLOCK_ITEMS) -> ItemSource:
        """The Parquet shards of `dataset_folder` (an `imr ingest` output) when it has them, else the
        tables of `dsd`; `dsd` gives the order and the number of items of each split."""
        if dataset_folder is not None and (dataset_folder / "parquet").is_dir():
            return cls._from_parquet(dsd, dataset_folder, block_items)
        return cls._from_tables(dsd, block_items)

    @classmethod
    def _from_parquet(cls, dsd, folder: Path, block_items: int) -> ItemSource:
        import pyarrow.parquet as pq

        blocks: list[Block] = []
        start = 0
        for split in dsd:
            files = sorted((folder / "parquet" / f"{split}.parquet").glob("part-*.parquet"))
            rows = 0
            for path in files:
                meta = pq.ParquetFile(path).metadata
                group: list[int] = []
                size = 0
                for g in range(meta.num_row_groups):
                    group.append(g)
                    size += meta.row_group(g).num_rows
                    if size >= block_items or g == meta.num_row_groups - 1:
                        if size:
                            blocks.append(Block(start, start + size, str(path), tuple(group)))
                        start, rows, group, size = start + size, rows + size, [], 0
            if rows != dsd[split].num_rows:
                raise InputError(
                    f"data.dataset {folder}: parquet/{split}.parquet has {rows} items but dataset/{split} has "
                    f"{dsd[split].num_rows}; the output is damaged: run imr ingest again"
                )
        return cls(blocks, f"{folder / 'parquet'}")

    @classmethod
    def _from_tables(cls, dsd, block_items: int) -> ItemSource:
        blocks: list[Block] = []
        start = 0
        for split in dsd:
            table = dsd[split].with_format("arrow")[:]  # its rows in its order (a selection included)
            for offset in range(0, table.num_rows, block_items):
                part = table.slice(offset, block_items)
                blocks.append(Block(start, start + part.num_rows, table=part))
                start += part.num_rows
        return cls(blocks, "the ingested letters in memory")

    def batches(
        self, columns: Sequence[str], positions: np.ndarray | None = None
    ) -> Iterator[tuple[np.ndarray, pa.Table]]:
        """(positions, rows) block by block, in corpus order: every item, or those at the sorted
        `positions` (a block none of them falls in is not read)."""
        for block in self.blocks:
            if positions is None:
                yield np.arange(block.start, block.stop), block.read(columns)
                continue
            lo, hi = np.searchsorted(positions, [block.start, block.stop])
            if lo == hi:
                continue
            chosen = positions[lo:hi]
            yield chosen, block.read(columns).take(pa.array(chosen - block.start))

    def column(self, name: str, positions: np.ndarray | None = None) -> list:
        """One column's values (a short one: a label, a key, a treatment name), block by block."""
        return [v for _, rows in self.batches([name], positions) for v in rows.column(name).to_pylist()]
