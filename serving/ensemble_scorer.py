"""Scores items with an ensemble package: each member's own packaged model, combined by `combiner.json`.

    model_dir/
      imr_model.json          family "ensemble"; lists (and hashes) every file below
      combiner.json           members, their logits' mean and scale, weights, intercept
      members/<family>/...    each member's packaged folder, with its own imr_model.json

The raw score is sigmoid(intercept + sum_i w_i (logit(p_i) - mean_i) / scale_i), p_i member i's raw
probability; the package's calibration (serving.calibration, as for any family) turns it into the
answer (training.families.ensemble says how each number is fitted).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serving.model_dir import ModelMeta, require_listed

COMBINER_FILE = "combiner.json"
MEMBERS_DIR = "members"
_EPS = 1e-6


def member_logits(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def combine(spec: Mapping[str, Any], p: np.ndarray) -> np.ndarray:
    """The ensemble's raw score from its members' raw probabilities `p` (items x members)."""
    z = (member_logits(p) - np.asarray(spec["mean"])) / np.asarray(spec["scale"])
    return 1.0 / (1.0 + np.exp(-(spec["intercept"] + z @ np.asarray(spec["coef"]))))


class EnsembleScorer:
    def __init__(self, model_dir: Path, meta: ModelMeta, backend: str | None, load_scorer: Callable):
        """`load_scorer` opens each member's folder (serving.scorers.load_scorer: its hashes checked again)."""
        require_listed(model_dir, meta, COMBINER_FILE)
        self.meta = meta
        self.spec = json.loads((model_dir / COMBINER_FILE).read_text())
        self.members = []
        for name in self.spec["members"]:
            require_listed(model_dir, meta, f"{MEMBERS_DIR}/{name}/imr_model.json")
            self.members.append(load_scorer(model_dir / MEMBERS_DIR / name, backend))

    def member_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """items x members: each member's raw probability."""
        return np.column_stack([m.predict_proba(records) for m in self.members])

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return combine(self.spec, self.member_proba(records)) if len(records) else np.empty(0)
