"""Repeated grouped K-fold cross-validation by letter, as an alternative to one split.

Each fold's held-out letters are its test set; the remaining letters are split again (by letter,
stratified) into train and validation, so threshold, calibration and early stopping never see
the fold's test letters. Fold runs are nested under one parent run, which logs the mean and
standard deviation of each test metric over folds and, per repeat, the pooled out-of-fold AUROC
and PR-AUC with letter-level bootstrap CIs. Nothing is registered: CV estimates, it does not ship.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import numpy as np
from sklearn import metrics as skm
from sklearn.model_selection import StratifiedGroupKFold

from features.dataset import split_letters
from training.evaluation import letter_bootstrap_ci

SUMMARISED = ("test_roc_auc", "test_pr_auc", "test_precision", "test_recall", "test_f1", "test_accuracy",
              "test_brier", "test_ece", "ref_upheld_test_roc_auc", "ref_category_test_roc_auc",
              "ref_upheld_test_pr_auc", "ref_category_test_pr_auc")


def fold_splits(dsd, folds: int, seed: int):
    """Yield (all_rows, {"train": idx, "validation": idx, "test": idx}) per fold, indices into all_rows."""
    import datasets

    rows = datasets.concatenate_datasets([dsd[name] for name in dsd])
    y = np.asarray(rows["label"])
    groups = np.asarray(rows["letter_id"])
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for rest, test in splitter.split(np.zeros(len(y)), y, groups):
        has_overturn = {}
        for i in rest:
            has_overturn[groups[i]] = has_overturn.get(groups[i], False) or bool(y[i])
        assignment = split_letters(has_overturn, seed, (0.82, 0.18, 0.0))
        # Rounding per stratum can leave a letter in the empty third bucket: it trains.
        val = np.array([i for i in rest if assignment[groups[i]] == "validation"])
        train = np.array([i for i in rest if assignment[groups[i]] != "validation"])
        yield rows, {"train": train, "validation": val, "test": test}


def run_cross_validation(cfg, family: str, fit, dsd, ingest_report):
    from training.run import TrainResult, fit_and_score, log_run_inputs, make_splits, test_metrics

    ev = cfg.evaluation
    view = cfg.data.feature_view
    summary: dict[str, float] = {}
    with mlflow.start_run(run_name=cfg.mlflow.run_name) as parent:
        log_run_inputs(cfg, family, ingest_report, dsd)
        per_fold: list[dict[str, float]] = []
        for repeat in range(ev.repeats):
            seed = cfg.seed + repeat
            oof_p, oof_y, oof_groups = [], [], []
            for k, (rows, index) in enumerate(fold_splits(dsd, ev.folds, seed)):
                fold = make_splits({name: rows.select(idx) for name, idx in index.items()}, view)
                with mlflow.start_run(run_name=f"repeat{repeat}-fold{k}", nested=True), \
                        tempfile.TemporaryDirectory() as tmp:
                    mlflow.set_tags({"model_family": family, "feature_view": view, "cv_repeat": repeat, "cv_fold": k})
                    model_dir = Path(tmp) / "model"
                    model_dir.mkdir()
                    fitted = fit_and_score(cfg, family, fit, fold, model_dir, view)
                    metrics = test_metrics(cfg, fold, fitted)
                    mlflow.log_metrics(metrics)
                per_fold.append(metrics)
                oof_p.append(fitted.p["test"])
                oof_y.append(fold["test"]["y"])
                oof_groups.append(np.asarray(fold["test"]["rows"]["letter_id"]))
            y, p, g = np.concatenate(oof_y), np.concatenate(oof_p), np.concatenate(oof_groups)
            summary[f"cv_oof_roc_auc_r{repeat}"] = float(skm.roc_auc_score(y, p))
            summary[f"cv_oof_pr_auc_r{repeat}"] = float(skm.average_precision_score(y, p))
            summary.update(letter_bootstrap_ci(y, p, g, ev.bootstrap_samples, seed, prefix=f"cv_oof_r{repeat}_"))
        for name in SUMMARISED:
            values = np.array([m[name] for m in per_fold], dtype=float)
            summary[f"cv_{name}_mean"] = float(np.nanmean(values))
            summary[f"cv_{name}_std"] = float(np.nanstd(values))
        summary["cv_folds_run"] = float(len(per_fold))
        mlflow.log_metrics(summary)
    return TrainResult(parent.info.run_id, "", "", float("nan"), summary)
