"""Out-of-fold (OOF) predictions and their honest calibration.

Every item's raw OOF score comes from a model that never saw its letter. Cross-fitted
calibration keeps that true after calibration: the calibrator applied to fold k of a repeat is
fitted on the raw OOF scores of the repeat's other folds only.
"""

from __future__ import annotations

import numpy as np

from serving.calibration import apply_calibration, fit_calibration


def cross_fitted_calibration(p_raw: np.ndarray, y: np.ndarray, fold: np.ndarray, method: str) -> np.ndarray:
    """Calibrated OOF probabilities for one repeat; `fold` is each item's fold index."""
    p_raw, y, fold = np.asarray(p_raw, dtype=float), np.asarray(y), np.asarray(fold)
    out = np.empty_like(p_raw)
    for k in np.unique(fold):
        held, rest = fold == k, fold != k
        out[held] = apply_calibration(fit_calibration(method, p_raw[rest], y[rest]), p_raw[held])
    return out
