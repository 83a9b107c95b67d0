"""The training run every model family shares: data, fit, optional calibration and the threshold
on validation, one evaluation on test beside two reference predictors (with letter-level
bootstrap CIs, calibration error and a per-category table), and the packaged model registered
in MLflow with a model card. `evaluation.mode: cv` hands over to training.cross_validation."""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np

from training import tracking
from training.config import TrainConfig, resolved_yaml
from training.data import inputs_frame, load_splits
from training.evaluation import adaptive_ece, letter_bootstrap_ci, markdown_table, per_category_table
from training.metrics import AlwaysUpheld, CategoryRate, binary_metrics, choose_threshold
from training.plots import evaluation_figures

# fit(cfg, splits, model_dir) writes the family's files into model_dir and returns their names
# plus family options for imr_model.json.
FitFn = Callable[[TrainConfig, dict, Path], tuple[list[str], dict]]
# compare(cfg, splits, p_test) returns extra test metrics (e.g. a paired bootstrap against the baseline).
CompareFn = Callable[[TrainConfig, dict, np.ndarray], dict[str, float]]


@dataclass
class TrainResult:
    run_id: str
    model_uri: str  # models:/<name>/<version>; "" for a cross-validation run
    model_version: str
    threshold: float
    metrics: dict[str, float] = field(default_factory=dict)
    logged_model_uri: str = ""

    def summary(self) -> dict:
        return {"run_id": self.run_id, "model_uri": self.model_uri, "model_version": self.model_version,
                "threshold": self.threshold, "metrics": self.metrics}


@dataclass
class Fitted:
    p: dict[str, np.ndarray]  # validation and test probabilities, calibrated when configured
    threshold: float
    calibration: dict | None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def make_splits(dsd, view: str) -> dict:
    return {name: {"rows": dsd[name], "frame": inputs_frame(dsd[name], view), "y": np.asarray(dsd[name]["label"])}
            for name in dsd}


def fit_and_score(cfg: TrainConfig, family: str, fit: FitFn, splits: dict, model_dir: Path, view: str) -> Fitted:
    """Fit, then score validation and test with the packaged scorer that serving will load;
    calibration and threshold are fitted on validation only and written into the package."""
    from serving.calibration import apply_calibration, fit_calibration
    from serving.model_dir import write_meta
    from serving.ood import write_training_vocabulary
    from serving.scorers import load_scorer

    files, options = fit(cfg, splits, model_dir)
    # Serving's out-of-distribution check and its cap at the train overturn rate (serving/ood.py).
    files = [*files, write_training_vocabulary(model_dir, splits["train"]["rows"])]
    base_rate = float(np.mean(splits["train"]["y"]))
    write_meta(model_dir, family, view, 0.5, files, options, base_rate=base_rate)  # provisional, so it verifies
    scorer = load_scorer(model_dir)
    raw = {name: scorer.predict_proba(list(splits[name]["rows"])) for name in ("validation", "test")}
    calibration = fit_calibration(cfg.evaluation.calibration, raw["validation"], splits["validation"]["y"])
    p = {name: apply_calibration(calibration, values) for name, values in raw.items()}
    threshold = choose_threshold(splits["validation"]["y"], p["validation"])
    write_meta(model_dir, family, view, threshold, files, options, calibration, base_rate)
    return Fitted(p, threshold, calibration)


def test_metrics(cfg: TrainConfig, splits: dict, fitted: Fitted) -> dict[str, float]:
    y_test, p_test = splits["test"]["y"], fitted.p["test"]
    metrics = {"threshold": fitted.threshold}
    metrics.update(binary_metrics(splits["validation"]["y"], fitted.p["validation"], fitted.threshold, "val_"))
    metrics.update(binary_metrics(y_test, p_test, fitted.threshold, "test_"))
    metrics["test_ece"] = adaptive_ece(y_test, p_test)
    metrics.update(letter_bootstrap_ci(y_test, p_test, splits["test"]["rows"]["letter_id"],
                                       cfg.evaluation.bootstrap_samples, cfg.seed))
    metrics.update(reference_metrics(splits))
    return metrics


def log_run_inputs(cfg: TrainConfig, family: str, ingest_report: dict, dsd) -> None:
    mlflow.set_tags({"model_family": family, "feature_view": cfg.data.feature_view,
                     "evaluation_mode": cfg.evaluation.mode})
    mlflow.log_params(tracking.flat_params(cfg.model_dump(mode="json")))
    mlflow.log_text(resolved_yaml(cfg), "config.yaml")
    # The report holds paths, statuses and counts only; no letter text.
    mlflow.log_text(json.dumps(ingest_report, indent=2), "ingest_report.json")
    mlflow.log_params({f"n_{name}_items": ds.num_rows for name, ds in dsd.items()})
    tracking.log_splits(dsd, cfg.data.sources)


def run_training(cfg: TrainConfig, family: str, fit: FitFn, compare: CompareFn | None = None) -> TrainResult:
    from serving.pyfunc_model import log_packaged_model
    from training.audit import leakage_audit, log_top_terms
    from training.model_card import write_model_card

    seed_everything(cfg.seed)
    tracking.setup(cfg.mlflow.experiment)
    dsd, ingest_report = load_splits(cfg.data)
    if cfg.evaluation.mode == "cv":
        from training.cross_validation import run_cross_validation

        return run_cross_validation(cfg, family, fit, dsd, ingest_report)
    view = cfg.data.feature_view
    splits = make_splits(dsd, view)
    with mlflow.start_run(run_name=cfg.mlflow.run_name) as run, tempfile.TemporaryDirectory() as tmp:
        log_run_inputs(cfg, family, ingest_report, dsd)
        model_dir = Path(tmp) / "model"
        model_dir.mkdir()
        fitted = fit_and_score(cfg, family, fit, splits, model_dir, view)
        metrics = test_metrics(cfg, splits, fitted)
        if compare is not None:
            metrics.update(compare(cfg, splits, fitted.p["test"]))
        mlflow.log_metrics(metrics)
        if fitted.calibration:
            mlflow.log_dict(fitted.calibration, "calibration.json")
        tracking.log_figures(evaluation_figures(splits["test"]["y"], fitted.p["test"], fitted.threshold,
                                                f"{family} test"), "plots")
        categories = per_category_table(list(splits["test"]["frame"]["treatment_category"]),
                                        splits["test"]["y"], fitted.p["test"])
        mlflow.log_table(categories, "per_category_test.json")
        mlflow.log_text(markdown_table(categories), "per_category_test.md")
        if family == "baseline":
            log_top_terms(model_dir)
        if cfg.evaluation.leakage_audit:
            metrics.update(leakage_audit(cfg, family, fit, dsd, metrics, Path(tmp)))

        model_uri, version, logged_uri = log_packaged_model(model_dir, cfg.mlflow.registered_model_name,
                                                            cfg.mlflow.alias)
        mlflow.set_tag("registered_model", model_uri)
        write_model_card(cfg, family, dsd, metrics, categories, model_uri, version)
    return TrainResult(run.info.run_id, model_uri, version, fitted.threshold, metrics, logged_uri)


def reference_metrics(splits: dict) -> dict[str, float]:
    """Always-Upheld and the treatment category's train overturn rate, thresholds chosen on
    validation exactly as for the model."""
    out = {}
    cats = {name: list(s["frame"]["treatment_category"]) for name, s in splits.items()}
    for ref in (AlwaysUpheld(), CategoryRate()):
        ref.fit(cats["train"], splits["train"]["y"])
        threshold = 0.5 if isinstance(ref, AlwaysUpheld) else choose_threshold(
            splits["validation"]["y"], ref.predict_proba(cats["validation"])
        )
        out.update(binary_metrics(splits["test"]["y"], ref.predict_proba(cats["test"]), threshold, f"{ref.name}_test_"))
    return out
