"""Evaluation plots logged with each run: ROC, precision-recall, calibration, score bands.

The positive class is named "Overturned" on every axis (scikit-learn's displays would say
"Positive label: 1"), and figures use constrained layout so that no axis title is cut off when
saved (MLflow saves a figure as it is, without a tight bounding box)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display

import matplotlib.pyplot as plt
import numpy as np
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

POSITIVE = "Overturned"


def label_roc(ax) -> None:
    ax.set_xlabel("False positive rate (Upheld items flagged)")
    ax.set_ylabel(f"True positive rate ({POSITIVE} items found)")


def label_pr(ax) -> None:
    ax.set_xlabel(f"Recall ({POSITIVE})")
    ax.set_ylabel(f"Precision ({POSITIVE})")


def label_reliability(ax) -> None:
    ax.set_xlabel(f"Predicted P({POSITIVE})")
    ax.set_ylabel(f"Observed {POSITIVE} rate")


def mean_roc(y: np.ndarray, scores: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """True positive rate at each false positive rate of `grid`, averaged over the repeats (rows) of `scores`."""
    tprs = []
    for p in np.atleast_2d(scores):
        fpr, tpr, _ = skm.roc_curve(y, p)
        tprs.append(np.interp(grid, fpr, tpr))
    tpr = np.mean(tprs, axis=0)
    tpr[0] = 0.0
    return tpr


def roc_figure(y: np.ndarray, rank: np.ndarray, title: str, aurocs: dict[str, float]) -> plt.Figure:
    """The ROC curve of the ranking scores (averaged over repeats), labelled with the run's own AUROC
    figures, each named: the first is the curve's (the headline's pooled AUROC), the others are listed
    beside it (within fold, calibrated scores), so the plot never shows an unnamed number."""
    fig, ax = plt.subplots(figsize=(5.5, 5.5), layout="constrained")
    names = list(aurocs.items())
    if len(np.unique(y)) == 2 and names:
        grid = np.linspace(0, 1, 201)
        (first, value), rest = names[0], names[1:]
        ax.plot(grid, mean_roc(y, rank, grid), lw=2, label=f"{title}: AUROC {value:.3f}, {first}")
        for name, other in rest:
            ax.plot([], [], " ", label=f"AUROC {other:.3f}, {name}")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="chance (a coin): 0.5")
    label_roc(ax)
    ax.set_title(f"ROC, {POSITIVE} vs Upheld ({title})")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def bands_figure(bands: dict, base_rate: float, title: str) -> plt.Figure:
    """Each score band's observed overturn rate with its 95% CI, beside the base rate (what a served
    answer says about items scored like it; training.metrics.bands)."""
    fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    rows = bands["rows"]
    x = np.arange(len(rows))
    rates = np.array([r["observed_rate"] if r["observed_rate"] is not None else np.nan for r in rows])
    low = np.array([r["observed_ci_low"] if r["observed_ci_low"] is not None else np.nan for r in rows])
    high = np.array([r["observed_ci_high"] if r["observed_ci_high"] is not None else np.nan for r in rows])
    ax.errorbar(x, rates, yerr=[rates - low, high - rates], fmt="o", capsize=6, color="0.2", label="observed, 95% CI")
    ax.axhline(base_rate, color="k", ls="--", lw=0.8, label=f"base rate {base_rate:.3f}")
    ax.set_xticks(x, [f"{r['band']}\n{r['low']:.3f}-{r['high']:.3f}\n{r['items']} items" for r in rows])
    ax.set_ylabel(f"Observed {POSITIVE} rate")
    shown = (
        "answers may name a band" if bands["skill_supported"] else "skill not supported: every answer says about usual"
    )
    ax.set_title(f"Score bands ({title})\n{shown}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def evaluation_figures(
    y: np.ndarray,
    rank: np.ndarray,
    prob: np.ndarray,
    title: str,
    aurocs: dict[str, float],
    bands: dict | None = None,
    base_rate: float | None = None,
) -> dict[str, plt.Figure]:
    """ROC (of `rank`, the ranking scores, repeats x items), precision-recall (its first repeat),
    calibration (of `prob`, the served probabilities, every repeat pooled) and, given the run's score
    bands and the base rate they are measured against, their observed overturn rates. There is no
    confusion matrix: no answer is a decision at a tuned threshold."""
    rank, prob = np.atleast_2d(rank), np.atleast_2d(prob)
    figs = {"roc.png": roc_figure(y, rank, title, aurocs)}
    repeat = " (raw scores, repeat 1)" if len(rank) > 1 else ""

    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    if y.sum():
        skm.PrecisionRecallDisplay.from_predictions(y, rank[0], ax=ax, name=f"{title}{repeat}", pos_label=1)
    ax.axhline(y.mean() if len(y) else 0, color="k", ls="--", lw=0.8, label=f"{POSITIVE} prevalence")
    label_pr(ax)
    ax.set_title(f"Precision-recall, {POSITIVE} ({title})")
    ax.legend(loc="upper right")
    figs["precision_recall.png"] = fig

    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    if len(y):
        frac, mean_p = calibration_curve(np.tile(y, len(prob)), prob.ravel(), n_bins=5, strategy="quantile")
        ax.plot(mean_p, frac, "o-", label=title)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
    label_reliability(ax)
    ax.set_title(f"Calibration ({title})")
    ax.legend()
    figs["calibration.png"] = fig
    if bands is not None and base_rate is not None:
        figs["bands.png"] = bands_figure(bands, base_rate, title)
    return figs
