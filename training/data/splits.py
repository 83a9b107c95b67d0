"""Typed item sets: the rows of some letters, their model inputs in one feature view, labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.data.loading import inputs_frame


@dataclass
class Split:
    rows: object  # datasets.Dataset: every column of the ingested items (ItemRecord fields, labels, provenance)
    frame: pd.DataFrame  # model inputs of the view (features.views.model_inputs), one row per item
    y: np.ndarray  # 1 = Overturned

    @classmethod
    def of(cls, rows, view: str) -> Split:
        return cls(rows, inputs_frame(rows, view), np.asarray(rows["label"], dtype=int))

    def __len__(self) -> int:
        return len(self.y)

    @property
    def letter_ids(self) -> np.ndarray:
        return np.asarray(self.rows["letter_id"])

    @property
    def letter_keys(self) -> list[str]:
        """The case number (the stable key folds are hashed on), else the letter id."""
        return [c or lid for c, lid in zip(self.rows["case_number"], self.rows["letter_id"])]

    def select(self, index: np.ndarray) -> Split:
        index = np.asarray(index, dtype=int)
        return Split(self.rows.select(index), self.frame.iloc[index].reset_index(drop=True), self.y[index])

    def records(self) -> list[dict]:
        return list(self.rows)


def all_items(dsd) -> object:
    """Every split of an ingested DatasetDict as one dataset (cross-validation uses all letters)."""
    import datasets

    return datasets.concatenate_datasets([dsd[name] for name in dsd])
