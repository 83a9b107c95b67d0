"""The training run every model family shares.

`evaluation.mode: cv` (default): out-of-fold predictions over every letter, cross-fitted
calibration, pooled OOF metrics with letter-level CIs beside two reference predictors on the
same folds, then the model refitted on all letters with the calibrator and threshold fitted on
all OOF scores, registered with a model card of the OOF metrics.
`split`: fit on train, calibration and threshold on validation, one evaluation on test.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from features.writer import writer_template
from serving.calibration import fit_calibration
from serving.model_dir import manifest_sha256
from serving.model_evaluation import read_evaluation
from serving.pyfunc_model import log_packaged_model
from training import tracking
from training.config import TrainConfig, resolved_yaml
from training.data.folds import item_folds, writer_folds
from training.data.loading import corpus_letters, load_splits, require_every_split
from training.data.source import ItemSource
from training.data.splits import Split, corpus_items
from training.families.packaging import PackagedModel, fit_packaged
from training.families.registry import Family, family_of
from training.markdown import markdown_table
from training.metrics import out_of_fold as cv_metrics
from training.metrics.bands import score_bands
from training.metrics.binary import binary_metrics, choose_threshold
from training.metrics.bootstrap import brier_skill_ci, letter_bootstrap_ci
from training.metrics.calibration_error import adaptive_ece
from training.metrics.out_of_fold import OOFScores, headline_defined, oof_metrics
from training.metrics.per_category import per_category_table
from training.metrics.reference_predictors import AlwaysUpheld, CategoryRate
from training.metrics.within_fold import within_fold_metrics
from training.reporting import console, run_info
from training.reporting.experiment import open_experiment
from training.reporting.headline import FAMILY_TAG
from training.reporting.model_card import write_model_card
from training.reporting.model_registry import REGISTERED_MODEL_TAG, VersionRegistration, describe_model, version_tags
from training.reporting.plots import evaluation_figures
from training.reporting.run_info import append_note
from training.reporting.run_naming import run_name
from training.run.cross_validation import out_of_fold, reference_out_of_fold
from training.run.leakage_audit import leakage_audit_cv, leakage_audit_split
from training.run.references import split_versus_references, versus_references
from training.run.writer_shift import writer_shift


class UndefinedMetricsError(RuntimeError):
    """The run's headline metrics are not numbers; nothing was registered."""


@dataclass
class TrainResult:
    run_id: str
    model_uri: str  # models:/<name>/<version>
    model_version: str
    threshold: float
    metrics: dict[str, float] = field(default_factory=dict)
    logged_model_uri: str = ""

    def summary(self) -> dict:
        return {
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "model_version": self.model_version,
            "threshold": self.threshold,
            "metrics": self.metrics,
        }


def train(cfg: TrainConfig) -> TrainResult:
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    console.quiet_training_output()
    tracking.stage.mark("mlflow")  # the stages benchmarks/bench_train.py reports
    open_experiment(cfg.mlflow.experiment)
    tracking.stage.mark("load")
    dsd, ingest_report = load_splits(cfg.data)
    family = family_of(cfg)
    # Choices made once on the whole corpus (the baseline's features: auto); the run is named and
    # logged by the config as written, and tagged `resolved.<key>` where the choice changed it.
    resolved = family.resolve(cfg, corpus_letters(dsd))
    # Around the whole run: until it has ended, a failure or an interrupt puts the registry back.
    with VersionRegistration(cfg.mlflow.registered_model_name, cfg.mlflow.alias) as registration:
        if cfg.evaluation.mode == "cv":
            return train_cv(resolved, family, dsd, ingest_report, registration, requested=cfg)
        return train_split(resolved, family, dsd, ingest_report, registration, requested=cfg)


def log_run_inputs(
    cfg: TrainConfig, family: Family, ingest_report: dict, dsd, requested: TrainConfig | None = None
) -> None:
    requested = requested or cfg
    mlflow.set_tags(
        {FAMILY_TAG: family.name, "feature_view": cfg.data.feature_view, "evaluation_mode": cfg.evaluation.mode}
    )
    run_info.start(cfg, family, ingest_report, dsd)  # provenance tags and the run's description
    params = tracking.flat_params(requested.model_dump(mode="json"))
    mlflow.log_params(params)
    chosen = tracking.flat_params(cfg.model_dump(mode="json"))
    mlflow.set_tags({f"resolved.{k}": v for k, v in chosen.items() if params.get(k) != v})
    mlflow.log_text(resolved_yaml(requested), "config.yaml")
    # The report holds paths, statuses and counts only; no letter text.
    mlflow.log_text(json.dumps(ingest_report, indent=2), "ingest_report.json")
    mlflow.log_params({f"n_{name}_items": ds.num_rows for name, ds in dsd.items()})
    tracking.log_splits(dsd, cfg.data.sources)


# ---------------------------------------------------------------- cross-validation (default)


def train_cv(
    cfg: TrainConfig,
    family: Family,
    dsd,
    ingest_report: dict,
    registration: VersionRegistration,
    requested: TrainConfig | None = None,
) -> TrainResult:
    ev = cfg.evaluation
    items = corpus_items(dsd, cfg.data.feature_view, cfg.data.dataset_path())
    # Refused before any run starts: too few letters, a fold without an overturned item, a
    # config the smallest training fold cannot support, too few writer templates (writer_shift).
    folds = item_folds(items.letter_keys, items.y, ev.folds, ev.repeats, cfg.seed)
    family.check_data(cfg, min(len(f.train) for f in folds))
    templates = items.mapped("case_summary", writer_template)
    writer = writer_folds(templates, items.letter_keys, items.y) if ev.writer_shift else []
    if writer:
        family.check_data(cfg, min(len(f.train) for f in writer))
    y, groups = items.y, items.letter_ids
    with tracking.top_level_run(run_name(requested or cfg)) as run, tempfile.TemporaryDirectory() as tmp:
        tracking.stage.mark("mlflow")
        log_run_inputs(cfg, family, ingest_report, dsd, requested)
        raw = out_of_fold(cfg, family, items, folds)
        tracking.stage.mark("metrics")
        scores = raw.scores(ev.calibration)
        calibrated = scores.prob
        threshold = choose_threshold(np.tile(y, ev.repeats), calibrated.ravel())
        base, category = reference_out_of_fold(items, folds)
        metrics = oof_metrics(y, scores, groups, threshold, ev.bootstrap_samples, cfg.seed, cv_metrics.MODEL)
        metrics.update(_uncalibrated(y, raw.p, base))
        metrics.update(_reference_metrics(cfg, y, (base, category), groups))
        metrics["threshold"] = threshold
        metrics["base_rate"] = float(y.mean())
        metrics["cv_out_of_distribution_share"] = float(1 - raw.in_distribution.mean())
        metrics.update(
            within_fold_metrics(y, raw.p, raw.fold, groups, ev.bootstrap_samples, cfg.seed, cv_metrics.MODEL)
        )
        if writer:
            metrics.update(writer_shift(cfg, family, items, writer, templates, threshold))
        metrics.update(versus_references(cfg, family, items, folds, scores))
        if ev.leakage_audit:
            metrics.update(leakage_audit_cv(cfg, family, items, folds, metrics))
        tracking.stage.mark("mlflow")
        mlflow.log_metrics(metrics)
        run_info.log_headline(cfg, metrics)
        _log_oof_predictions(items, raw, calibrated, (base, category), Path(tmp))
        mean_p = calibrated.mean(axis=0)
        bands = score_bands(y, calibrated, groups, metrics["base_rate"], metrics, ev.bootstrap_samples, cfg.seed)
        figures = evaluation_figures(
            y, raw.p, calibrated, f"{family.name} out-of-fold", cv_aurocs(metrics), bands, metrics["base_rate"]
        )
        tracking.log_figures(figures, "plots")
        categories = per_category_table(items.categories(), y, mean_p)
        _log_category_table(categories, "per_category_oof")
        if not headline_defined(metrics):
            raise UndefinedMetricsError(
                f"run {run.info.run_id}: out-of-fold metrics are undefined "
                f"({_undefined(metrics)}); no model was registered"
            )

        # The model that ships: refitted on every letter, with the calibrator fitted on all OOF
        # scores and the threshold chosen on the calibrated OOF predictions.
        tracking.stage.mark("refit")
        model = fit_packaged(cfg, family, items, None, Path(tmp) / "model", precedents=True)
        calibration = fit_calibration(ev.calibration, raw.p.ravel(), np.tile(y, ev.repeats))
        model.add_evaluation(metrics, "cv", len(np.unique(groups)), bands)
        model.finish(threshold, calibration)
        return _register(cfg, family, model, metrics, dsd, categories, threshold, calibration, registration)


def _reference_metrics(cfg: TrainConfig, y, references, groups) -> dict[str, float]:
    """The two reference predictors' OOF metrics: the base rate (at 0.5: it never flags) and the
    category rate (at its own max-F1 threshold)."""
    ev = cfg.evaluation
    base, category = references
    category_threshold = choose_threshold(np.tile(y, ev.repeats), category.ravel())
    out = {}
    for scores, threshold, prefix in (
        (OOFScores.constant_ranked(base, base), 0.5, cv_metrics.REF_BASE_RATE),
        (OOFScores.constant_ranked(category, base), category_threshold, cv_metrics.REF_CATEGORY),
    ):
        out.update(oof_metrics(y, scores, groups, threshold, ev.bootstrap_samples, cfg.seed, prefix))
    return out


def cv_aurocs(metrics: dict[str, float]) -> dict[str, float]:
    """The run's AUROC figures as its ROC plot names them (training.reporting.plots.roc_figure)."""
    names = {
        "pooled, raw scores (headline)": "cv_roc_auc",
        "within fold, raw scores (headline)": "cv_within_fold_roc_auc",
        "pooled, calibrated scores": "cv_calibrated_roc_auc",
    }
    return {name: metrics[key] for name, key in names.items() if key in metrics}


def _uncalibrated(y, p_raw, base) -> dict[str, float]:
    """Calibration metrics before calibration, to show what it changed."""
    values = [cv_metrics.probability_metrics(y, p, p, b) for p, b in zip(p_raw, base)]
    return {
        f"{cv_metrics.MODEL}uncalibrated_{k}": float(np.mean([v[k] for v in values]))
        for k in ("brier", "brier_skill", "ece", "mean_p")
    }


def _log_oof_predictions(items: Split, raw, p_calibrated, references, tmp: Path) -> None:
    """One row per item and repeat; p_calibrated is what serving would have answered (cross-fitted
    calibration, capped at the fold model's base rate when out of distribution); the two reference
    predictors' OOF probabilities on the same folds ride along for `imr compare --plot`. Bounded:
    every item of a corpus up to tracking.OOF_ITEMS_LOGGED items, else the items of a fixed sample
    of letters (tag oof_predictions_letters: `sample of N letters`)."""
    base, category = references
    keep = tracking.letter_sample(items.letter_ids)
    logged = items.select(keep)
    frames = [
        pd.DataFrame(
            {
                "letter_id": logged.letter_ids,
                "case_number": logged.rows["case_number"],
                "item_index": logged.rows["item_index"],
                "label": logged.y,
                "p_raw": raw.p[r, keep],
                "p_calibrated": p_calibrated[r, keep],
                "fold": raw.fold[r, keep],
                "repeat": r,
                "in_distribution": raw.in_distribution[r, keep],
                "p_ref_base_rate": base[r, keep],
                "p_ref_category": category[r, keep],
            }
        )
        for r in range(len(raw.p))
    ]
    path = tmp / "oof_predictions.parquet"
    pd.concat(frames, ignore_index=True).to_parquet(path, index=False)
    mlflow.log_artifact(str(path))
    letters = len(np.unique(logged.letter_ids))
    mlflow.set_tag("oof_predictions_letters", "all" if len(keep) == len(items) else f"sample of {letters}")


def _undefined(metrics: dict[str, float]) -> str:
    bad = [k for k, v in metrics.items() if k.startswith(cv_metrics.MODEL) and not np.isfinite(v)]
    return ", ".join(bad) or "missing"


# ---------------------------------------------------------------- one split (holdout studies)


def train_split(
    cfg: TrainConfig,
    family: Family,
    dsd,
    ingest_report: dict,
    registration: VersionRegistration,
    requested: TrainConfig | None = None,
) -> TrainResult:
    require_every_split(dsd, cfg.data)
    view = cfg.data.feature_view
    folder = cfg.data.dataset_path()
    splits = {name: Split.of(dsd[name], view, ItemSource.of({name: dsd[name]}, folder)) for name in dsd}
    empty = [name for name, s in splits.items() if not s.y.sum()]
    if empty:
        raise UndefinedMetricsError(
            f"split {', '.join(empty)} has no overturned item: AUROC, calibration and the "
            f"threshold would be undefined; use evaluation.mode: cv or other split fractions"
        )
    family.check_data(cfg, len(splits["train"]))
    with tracking.top_level_run(run_name(requested or cfg)) as run, tempfile.TemporaryDirectory() as tmp:
        log_run_inputs(cfg, family, ingest_report, dsd, requested)
        model = fit_packaged(cfg, family, splits["train"], splits["validation"], Path(tmp) / "model", precedents=True)
        raw_val = model.score(splits["validation"])
        calibration = fit_calibration(cfg.evaluation.calibration, raw_val, splits["validation"].y)
        model.finish(0.5, calibration)
        p_val = model.served(splits["validation"])
        threshold = choose_threshold(splits["validation"].y, p_val)
        model.finish(threshold, calibration)
        p_test = model.served(splits["test"])
        metrics = _split_metrics(cfg, splits, p_val, p_test, threshold)
        metrics.update(split_versus_references(cfg, family, splits, p_test, Path(tmp)))
        if cfg.evaluation.leakage_audit:
            metrics.update(leakage_audit_split(cfg, family, splits, metrics, Path(tmp)))
        mlflow.log_metrics(metrics)
        run_info.log_headline(cfg, metrics)
        test = splits["test"]
        bands = score_bands(
            test.y, p_test, test.letter_ids, metrics["base_rate"], metrics, cfg.evaluation.bootstrap_samples, cfg.seed
        )
        aurocs = {"test split (served probabilities)": metrics["test_roc_auc"]}
        figures = evaluation_figures(test.y, p_test, p_test, f"{family.name} test", aurocs, bands, metrics["base_rate"])
        tracking.log_figures(figures, "plots")
        categories = per_category_table(splits["test"].categories(), splits["test"].y, p_test)
        _log_category_table(categories, "per_category_test")
        if not all(np.isfinite(metrics[k]) for k in ("test_roc_auc", "test_pr_auc", "test_brier")):
            raise UndefinedMetricsError(f"run {run.info.run_id}: test metrics are undefined; nothing registered")
        model.add_evaluation(metrics, "split", len(np.unique(test.letter_ids)), bands)
        model.finish(threshold, calibration)
        return _register(cfg, family, model, metrics, dsd, categories, threshold, calibration, registration)


def _split_metrics(cfg, splits: dict[str, Split], p_val, p_test, threshold: float) -> dict[str, float]:
    test = splits["test"]
    metrics = {"threshold": threshold, "base_rate": float(splits["train"].y.mean())}
    metrics.update(binary_metrics(splits["validation"].y, p_val, threshold, "val_"))
    metrics.update(binary_metrics(test.y, p_test, threshold, "test_"))
    metrics["test_ece"] = adaptive_ece(test.y, p_test)
    metrics.update(letter_bootstrap_ci(test.y, p_test, test.letter_ids, cfg.evaluation.bootstrap_samples, cfg.seed))
    base = np.full(len(test), metrics["base_rate"])  # Brier skill against quoting the train split's rate
    metrics.update(
        brier_skill_ci(test.y, p_test, base, test.letter_ids, cfg.evaluation.bootstrap_samples, cfg.seed, "test_")
    )
    cats = {name: s.categories() for name, s in splits.items()}
    for ref in (AlwaysUpheld(), CategoryRate()):
        ref.fit(cats["train"], splits["train"].y)
        t = (
            0.5
            if isinstance(ref, AlwaysUpheld)
            else choose_threshold(splits["validation"].y, ref.predict_proba(cats["validation"]))
        )
        metrics.update(binary_metrics(test.y, ref.predict_proba(cats["test"]), t, f"{ref.name}_test_"))
    return metrics


# ---------------------------------------------------------------- shared


def _log_category_table(categories: pd.DataFrame, name: str) -> None:
    mlflow.log_table(categories, f"{name}.json")
    mlflow.log_text(markdown_table(categories), f"{name}.md")


def _register(
    cfg: TrainConfig,
    family: Family,
    model: PackagedModel,
    metrics: dict,
    dsd,
    categories,
    threshold: float,
    calibration: dict | None,
    registration: VersionRegistration,
) -> TrainResult:
    """Log what the version needs, then register it with its tags, complete it (model card, the
    model's description) and move the alias last; `registration` undoes all of it if the run fails."""
    tracking.stage.mark("mlflow")
    if calibration:
        mlflow.log_dict(calibration, "calibration.json")
    family.log_artifacts(model.model_dir)
    logged = log_packaged_model(model.model_dir)
    run = mlflow.MlflowClient().get_run(mlflow.active_run().info.run_id)
    tags = version_tags(cfg, family, metrics, run, manifest_sha256(model.model_dir))
    version = registration.create(logged.model_uri, run.info.run_id, tags)
    model_uri = f"models:/{cfg.mlflow.registered_model_name}/{version}"
    evaluation = read_evaluation(model.model_dir, dict.fromkeys(model.files))
    write_model_card(cfg, family.name, dsd, metrics, categories, model_uri, version, evaluation)
    describe_model(cfg, family, version)
    registration.move_alias()
    mlflow.set_tag(REGISTERED_MODEL_TAG, model_uri)
    append_note(f"**Registered** as `{model_uri}` (alias `{cfg.mlflow.alias}`).\n")
    return TrainResult(run.info.run_id, model_uri, version, threshold, metrics, logged.model_uri)
