"""`imr compare --plot FILE`: the chosen runs' out-of-fold ROC, precision-recall and reliability
curves in one figure, beside the two reference predictors on the same folds.

Each run's curves come from its logged `oof_predictions.parquet` (cross-validation runs). Ranking
curves read the raw OOF scores (`p_raw`), averaged over repeats at fixed false-positive rates
(ROC) or recall levels (PR), as the logged AUROC and PR-AUC are; the reliability curve reads the
cross-fitted calibrated probabilities serving would have answered (`p_calibrated`), pooled over
repeats. The legend gives each run's logged headline value with its 95% CI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from training.reporting.plots import POSITIVE, label_pr, label_reliability, label_roc

OOF_ARTIFACT = "oof_predictions.parquet"
GRID = np.linspace(0, 1, 201)
REFERENCES = {"p_ref_category": "category rate (reference)", "p_ref_base_rate": "base rate (reference)"}


class PlotError(LookupError):
    """A run to plot cannot be found or has no out-of-fold predictions."""


@dataclass
class Curves:
    label: str
    oof: pd.DataFrame  # the rows of oof_predictions.parquet
    auroc: str  # legend text of the discrimination metrics
    pr_auc: str
    score: str = "p_raw"
    prob: str = "p_calibrated"


def _repeats(oof: pd.DataFrame, column: str) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(g["label"].to_numpy(), g[column].to_numpy(dtype=float)) for _, g in oof.groupby("repeat")]


def mean_roc(oof: pd.DataFrame, column: str) -> np.ndarray:
    from sklearn.metrics import roc_curve

    tprs = []
    for y, p in _repeats(oof, column):
        fpr, tpr, _ = roc_curve(y, p)
        tprs.append(np.interp(GRID, fpr, tpr))
    tpr = np.mean(tprs, axis=0)
    tpr[0] = 0.0
    return tpr


def mean_pr(oof: pd.DataFrame, column: str) -> np.ndarray:
    """Interpolated precision (the best precision at this recall or more), averaged over repeats."""
    from sklearn.metrics import precision_recall_curve

    precisions = []
    for y, p in _repeats(oof, column):
        precision, recall, _ = precision_recall_curve(y, p)
        best = np.maximum.accumulate(precision)  # recall decreases along the arrays
        precisions.append(np.interp(GRID, recall[::-1], best[::-1]))
    return np.mean(precisions, axis=0)


def reliability(oof: pd.DataFrame, column: str, bins: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(mean predicted, observed rate) in equal-count bins of all repeats' predictions."""
    from sklearn.calibration import calibration_curve

    frac, mean_p = calibration_curve(oof["label"], oof[column].astype(float), n_bins=bins, strategy="quantile")
    return mean_p, frac


def _mean_metric(oof: pd.DataFrame, column: str, metric) -> float:
    values = [metric(y, p) for y, p in _repeats(oof, column) if len(np.unique(y)) == 2]
    return float(np.mean(values)) if values else math.nan


def reference_curves(oof: pd.DataFrame) -> list[Curves]:
    """The reference predictors of the run's folds; the base rate is recomputed from the folds for
    runs logged before the reference columns were added (the category needs the logged column)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    oof = oof.copy()
    if "p_ref_base_rate" not in oof:
        for (r, k), index in oof.groupby(["repeat", "fold"]).groups.items():
            rest = (oof["repeat"] == r) & (oof["fold"] != k)
            oof.loc[index, "p_ref_base_rate"] = oof.loc[rest, "label"].mean()
    out = []
    for column, label in REFERENCES.items():
        if column in oof:
            auroc = _mean_metric(oof, column, roc_auc_score)
            pr_auc = _mean_metric(oof, column, average_precision_score)
            out.append(Curves(label, oof, f"AUROC {auroc:.3f}", f"PR-AUC {pr_auc:.3f}", column, column))
    return out


def comparison_figure(runs: list[Curves], references: list[Curves]):
    import matplotlib.pyplot as plt

    fig, (roc_ax, pr_ax, cal_ax) = plt.subplots(1, 3, figsize=(18, 6.5), layout="constrained")
    styles = [{"lw": 2}] * len(runs) + [{"lw": 1.2, "ls": "--", "color": c} for c in ("0.35", "0.6")]
    for curves, style in zip([*runs, *references], styles):
        roc_ax.plot(GRID, mean_roc(curves.oof, curves.score), label=f"{curves.label}: {curves.auroc}", **style)
        pr_ax.plot(GRID, mean_pr(curves.oof, curves.score), label=f"{curves.label}: {curves.pr_auc}", **style)
        mean_p, frac = reliability(curves.oof, curves.prob)
        cal_ax.plot(mean_p, frac, marker="o", ms=4, label=curves.label, **style)
    roc_ax.plot([0, 1], [0, 1], color="k", lw=0.6, ls=":", label="chance")
    prevalence = float(runs[0].oof["label"].mean()) if runs else 0.0
    pr_ax.axhline(prevalence, color="k", lw=0.6, ls=":", label=f"{POSITIVE} prevalence {prevalence:.3f}")
    top = max([0.05, *(float(c.oof[c.prob].max()) for c in [*runs, *references])])
    cal_ax.plot([0, top], [0, top], color="k", lw=0.6, ls=":", label="perfect calibration")
    label_roc(roc_ax)
    label_pr(pr_ax)
    label_reliability(cal_ax)
    roc_ax.set_title(f"ROC, {POSITIVE} vs Upheld (out-of-fold)")
    pr_ax.set_title(f"Precision-recall, {POSITIVE} (out-of-fold)")
    cal_ax.set_title("Reliability (cross-fitted calibration)")
    for ax in (roc_ax, pr_ax, cal_ax):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False)
        ax.grid(alpha=0.3)
    fig.suptitle("Runs compared on their out-of-fold predictions (95% CI over letters)")
    return fig


def _load_oof(run_id: str) -> pd.DataFrame | None:
    import mlflow
    from mlflow.exceptions import MlflowException

    from serving.store import quiet_local_artifact_bars

    quiet_local_artifact_bars()
    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=OOF_ARTIFACT)
    except (MlflowException, OSError):
        return None
    return pd.read_parquet(path)


def select_rows(rows: list[dict], wanted: list[str]) -> list[dict]:
    """The rows named (run name or run id) in the order given; every row when none is named."""
    if not wanted:
        return rows
    chosen = []
    for key in wanted:
        match = [r for r in rows if key in (r["run_name"], r["run_id"])]
        if not match:
            raise PlotError(f"no finished top-level run named {key!r} (imr compare lists them)")
        chosen.extend(m for m in match if m not in chosen)
    return chosen


def build_figure(rows: list[dict], wanted: list[str]):
    """(figure, run names plotted, run names skipped because they have no out-of-fold predictions:
    split-mode runs; only when no run was named, else that is an error)."""
    runs, skipped = [], []
    for row in select_rows(rows, wanted):
        oof = _load_oof(row["run_id"])
        if oof is None:
            if wanted:
                raise PlotError(f"run {row['run_name']!r} has no {OOF_ARTIFACT} (only cross-validation runs do)")
            skipped.append(row["run_name"])
            continue
        ci = f" ({row['auroc_ci']})" if row.get("auroc_ci") else ""
        pr_ci = f" ({row['pr_auc_ci']})" if row.get("pr_auc_ci") else ""
        runs.append(Curves(row["run_name"], oof, f"AUROC {row['auroc']:.3f}{ci}", f"PR-AUC {row['pr_auc']:.3f}{pr_ci}"))
    if not runs:
        raise PlotError("no run with out-of-fold predictions to plot")
    return comparison_figure(runs, reference_curves(runs[0].oof)), [r.label for r in runs], skipped


def write_plot(rows: list[dict], wanted: list[str], out: Path) -> tuple[list[str], list[str]]:
    """Writes the figure (format from the file suffix); returns (plotted, skipped) as build_figure."""
    import matplotlib.pyplot as plt

    fig, plotted, skipped = build_figure(rows, wanted)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return plotted, skipped
