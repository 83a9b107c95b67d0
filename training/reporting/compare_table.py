"""`imr compare`: the tracked runs of an experiment side by side, best first."""

from __future__ import annotations

import csv
import io
import json
import math

import mlflow

from training.reporting.headline import FAMILY_TAG

COLUMNS = [
    "run_id",
    "run_name",
    "family",
    "view",
    "mode",
    "params",
    "auroc",  # pooled over folds (cv) or the test split
    "auroc_ci",
    "auroc_within_fold",  # cv: pairs held out in the same fold only (training.metrics.within_fold)
    "auroc_within_fold_ci",
    "pr_auc",
    "pr_auc_ci",
    "f1",
    "brier",
    "brier_skill",
    "ece",
    "writer_auroc",  # cv_writer_*: a case-summary writer template held out per fold
    "writer_auroc_ci",
    "writer_auroc_within_fold",
    "writer_auroc_within_fold_ci",
    "writer_brier_skill",
    "ref_category_auroc",
]


def _fmt(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.3f}"


def _ci(low, high) -> str:
    return "" if low is None or math.isnan(low) else f"{low:.3f}-{high:.3f}"


def _key_params(family: str, params: dict[str, str]) -> str:
    from training.families.registry import FAMILIES

    keys = [*FAMILIES[family].key_params, "evaluation.calibration"] if family in FAMILIES else []
    return " ".join(f"{k.removeprefix('model.')}={params[k]}" for k in keys if k in params)


def run_rows(experiment: str) -> list[dict]:
    """One row per finished top-level run (fold and domain-adaptation runs are nested and left
    out; failed and running ones too)."""
    from serving.store import open_store

    uri = open_store()
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        raise LookupError(f"no experiment {experiment!r} in {uri}")
    rows = []
    for run in mlflow.MlflowClient().search_runs([exp.experiment_id], max_results=1000):
        tags, m, params = run.data.tags, run.data.metrics, run.data.params
        # runs logged before the family tag had its name carry it as model_family
        family = tags.get(FAMILY_TAG) or tags.get("model_family")
        if run.info.status != "FINISHED" or "mlflow.parentRunId" in tags or family is None:
            continue
        cv = tags.get("evaluation_mode") == "cv"
        get = lambda name, m=m: m.get(name, math.nan)
        rows.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "family": family,
                "view": tags.get("feature_view", ""),
                "mode": tags.get("evaluation_mode", "split"),
                "params": _key_params(family, params),
                "auroc": get("cv_roc_auc" if cv else "test_roc_auc"),
                "auroc_ci": _ci(
                    get("cv_roc_auc_ci_low" if cv else "test_roc_auc_ci_low"),
                    get("cv_roc_auc_ci_high" if cv else "test_roc_auc_ci_high"),
                ),
                "auroc_within_fold": get("cv_within_fold_roc_auc"),
                "auroc_within_fold_ci": _ci(
                    get("cv_within_fold_roc_auc_ci_low"), get("cv_within_fold_roc_auc_ci_high")
                ),
                "pr_auc": get("cv_pr_auc" if cv else "test_pr_auc"),
                "pr_auc_ci": _ci(
                    get("cv_pr_auc_ci_low" if cv else "test_pr_auc_ci_low"),
                    get("cv_pr_auc_ci_high" if cv else "test_pr_auc_ci_high"),
                ),
                "f1": get("cv_f1" if cv else "test_f1"),
                "brier": get("cv_brier" if cv else "test_brier"),
                "brier_skill": get("cv_brier_skill"),
                "ece": get("cv_ece" if cv else "test_ece"),
                "writer_auroc": get("cv_writer_roc_auc"),
                "writer_auroc_ci": _ci(get("cv_writer_roc_auc_ci_low"), get("cv_writer_roc_auc_ci_high")),
                "writer_auroc_within_fold": get("cv_writer_within_fold_roc_auc"),
                "writer_auroc_within_fold_ci": _ci(
                    get("cv_writer_within_fold_roc_auc_ci_low"), get("cv_writer_within_fold_roc_auc_ci_high")
                ),
                "writer_brier_skill": get("cv_writer_brier_skill"),
                "ref_category_auroc": get("ref_category_cv_roc_auc" if cv else "ref_category_test_roc_auc"),
            }
        )
    rows.sort(key=lambda r: (math.isnan(r["auroc"]), -r["auroc"] if not math.isnan(r["auroc"]) else 0))
    return rows


def render(rows: list[dict], fmt: str) -> str:
    if fmt == "json":
        clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]
        return json.dumps(clean, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    # COLUMNS without the id and the view, params last (the widest cell)
    shown = [c for c in COLUMNS if c not in ("run_id", "view", "params")] + ["params"]
    cells = [
        [
            r["run_name"],
            r["family"],
            r["mode"],
            _fmt(r["auroc"]),
            r["auroc_ci"],
            _fmt(r["auroc_within_fold"]),
            r["auroc_within_fold_ci"],
            _fmt(r["pr_auc"]),
            r["pr_auc_ci"],
            _fmt(r["f1"]),
            _fmt(r["brier"]),
            _fmt(r["brier_skill"]),
            _fmt(r["ece"]),
            _fmt(r["writer_auroc"]),
            r["writer_auroc_ci"],
            _fmt(r["writer_auroc_within_fold"]),
            r["writer_auroc_within_fold_ci"],
            _fmt(r["writer_brier_skill"]),
            _fmt(r["ref_category_auroc"]),
            r["params"],
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(shown)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()  # noqa: E731
    return "\n".join([line(shown), line(["-" * w for w in widths]), *(line(c) for c in cells)]) + "\n"
