"""Typed item sets: the rows of some letters, their model inputs in one feature view, labels."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from features.categories import treatment_category
from training.data.loading import inputs_frame
from training.data.source import ItemSource

RECORD_BATCH = 2_048  # records scored at a time: bounds the text held while a split is scored


class Split:
    """Items of the corpus. `rows`: a datasets.Dataset with every column of the ingested items
    (ItemRecord fields, labels, provenance); `frame`: their model inputs in the view
    (features.views.model_inputs), built on first use, so that a split of a large corpus never holds
    its text unless a family asks for it; `y`: 1 = Overturned. `source` and `positions` say where the
    items lie in the corpus read block by block (training.data.source), for passes that must not
    hold the corpus in memory: the ingest output's Parquet shards where the caller names them, else
    the rows' own tables. A selection keeps its parent's source, so every split of one corpus reads,
    and caches, the same blocks."""

    def __init__(
        self,
        rows,
        frame: pd.DataFrame | None,
        y: np.ndarray,
        view: str = "pre_decision",
        source: ItemSource | None = None,
        positions: np.ndarray | None = None,
    ):
        self.rows, self._frame, self.y, self.view = rows, frame, np.asarray(y, dtype=int), view
        self.source = source if source is not None else ItemSource.of({"items": rows})
        self.positions = np.arange(len(self.y)) if positions is None else np.asarray(positions, dtype=np.int64)

    @classmethod
    def of(cls, rows, view: str, source: ItemSource | None = None) -> Split:
        return cls(rows, None, np.asarray(rows["label"], dtype=int), view, source)

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = inputs_frame(self.rows, self.view)
        return self._frame

    def __len__(self) -> int:
        return len(self.y)

    @property
    def letter_ids(self) -> np.ndarray:
        return np.asarray(self.rows["letter_id"])

    @property
    def letter_keys(self) -> list[str]:
        """The case number (the stable key folds are hashed on), else the letter id."""
        return [c or lid for c, lid in zip(self.rows["case_number"], self.rows["letter_id"])]

    def categories(self) -> list[str]:
        """Each item's treatment category, as model_inputs gives it, without building the text."""
        return [treatment_category(t) for t in self.rows["treatment"]]

    def mapped(self, column: str, fn: Callable[[str], str]) -> list[str]:
        """fn of each item's `column` (a long text, e.g. the case summary), read a batch at a time."""
        return [fn(record.get(column) or "") for batch in self.record_batches(columns=[column]) for record in batch]

    def select(self, index: np.ndarray) -> Split:
        index = np.asarray(index, dtype=int)
        frame = None if self._frame is None else self._frame.iloc[index].reset_index(drop=True)
        return Split(self.rows.select(index), frame, self.y[index], self.view, self.source, self.positions[index])

    def records(self) -> list[dict]:
        return list(self.rows)

    def record_batches(self, batch: int = RECORD_BATCH, columns: list[str] | None = None) -> Iterator[list[dict]]:
        """The items as records (every column, or `columns`), `batch` at a time, in order: from the
        corpus's blocks when the positions are sorted (a fold's items), else from the rows."""
        if len(self) and np.all(np.diff(self.positions) > 0):
            for _, table in self.source.batches(columns or self.rows.column_names, self.positions):
                for start in range(0, table.num_rows, batch):
                    yield table.slice(start, batch).to_pylist()
            return
        rows = self.rows if columns is None else self.rows.select_columns(columns)
        for start in range(0, len(self), batch):
            yield list(rows.select(range(start, min(start + batch, len(self)))))


def all_items(dsd) -> object:
    """Every split of an ingested DatasetDict as one dataset (cross-validation uses all letters)."""
    import datasets

    return datasets.concatenate_datasets([dsd[name] for name in dsd])


def corpus_items(dsd, view: str, dataset_folder=None) -> Split:
    """Every item of the corpus (all_items), readable block by block from `dataset_folder` (an
    `imr ingest` output) or from the tables of `dsd`."""
    return Split.of(all_items(dsd), view, ItemSource.of(dsd, dataset_folder))
