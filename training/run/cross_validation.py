"""Out-of-fold (OOF) predictions: repeated K-fold by letter over every letter.

Each fold's model is fitted on the other folds' letters only and logged as a nested MLflow run;
every item gets one raw OOF probability per repeat. The reference predictors get theirs on the
same folds. Calibration of the OOF scores (training.run.cross_fitted_calibration) and the metrics
(training.metrics.out_of_fold) come after, in training.run.train.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import mlflow
import numpy as np

from training import tracking
from training.config import TrainConfig
from training.data.folds import Fold
from training.data.splits import Split
from training.data.workers import Workers
from training.families.packaging import FoldScores, fold_scores
from training.families.registry import Family
from training.metrics.out_of_fold import OOFScores
from training.metrics.reference_predictors import CategoryRate
from training.run.cross_fitted_calibration import cross_fitted_calibration


@dataclass
class OutOfFold:
    """Per repeat and item (repeats x items): the raw probability, the fold the item was held
    out in, whether the fold's model judged it in distribution, and that model's base rate."""

    p: np.ndarray
    fold: np.ndarray
    in_distribution: np.ndarray
    base_rate: np.ndarray
    labels: np.ndarray

    def scores(self, calibration: str) -> OOFScores:
        """The raw scores for ranking, and the probabilities serving would have answered: calibrated
        by a calibrator fitted on the other folds only, and capped at the fold model's base rate
        when out of distribution (serving.prediction.score_items)."""
        calibrated = np.stack(
            [cross_fitted_calibration(p, y, fold, calibration) for p, fold, y in zip(self.p, self.fold, self.labels)]
        )
        served = np.where(self.in_distribution, calibrated, np.minimum(calibrated, self.base_rate))
        return OOFScores.of(self.p, served, self.base_rate)


def fold_ids(folds: list[Fold], items: int) -> np.ndarray:
    repeats = max(f.repeat for f in folds) + 1
    out = np.full((repeats, items), -1, dtype=int)
    for f in folds:
        out[f.repeat, f.test] = f.index
    return out


def out_of_fold(cfg: TrainConfig, family: Family, items: Split, folds: list[Fold], label: str = "") -> OutOfFold:
    """Raw OOF probabilities of `family` under `cfg`; one nested run per fold. Folds run in parallel
    worker processes (evaluation.n_jobs, training.data.workers) when the family allows it."""
    repeats = max(f.repeat for f in folds) + 1
    shape = (repeats, len(items))
    oof = OutOfFold(
        np.full(shape, np.nan),
        fold_ids(folds, len(items)),
        np.ones(shape, dtype=bool),
        np.full(shape, np.nan),
        np.tile(items.y, (repeats, 1)),
    )
    name = label or family.name
    cfg = family.fold_config(family.resolve(cfg, len(np.unique(items.letter_ids))))
    with tracking.stage("folds"):
        family.prepare(cfg, items)
        with tracking.progress(len(folds), f"{name} cross-validation", "fold") as bar:
            if family.parallel_folds:
                workers = Workers(cfg.evaluation.n_jobs)
                tasks = [(cfg, family, items, f) for f in folds]
                results = workers.map(fold_scores, tasks, done=lambda i, r: bar.update())
                bar.set_postfix_str(f"workers: {workers.summary()}")
                for f, result in zip(folds, results):
                    with _fold_run(name, family, cfg, f):
                        _record(oof, f, result)
            else:
                for f in folds:
                    # Active while the family fits: the transformer's Trainer logs its losses into it.
                    with _fold_run(name, family, cfg, f):
                        _record(oof, f, fold_scores(cfg, family, items, f))
                    bar.update()
    return oof


@contextmanager
def _fold_run(name: str, family: Family, cfg: TrainConfig, f: Fold) -> Iterator[None]:
    tags = {
        "model_family": family.name,
        "feature_view": cfg.data.feature_view,
        "cv_repeat": f.repeat,
        "cv_fold": f.index,
        "stage": "cv_fold",
    }
    with tracking.stage("mlflow"):  # the run and its tags in one call
        run = mlflow.start_run(run_name=f"{name}-repeat{f.repeat}-fold{f.index}", nested=True, tags=tags)
    with run:
        yield


def _record(oof: OutOfFold, f: Fold, result: FoldScores) -> None:
    oof.p[f.repeat, f.test] = result.p
    oof.in_distribution[f.repeat, f.test] = result.in_distribution
    oof.base_rate[f.repeat, f.test] = result.base_rate
    with tracking.stage("mlflow"):
        mlflow.log_metrics(
            {
                "fold_train_items": len(f.train),
                "fold_test_items": len(f.test),
                "fold_test_overturned": result.overturned,
            }
        )


def reference_out_of_fold(items: Split, folds: list[Fold]) -> tuple[np.ndarray, np.ndarray]:
    """(constant training base rate, smoothed treatment-category rate), repeats x items each."""
    repeats = max(f.repeat for f in folds) + 1
    base, category = np.full((repeats, len(items)), np.nan), np.full((repeats, len(items)), np.nan)
    categories = np.asarray(items.categories(), dtype=object)
    for f in folds:
        base[f.repeat, f.test] = items.y[f.train].mean()
        ref = CategoryRate().fit(list(categories[f.train]), items.y[f.train])
        category[f.repeat, f.test] = ref.predict_proba(list(categories[f.test]))
    return base, category
