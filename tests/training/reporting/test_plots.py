"""The evaluation plots every run logs (training.reporting.plots): the positive class is named Overturned on
the axes (not scikit-learn's "Positive label: 1"), the ROC plot names every AUROC it shows (the curve's is
the headline's), the score bands are drawn against the base rate, there is no confusion matrix at a tuned
threshold, and no axis title is cut off when saved."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

AUROCS = {"pooled, raw scores (headline)": 0.712, "within fold, raw scores (headline)": 0.745, "calibrated": 0.6}
NAMES = ("roc.png", "precision_recall.png", "calibration.png", "bands.png")


@pytest.fixture(scope="module")
def figures():
    from training.metrics.bands import score_bands
    from training.reporting.plots import evaluation_figures

    rng = np.random.default_rng(0)
    y = np.array([0] * 40 + [1] * 10)
    rank = 0.1 + 0.3 * y + rng.normal(0, 0.15, (2, len(y)))
    prob = np.clip(rank, 0.01, 0.99)
    groups = np.arange(len(y)) // 2
    bands = score_bands(y, prob, groups, 0.2, {}, 50, 0)
    figs = evaluation_figures(y, rank, prob, "baseline out-of-fold", AUROCS, bands, 0.2)
    yield figs, y, rank
    import matplotlib.pyplot as plt

    for fig in figs.values():
        plt.close(fig)


def test_the_positive_class_is_named_overturned(figures):
    figs, _, _ = figures
    for name in ("roc.png", "precision_recall.png", "calibration.png"):
        ax = figs[name].axes[0]
        labels = f"{ax.get_xlabel()} | {ax.get_ylabel()}"
        assert "Overturned" in labels, (name, labels)
        assert "label: 1" not in labels and "Positive label" not in labels, (name, labels)
    assert "Overturned" in figs["roc.png"].axes[0].get_title()
    assert set(figs) == set(NAMES)  # no confusion matrix: no answer is a decision at a tuned threshold


def test_the_roc_plot_names_every_auroc_it_shows(figures):
    figs, y, rank = figures
    ax = figs["roc.png"].axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == [
        "baseline out-of-fold: AUROC 0.712, pooled, raw scores (headline)",
        "AUROC 0.745, within fold, raw scores (headline)",
        "AUROC 0.600, calibrated",
    ]
    assert not any("AUC =" in t for t in legend)  # scikit-learn's unnamed label
    # the curve drawn is the repeats' mean ROC of the ranking scores, whose area is close to their mean AUROC
    x, tpr = ax.lines[0].get_data()
    assert np.trapezoid(tpr, x) == pytest.approx(np.mean([skm.roc_auc_score(y, r) for r in rank]), abs=0.02)


def test_the_bands_are_drawn_against_the_base_rate(figures):
    figs, _, _ = figures
    ax = figs["bands.png"].axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert [t.split("\n")[0] for t in ticks] == ["lower than usual", "about usual", "higher than usual"]
    assert any(t.get_text() == "base rate 0.200" for t in ax.get_legend().get_texts())


@pytest.mark.parametrize("name", NAMES)
def test_no_label_or_title_is_cut_off(figures, name, tmp_path):
    """Every axis label, title and tick label lies inside the saved canvas (MLflow saves the figure
    as it is, without a tight bounding box)."""
    fig = figures[0][name]
    fig.savefig(tmp_path / name)  # lays the figure out as MLflow's log_figure does
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)  # the axes with its labels, title, tick labels and legend
        assert box.x0 >= canvas.x0 - 0.5 and box.x1 <= canvas.x1 + 0.5, (name, box, canvas)
        assert box.y0 >= canvas.y0 - 0.5 and box.y1 <= canvas.y1 + 0.5, (name, box, canvas)
