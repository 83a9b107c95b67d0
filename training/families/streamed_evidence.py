"""The shipped model's evidence (serving.precedents' index, serving.criteria's table) built from a corpus
of any size, without holding it: one parallel pass over its blocks (each block's term counts and
shown rows to disk, its criteria counts and letter keys sent back), the idf from the document
frequencies summed over the blocks, then the index written a block at a time
(serving.precedents.HashedIndexWriter). What is written grows with the corpus (it is the model);
the memory used to write it does not.

The criteria table may count a sample of the letters (model.streamed.criteria_items): reading the
criteria a rationale cites (features.criteria.cited, ~13 ms an item on the bundled rationales) is
the costliest step per item of the whole run, and a table of proportions per treatment category
needs no million letters. Its letters file then holds the sampled letters, so "the scored letter
was counted" stays true of exactly the letters whose citations are in the counts.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from serving.criteria import add_counts, count, letter_keys, write_table
from serving.precedents import (
    HASHED_COLUMNS,
    ROW_FIELDS,
    BlockCounts,
    HashedIndexWriter,
    count_block,
    document_frequencies,
)
from training import tracking
from training.data.source import Block, ItemSource

COLUMNS = (*ROW_FIELDS, "treatment_category")  # criteria count by the dataset's category, as records give it


def evidence_block(
    block: Block, rows: np.ndarray, k: int, folder: Path, counted_rows: np.ndarray
) -> tuple[dict, np.ndarray]:
    """Block k's counts and shown rows to `folder`; returns the criteria counts and letter keys of
    its `counted_rows` (a boolean per row: in the criteria sample)."""
    from scipy import sparse

    records = block.read(COLUMNS).take(rows).to_pylist()
    counted = count_block(records)
    for name in HASHED_COLUMNS:
        sparse.save_npz(folder / f"{name}-{k:05d}.npz", sparse.csr_matrix(getattr(counted, name)), compressed=False)
    counted.shown.to_parquet(folder / f"shown-{k:05d}.parquet", index=False)
    sample = [r for r, kept in zip(records, counted_rows) if kept]
    keys = np.array([key for r in sample for key in letter_keys(r)], dtype=np.uint64)
    return count(sample), np.unique(keys)


def _counts(folder: Path, name: str, k: int):
    from scipy import sparse

    return sparse.load_npz(folder / f"{name}-{k:05d}.npz")


def _read_block(folder: Path, k: int) -> BlockCounts:
    import pandas as pd

    counts = {name: _counts(folder, name, k) for name in HASHED_COLUMNS}
    return BlockCounts(counts["treatment"], counts["context"], pd.read_parquet(folder / f"shown-{k:05d}.parquet"))


def write_evidence(
    model_dir: Path,
    source: ItemSource,
    positions: np.ndarray,
    workers,
    progress,
    criteria_sample: np.ndarray | None = None,
) -> list[str]:
    """The precedents index of the items at sorted corpus `positions`, and the criteria table of
    those of them at the sorted `criteria_sample` (all of them when None); returns the files
    written, relative to model_dir."""
    folder = Path(tempfile.mkdtemp(prefix="evidence-", dir=source.scratch()))
    sample = positions if criteria_sample is None else criteria_sample
    try:
        tasks = []
        for k, block in enumerate(source.blocks):
            lo, hi = np.searchsorted(positions, [block.start, block.stop])
            if lo < hi:
                chosen = positions[lo:hi]
                tasks.append((block, chosen - block.start, k, folder, np.isin(chosen, sample)))
        with progress(len(positions), "precedents and criteria (pass 1 of 2)", "items") as bar:
            parts = workers.map(evidence_block, tasks, done=lambda i, r: bar.update(len(tasks[i][1])))
        counts: dict = {}
        for part, _ in parts:
            add_counts(counts, part)
        keys = np.concatenate([k for _, k in parts]) if parts else np.zeros(0, np.uint64)
        df = {name: np.zeros(n, dtype=np.int64) for name, n in HASHED_COLUMNS.items()}
        for _, _, k, _, _ in tasks:
            for name in HASHED_COLUMNS:
                df[name] += document_frequencies(_counts(folder, name, k))
        writer = HashedIndexWriter(model_dir, df, len(positions))
        with (
            tracking.stage("precedents_write"),
            progress(len(positions), "precedents index (pass 2 of 2)", "items") as bar,
        ):
            for _, rows, k, _, _ in tasks:
                writer.add(_read_block(folder, k))
                bar.update(len(rows))
        return [*writer.close(), *write_table(model_dir, counts, keys)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
