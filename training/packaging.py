"""Fitting a family into the packaged-model folder that serving loads (see serving.model_dir),
so every score a run reports comes from the very scorer a user will run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serving.model_dir import write_meta
from serving.scorers import load_scorer
from training.config import TrainConfig
from training.families import Family
from training.splits import Split


@dataclass
class PackagedModel:
    model_dir: Path
    family: str
    view: str
    files: list[str]
    options: dict

    def finish(self, threshold: float = 0.5, calibration: dict | None = None) -> None:
        """(Re)write imr_model.json: hashes of every file, the threshold and the calibration."""
        write_meta(self.model_dir, self.family, self.view, threshold, self.files, self.options, calibration)

    def score(self, items: Split) -> np.ndarray:
        """p_overturned of each item through the packaged scorer (calibrated once finish() got one)."""
        return load_scorer(self.model_dir).predict_proba(items.records()) if len(items) else np.empty(0)


def fit_packaged(cfg: TrainConfig, family: Family, train: Split, validation: Split | None,
                 model_dir: Path) -> PackagedModel:
    model_dir.mkdir(parents=True, exist_ok=True)
    files, options = family.fit(cfg, train, validation, model_dir)
    model = PackagedModel(model_dir, family.name, cfg.data.feature_view, files, options)
    model.finish()  # provisional (no calibration), so the folder verifies and scores raw
    return model
