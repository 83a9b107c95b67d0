"""How far predicted probabilities are from observed rates: expected calibration error."""

from __future__ import annotations

import math

import numpy as np


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
