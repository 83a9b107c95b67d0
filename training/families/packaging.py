"""Fitting a family into the packaged-model folder that serving loads (see serving.model_dir),
so every score a run reports comes from the very scorer, check and cap a user will run."""

from __future__ import annotations

from collections.abc import Callable
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
    # The family's way to score held-out items without reading their text again (the streamed
    # baseline: from its cached features), or None: from the records, by serving's scorer.
    held_out_fn: Callable[[PackagedModel, Split], tuple[np.ndarray, np.ndarray] | None] | None = None
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

    def serving(self) -> tuple:
        """(scorer, distribution check), verified and loaded from the folder by serving's own code."""
        if self._loaded is None:
            scorer = load_scorer(self.model_dir)
            self._loaded = (scorer, load_distribution_check(self.model_dir, scorer.meta))
        return self._loaded

    def score(self, items: Split) -> np.ndarray:
        """The scorer's p_overturned (calibrated once finish() gave it a calibration), before the
        out-of-distribution cap; the records are read a batch at a time."""
        scorer = self.serving()[0]
        return np.concatenate([np.empty(0), *(scorer.predict_proba(batch) for batch in items.record_batches())])

    def in_distribution(self, items: Split) -> np.ndarray:
        check = self.serving()[1]
        return np.array(
            [check is None or check.reason(r) is None for batch in items.record_batches() for r in batch], dtype=bool
        )

    def held_out(self, items: Split) -> tuple[np.ndarray, np.ndarray]:
        """(score, in_distribution) of held-out items, the family's fast way when it has one."""
        fast = self.held_out_fn(self, items) if self.held_out_fn else None
        return fast if fast is not None else (self.score(items), self.in_distribution(items))

    def served(self, items: Split) -> np.ndarray:
        """p_overturned exactly as serving answers it: calibrated, capped when out of distribution."""
        scorer, check = self.serving()
        return np.array(
            [row["p_overturned"] for batch in items.record_batches() for row in score_items(scorer, check, batch)]
        )


def fit_packaged(
    cfg: TrainConfig, family: Family, train: Split, validation: Split | None, model_dir: Path, precedents: bool = False
) -> PackagedModel:
    """`precedents`: also index the training items as the model's precedents (serving/precedents.py),
    for the model that ships; cross-validation folds are never asked for evidence and skip it."""
    model_dir.mkdir(parents=True, exist_ok=True)
    files, options = family.fit(cfg, train, validation, model_dir)
    evidence = family.package_evidence(cfg, train, model_dir, precedents)
    if evidence is None:
        records = train.records()  # materialised once: at corpus scale a pass over every row
        # Serving's out-of-distribution check reads the training items' vocabulary (serving/ood.py).
        files_of_evidence = [write_training_vocabulary(model_dir, records)]
        with tracking.stage("precedents_index"):
            if precedents:
                files_of_evidence += build_index(records, model_dir)
                files_of_evidence += build_table(records, model_dir)  # reviewer criteria (serving/criteria.py)
        evidence = files_of_evidence, longest_fields(records)
    model = PackagedModel(
        model_dir,
        family.name,
        cfg.data.feature_view,
        [*files, *evidence[0]],
        options,
        float(train.y.mean()),
        evidence[1],
        lambda packaged, items: family.held_out_scores(cfg, packaged, items),
    )
    model.finish()  # provisional (no calibration), so the folder verifies and scores raw
    return model


@dataclass
class FoldScores:
    p: np.ndarray  # the fold model's raw probability of each held-out item
    in_distribution: np.ndarray
    base_rate: float
    overturned: int  # held-out items overturned


def fold_scores(cfg: TrainConfig, family: Family, items: Split, fold) -> FoldScores:
    """Fit a cross-validation fold's model on its training items, packaged as serving loads it, and
    score its held-out items. Runs in this process or in a fold worker (training.data.workers), whose
    imports stay light: this module imports no MLflow."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, tracking.quiet_steps():
        test = items.select(fold.test)
        model = fit_packaged(cfg, family, items.select(fold.train), None, Path(tmp) / "model")
        p, ok = model.held_out(test)
        return FoldScores(p, ok, model.base_rate, int(test.y.sum()))
