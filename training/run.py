"""The training run every model family shares: data, fit, threshold on validation, one
evaluation on test beside two reference predictors, and the packaged model registered in MLflow."""

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
from training.metrics import AlwaysUpheld, CategoryRate, binary_metrics, choose_threshold
from training.plots import evaluation_figures

# fit(cfg, splits, model_dir) writes the family's files into model_dir and returns their names
# plus family options for imr_model.json.
FitFn = Callable[[TrainConfig, dict, Path], tuple[list[str], dict]]


@dataclass
class TrainResult:
    run_id: str
    model_uri: str  # models:/<name>/<version>
    model_version: str
    threshold: float
    metrics: dict[str, float] = field(default_factory=dict)
    logged_model_uri: str = ""

    def summary(self) -> dict:
        return {"run_id": self.run_id, "model_uri": self.model_uri, "model_version": self.model_version,
                "threshold": self.threshold, "metrics": self.metrics}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


# compare(cfg, splits, p_test) returns extra test metrics (e.g. a paired bootstrap against the baseline).
CompareFn = Callable[[TrainConfig, dict, np.ndarray], dict[str, float]]


def run_training(cfg: TrainConfig, family: str, fit: FitFn, compare: CompareFn | None = None) -> TrainResult:
    from serving.model_dir import write_meta
    from serving.pyfunc_model import log_packaged_model
    from serving.scorers import load_scorer

    seed_everything(cfg.seed)
    tracking.setup(cfg.mlflow.experiment)
    dsd, ingest_report = load_splits(cfg.data)
    view = cfg.data.feature_view
    splits = {
        name: {"rows": dsd[name], "frame": inputs_frame(dsd[name], view), "y": np.asarray(dsd[name]["label"])}
        for name in dsd
    }
    with mlflow.start_run(run_name=cfg.mlflow.run_name) as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tags({"model_family": family, "feature_view": view})
        mlflow.log_params(tracking.flat_params(cfg.model_dump(mode="json")))
        mlflow.log_text(resolved_yaml(cfg), "config.yaml")
        # The report holds paths, statuses and counts only; no letter text.
        mlflow.log_text(json.dumps(ingest_report, indent=2), "ingest_report.json")
        mlflow.log_params({f"n_{name}_items": len(s["y"]) for name, s in splits.items()})
        tracking.log_splits(dsd, cfg.data.sources)

        model_dir = Path(tmp) / "model"
        model_dir.mkdir()
        files, options = fit(cfg, splits, model_dir)
        # Provisional threshold so the folder verifies; the real one is chosen on validation
        # with the very scorer that serving will use.
        write_meta(model_dir, family, view, 0.5, files, options)
        scorer = load_scorer(model_dir)
        p = {name: scorer.predict_proba(list(s["rows"])) for name, s in splits.items() if name != "train"}
        threshold = choose_threshold(splits["validation"]["y"], p["validation"])
        write_meta(model_dir, family, view, threshold, files, options)

        metrics = {}
        metrics.update(binary_metrics(splits["validation"]["y"], p["validation"], threshold, "val_"))
        metrics.update(binary_metrics(splits["test"]["y"], p["test"], threshold, "test_"))
        metrics.update(reference_metrics(splits))
        if compare is not None:
            metrics.update(compare(cfg, splits, p["test"]))
        metrics["threshold"] = threshold
        mlflow.log_metrics(metrics)
        tracking.log_figures(evaluation_figures(splits["test"]["y"], p["test"], threshold, f"{family} test"), "plots")

        model_uri, version, logged_uri = log_packaged_model(model_dir, cfg.mlflow.registered_model_name, cfg.mlflow.alias)
        mlflow.set_tag("registered_model", model_uri)
    return TrainResult(run.info.run_id, model_uri, version, threshold, metrics, logged_uri)


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
