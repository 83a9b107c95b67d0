"""The forest chart `imr promote` logs: every candidate's within-fold AUROC and Brier skill, each with its
95% CI, under letter folds and under writer shift, on one figure, with chance (0.5) and the base rate
(Brier skill 0) marked, and the champion named."""

from __future__ import annotations

import math

import numpy as np

from training.metrics.out_of_fold import MODEL, WRITER
from training.metrics.within_fold import NAME as WITHIN_FOLD
from training.reporting.plots import plt

PROTOCOLS = ((MODEL, "letter folds", "o", "0.15"), (WRITER, "writer shift", "s", "0.55"))
PANELS = (
    (WITHIN_FOLD, "AUROC within fold (95% CI)", 0.5, "a coin: 0.5"),
    ("brier_skill", "Brier skill (95% CI)", 0.0, "quoting the base rate: 0"),
)


def _interval(m: dict[str, float], key: str) -> tuple[float, float, float]:
    return tuple(m.get(k, math.nan) for k in (key, f"{key}_ci_low", f"{key}_ci_high"))


def forest_figure(candidates, champion) -> plt.Figure:
    """`candidates`: training.reporting.champion.Candidate, drawn top to bottom in the order given."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 1.8 + 0.9 * len(candidates)), layout="constrained", sharey=True)
    y = np.arange(len(candidates))[::-1].astype(float)
    labels = [f"{c.name} v{c.version} ({c.family})" + (" - champion" if c is champion else "") for c in candidates]
    for ax, (metric, title, reference, reference_label) in zip(axes, PANELS):
        for offset, (prefix, protocol, marker, colour) in zip((0.15, -0.15), PROTOCOLS):
            points = np.array([_interval(c.metrics, f"{prefix}{metric}") for c in candidates], dtype=float)
            value, low, high = points.T if len(points) else (np.empty(0),) * 3
            ax.errorbar(
                value,
                y + offset,
                xerr=[value - low, high - value],
                fmt=marker,
                color=colour,
                capsize=4,
                label=protocol,
            )
        ax.axvline(reference, color="k", ls="--", lw=0.8, label=reference_label)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8, frameon=False)
    axes[0].set_yticks(y, labels)
    axes[0].set_ylim(-0.6, len(candidates) - 0.4)
    fig.suptitle("Candidates for champion: out-of-fold figures with 95% CIs over letters")
    return fig
