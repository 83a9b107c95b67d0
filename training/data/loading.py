"""The training data: letters ingested into by-letter splits, and model-input frames of a view."""

from __future__ import annotations

import json

import pandas as pd

from features.errors import InputError
from features.views import View, model_inputs
from training.config import DataConfig


def load_splits(cfg: DataConfig):
    """(DatasetDict with train/validation/test, ingest report): from an `imr ingest` output
    (`data.dataset`, memory-mapped, nothing re-parsed) or by ingesting `data.sources`."""
    if cfg.dataset:
        dsd, report = _load_ingested(cfg)
    else:
        from features.ingest import ingest

        dsd, report = ingest(cfg.source_paths(), seed=cfg.split_seed, fractions=tuple(cfg.split_fractions))
    return dsd, report


def require_every_split(dsd, cfg: DataConfig) -> None:
    """Split mode selects on validation and tests on test: an empty split is a one-line
    InputError, raised before any run starts. (Cross-validation pools the splits.)"""
    empty = [split for split in ("train", "validation", "test") if split not in dsd or dsd[split].num_rows == 0]
    if empty:
        where = f"data.dataset {cfg.dataset}" if cfg.dataset else "data.sources"
        letters = len({k for split in dsd for k in dsd[split]["letter_id"]})
        raise InputError(
            f"{where}: the {', '.join(empty)} split(s) have no letters ({letters} letters in all); "
            f"every split needs letters: add letters, change data.split_fractions "
            f"or use evaluation.mode: cv"
        )


def _load_ingested(cfg: DataConfig):
    import datasets

    folder = cfg.dataset_path()
    if not (folder / "dataset" / "dataset_dict.json").exists() or not (folder / "report.json").exists():
        raise InputError(
            f"data.dataset {folder}: not an imr ingest output (no dataset/ and report.json); "
            f"run: imr ingest LETTERS... --out {folder}"
        )
    report = json.loads((folder / "report.json").read_text())
    return datasets.load_from_disk(str(folder / "dataset")), report


def inputs_frame(rows, view: View) -> pd.DataFrame:
    """One row of model inputs per item (see features.views.model_inputs)."""
    return pd.DataFrame([model_inputs(r, view) for r in rows])
