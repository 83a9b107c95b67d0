"""How sure a test number is: letter-level bootstrap CIs, calibration error, per-category table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from training.metrics.bootstrap import RankedScores, letter_bootstrap, percentile_interval


def letter_bootstrap_ci(y, p, groups, samples: int, seed: int, prefix: str = "test_") -> dict[str, float]:
    """95% percentile intervals of AUROC and PR-AUC, resampling letters (not items: the items of a
    letter share a case and are not independent). Resamples with a single class are skipped."""
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    ranked = RankedScores.of(y, p)
    draws = letter_bootstrap(
        y, groups, samples, seed, lambda w: {"roc_auc": ranked.roc_auc(w), "pr_auc": ranked.average_precision(w)}
    )
    out = {}
    for name, values in draws.items():
        out[f"{prefix}{name}_ci_low"], out[f"{prefix}{name}_ci_high"] = percentile_interval(values)
    out[f"{prefix}bootstrap_resamples_used"] = float(len(draws["roc_auc"]))
    return out


def adaptive_ece(y, p, bins: int = 10) -> float:
    """Expected calibration error with equal-count bins (fixed-width bins would leave most of a
    rare class's predictions in the first bin)."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if len(y) == 0:
        return math.nan
    order = np.argsort(p, kind="stable")
    ece = 0.0
    for chunk in np.array_split(order, min(bins, len(y))):
        if len(chunk):
            ece += len(chunk) / len(y) * abs(y[chunk].mean() - p[chunk].mean())
    return float(ece)


def per_category_table(categories, y, p) -> pd.DataFrame:
    """Items, overturn rate and the model's AUROC (where both classes occur) per treatment category."""
    frame = pd.DataFrame({"category": categories, "y": np.asarray(y), "p": np.asarray(p, dtype=float)})
    rows = []
    for category, group in frame.groupby("category", sort=True):
        both = group["y"].nunique() == 2
        rows.append(
            {
                "category": category,
                "items": len(group),
                "overturned": int(group["y"].sum()),
                "overturn_rate": round(float(group["y"].mean()), 4),
                "mean_p_overturned": round(float(group["p"].mean()), 4),
                "roc_auc": round(float(skm.roc_auc_score(group["y"], group["p"])), 4) if both else None,
            }
        )
    return pd.DataFrame(rows).sort_values(["items", "category"], ascending=[False, True], ignore_index=True)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-style table (pandas' to_markdown needs the optional tabulate package)."""

    def cell(v) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"
