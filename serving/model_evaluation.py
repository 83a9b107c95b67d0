"""How far to trust a packaged model: its headline evaluation, shipped in the package.

    model_dir/evaluation.json   {"protocol": "cv" | "split", "roc_auc", "roc_auc_ci_low",
                                 "roc_auc_ci_high", "pr_auc", "brier_skill", "ece", "base_rate"}

Written by training (training/run/train.py) from the same metrics as the model card, listed with its
sha256 in imr_model.json like every model file, and shown by the page at `/` beside each score.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

EVALUATION_FILE = "evaluation.json"
HEADLINE = ("roc_auc", "roc_auc_ci_low", "roc_auc_ci_high", "pr_auc", "brier_skill", "ece")


def write_evaluation(model_dir: Path, metrics: Mapping[str, float], protocol: str) -> str:
    """Write the headline metrics (`cv_*` in cross-validation, `test_*` in split mode); returns the
    file's name for the manifest. Undefined values (NaN) are written as null."""
    prefix = "cv_" if protocol == "cv" else "test_"
    values = {name: metrics.get(f"{prefix}{name}") for name in HEADLINE}
    body = {
        "protocol": protocol,
        "base_rate": metrics.get("base_rate"),
        **{k: (None if v is None or not math.isfinite(v) else round(float(v), 4)) for k, v in values.items()},
    }
    (model_dir / EVALUATION_FILE).write_text(json.dumps(body, indent=2))
    return EVALUATION_FILE


def read_evaluation(model_dir: Path, files: Mapping[str, str]) -> dict | None:
    """The (hash-verified) evaluation, or None for a model packaged without one."""
    return json.loads((model_dir / EVALUATION_FILE).read_text()) if EVALUATION_FILE in files else None
