"""Post-hoc probability calibration, fitted on validation and stored as plain numbers in
imr_model.json (no pickled estimator), applied by every scorer after the raw model output."""

from __future__ import annotations

from typing import Any

import numpy as np

_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def fit_calibration(method: str, p: np.ndarray, y: np.ndarray) -> dict[str, Any] | None:
    """{"method": "isotonic", "x": [...], "y": [...]} or {"method": "sigmoid", "a", "b"}; None for "none"."""
    if method == "none":
        return None
    if len(np.unique(y)) < 2:
        raise ValueError(f"cannot fit {method} calibration: validation has a single class")
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
        return {"method": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    if method == "sigmoid":  # Platt scaling on the logit of the model's probability
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e6).fit(_logit(p).reshape(-1, 1), y)
        a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        if a <= 0:
            # Scores that go down as the overturn rate goes up: a calibrator must never reverse the
            # model's ranking, so say the only thing the data supports, the observed rate.
            a, b = 0.0, float(_logit(np.array([np.mean(y)]))[0])
        return {"method": "sigmoid", "a": a, "b": b}
    raise ValueError(f"unknown calibration method {method!r}; expected none, isotonic or sigmoid")


def apply_calibration(spec: dict[str, Any] | None, p: np.ndarray) -> np.ndarray:
    if spec is None:
        return p
    if spec["method"] == "isotonic":
        return np.interp(p, spec["x"], spec["y"])
    if spec["method"] == "sigmoid":
        return 1.0 / (1.0 + np.exp(-(spec["a"] * _logit(p) + spec["b"])))
    raise ValueError(f"unknown calibration method {spec['method']!r} in the model; expected isotonic or sigmoid")
