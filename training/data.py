"""The training data: letters ingested into by-letter splits, and model-input frames of a view."""

from __future__ import annotations

import pandas as pd

from features.views import View, model_inputs
from training.config import DataConfig


def load_splits(cfg: DataConfig):
    """(DatasetDict with train/validation/test, ingest report)."""
    from features.ingest import ingest

    return ingest(cfg.source_paths(), seed=cfg.split_seed, fractions=tuple(cfg.split_fractions))


def inputs_frame(rows, view: View) -> pd.DataFrame:
    """One row of model inputs per item (see features.views.model_inputs)."""
    return pd.DataFrame([model_inputs(r, view) for r in rows])
