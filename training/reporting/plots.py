"""Evaluation plots logged with each run: ROC, precision-recall, calibration, confusion matrix.

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


def evaluation_figures(y: np.ndarray, p: np.ndarray, threshold: float, title: str) -> dict[str, plt.Figure]:
    figs = {}
    both = len(np.unique(y)) == 2

    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    if both:
        skm.RocCurveDisplay.from_predictions(y, p, ax=ax, name=title, pos_label=1)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="chance")
    label_roc(ax)
    ax.set_title(f"ROC, {POSITIVE} vs Upheld ({title})")
    ax.legend(loc="lower right")
    figs["roc.png"] = fig

    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    if y.sum():
        skm.PrecisionRecallDisplay.from_predictions(y, p, ax=ax, name=title, pos_label=1)
    ax.axhline(y.mean() if len(y) else 0, color="k", ls="--", lw=0.8, label=f"{POSITIVE} prevalence")
    label_pr(ax)
    ax.set_title(f"Precision-recall, {POSITIVE} ({title})")
    ax.legend(loc="upper right")
    figs["precision_recall.png"] = fig

    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    if len(y):
        frac, mean_p = calibration_curve(y, p, n_bins=5, strategy="quantile")
        ax.plot(mean_p, frac, "o-", label=title)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
    label_reliability(ax)
    ax.set_title(f"Calibration ({title})")
    ax.legend()
    figs["calibration.png"] = fig

    fig, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
    skm.ConfusionMatrixDisplay.from_predictions(
        y, (p >= threshold).astype(int), labels=[0, 1], display_labels=["Upheld", POSITIVE], ax=ax, colorbar=False
    )
    ax.set_xlabel("Predicted decision")
    ax.set_ylabel("IMR decision")
    ax.set_title(f"Confusion at threshold {threshold:.3f}")
    figs["confusion_matrix.png"] = fig
    return figs
