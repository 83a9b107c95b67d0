"""Evaluation plots logged with each run: ROC, precision-recall, calibration, confusion matrix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display

import matplotlib.pyplot as plt
import numpy as np
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve


def evaluation_figures(y: np.ndarray, p: np.ndarray, threshold: float, title: str) -> dict[str, plt.Figure]:
    figs = {}
    both = len(np.unique(y)) == 2

    fig, ax = plt.subplots(figsize=(5, 5))
    if both:
        skm.RocCurveDisplay.from_predictions(y, p, ax=ax, name=title)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_title(f"ROC ({title})")
    figs["roc.png"] = fig

    fig, ax = plt.subplots(figsize=(5, 5))
    if y.sum():
        skm.PrecisionRecallDisplay.from_predictions(y, p, ax=ax, name=title)
    ax.axhline(y.mean() if len(y) else 0, color="k", ls="--", lw=0.8, label="prevalence")
    ax.set_title(f"Precision-recall, Overturned ({title})")
    figs["precision_recall.png"] = fig

    fig, ax = plt.subplots(figsize=(5, 5))
    if len(y):
        frac, mean_p = calibration_curve(y, p, n_bins=5, strategy="quantile")
        ax.plot(mean_p, frac, "o-", label=title)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
    ax.set_xlabel("predicted P(overturned)")
    ax.set_ylabel("observed overturn rate")
    ax.set_title(f"Calibration ({title})")
    ax.legend()
    figs["calibration.png"] = fig

    fig, ax = plt.subplots(figsize=(5, 4))
    skm.ConfusionMatrixDisplay.from_predictions(
        y, (p >= threshold).astype(int), labels=[0, 1], display_labels=["Upheld", "Overturned"], ax=ax, colorbar=False
    )
    ax.set_title(f"Confusion at threshold {threshold:.3f}")
    figs["confusion_matrix.png"] = fig
    return figs
