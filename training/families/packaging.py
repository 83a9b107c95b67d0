"""Fitting a family into the packaged-model folder that serving loads (see serving.model_dir),
so every score a run reports comes from the very scorer, check and cap a user will run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serving.criteria import build_table
from serving.field_limits import longest_fields
from serving.model_dir import write_meta
from serving.model_evaluation import write_evaluation
from serving.ood import load_distribution_check, write_training_vocabulary
from serving.precedents import build_index
from serving.prediction import score_items
from serving.scorers import load_scorer
from training import tracking
from training.config import TrainConfig
from training.data.splits import Split
from training.families.family import Family


@dataclass
class PackagedModel:
    model_dir: Path
    family: str
    view: str
    files: list[str]
    options: dict
    base_rate: float  # overturn rate of the items it was fitted on
    field_lengths: dict[str, int] | None = None  # longest text per field of those items (serving/field_limits.py)
    # The folder as serving opens it (scorer, distribution check): loaded on first use, once,
    # and dropped by finish(), which rewrites what the scorer reads (threshold, calibration).
    _loaded: tuple | None = field(default=None, init=False, repr=False)

    def finish(self, threshold: float = 0.5, calibration: dict | None = None) -> None:
        """(Re)write imr_model.json: hashes of every file, the threshold and the calibration."""
        write_meta(
            self.model_dir,
            self.family,
            self.view,
            threshold,
            self.files,
            self.options,
            calibration,
            self.base_rate,
            self.field_lengths,
        )
        self._loaded = None

    def add_evaluation(
        self, metrics: dict, protocol: str, letters: int | None = None, bands: dict | None = None
    ) -> None:
        """Ship the headline metrics, the number of letters they were measured on and the score bands in
        the package (serving/model_evaluation.py); hashed by finish()."""
        name = write_evaluation(self.model_dir, metrics, protocol, letters, bands)
        self.files = [*(f for f in self.files if f != name), name]

    def _serving(self) -> tuple:
        """(scorer, distribution check), verified and loaded from the folder by serving's own code."""
        if self._loaded is None:
            scorer = load_scorer(self.model_dir)
            self._loaded = (scorer, load_distribution_check(self.model_dir, scorer.meta))
        return self._loaded

    def score(self, items: Split) -> np.ndarray:
        """The scorer's p_overturned (calibrated once finish() gave it a calibration), before the
        out-of-distribution cap."""
        return self._serving()[0].predict_proba(items.records()) if len(items) else np.empty(0)

    def in_distribution(self, items: Split) -> np.ndarray:
        check = self._serving()[1]
        return np.array([check is None or check.reason(r) is None for r in items.records()], dtype=bool)

    def served(self, items: Split) -> np.ndarray:
        """p_overturned exactly as serving answers it: calibrated, capped when out of distribution."""
        scorer, check = self._serving()
        return np.array([row["p_overturned"] for row in score_items(scorer, check, items.records())])


def fit_packaged(
    cfg: TrainConfig, family: Family, train: Split, validation: Split | None, model_dir: Path, precedents: bool = False
) -> PackagedModel:
    """`precedents`: also index the training items as the model's precedents (serving/precedents.py),
    for the model that ships; cross-validation folds are never asked for evidence and skip it."""
    model_dir.mkdir(parents=True, exist_ok=True)
    files, options = family.fit(cfg, train, validation, model_dir)
    records = train.records()  # materialised once: at corpus scale a pass over every row
    # Serving's out-of-distribution check reads the training items' vocabulary (serving/ood.py).
    files = [*files, write_training_vocabulary(model_dir, records)]
    with tracking.stage("precedents_index"):
        if precedents:
            files += build_index(records, model_dir)
            files += build_table(records, model_dir)  # reviewer criteria (serving/criteria.py)
    model = PackagedModel(
        model_dir, family.name, cfg.data.feature_view, files, options, float(train.y.mean()), longest_fields(records)
    )
    model.finish()  # provisional (no calibration), so the folder verifies and scores raw
    return model
