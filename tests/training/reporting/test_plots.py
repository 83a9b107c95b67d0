"""The evaluation plots every run logs (training.reporting.plots): the positive class is named Overturned on
the axes (not scikit-learn's "Positive label: 1") and no axis title is cut off when saved."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def figures():
    from training.reporting.plots import evaluation_figures

    rng = np.random.default_rng(0)
    y = np.array([0] * 40 + [1] * 10)
    p = np.clip(0.1 + 0.3 * y + rng.normal(0, 0.15, len(y)), 0.01, 0.99)
    figs = evaluation_figures(y, p, 0.3, "baseline out-of-fold")
    yield figs
    import matplotlib.pyplot as plt

    for fig in figs.values():
        plt.close(fig)


def test_the_positive_class_is_named_overturned(figures):
    for name in ("roc.png", "precision_recall.png", "calibration.png"):
        ax = figures[name].axes[0]
        labels = f"{ax.get_xlabel()} | {ax.get_ylabel()}"
        assert "Overturned" in labels, (name, labels)
        assert "label: 1" not in labels and "Positive label" not in labels, (name, labels)
    assert "Overturned" in figures["roc.png"].axes[0].get_title()
    ticks = [t.get_text() for t in figures["confusion_matrix.png"].axes[0].get_xticklabels()]
    assert ticks == ["Upheld", "Overturned"]


@pytest.mark.parametrize("name", ["roc.png", "precision_recall.png", "calibration.png", "confusion_matrix.png"])
def test_no_label_or_title_is_cut_off(figures, name, tmp_path):
    """Every axis label, title and tick label lies inside the saved canvas (MLflow saves the figure
    as it is, without a tight bounding box)."""
    fig = figures[name]
    fig.savefig(tmp_path / name)  # lays the figure out as MLflow's log_figure does
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)  # the axes with its labels, title, tick labels and legend
        assert box.x0 >= canvas.x0 - 0.5 and box.x1 <= canvas.x1 + 0.5, (name, box, canvas)
        assert box.y0 >= canvas.y0 - 0.5 and box.y1 <= canvas.y1 + 0.5, (name, box, canvas)
