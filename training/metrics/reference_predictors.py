"""The reference predictors every run is compared with: the base rate (always Upheld at 0.5) and the
treatment category's overturn rate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


class AlwaysUpheld:
    """Predicts the train overturn rate for every item, so it always says Upheld at 0.5."""

    name = "ref_upheld"

    def fit(self, categories: Sequence[str], y: Sequence[int]) -> AlwaysUpheld:
        self.rate = float(np.mean(y)) if len(y) else 0.0
        return self

    def predict_proba(self, categories: Sequence[str]) -> np.ndarray:
        return np.full(len(categories), self.rate)


class CategoryRate:
    """The overturn rate of the item's treatment category in train, smoothed toward the overall
    rate as if each category had `prior_items` more items at that rate: a category seen twice
    must not score 0 or 1 (an unseen one gets the overall rate)."""

    name = "ref_category"

    def __init__(self, prior_items: float = 10.0):
        self.prior_items = prior_items

    def fit(self, categories: Sequence[str], y: Sequence[int]) -> CategoryRate:
        counts: dict[str, list[int]] = defaultdict(list)
        for c, label in zip(categories, y):
            counts[c].append(int(label))
        self.overall = float(np.mean(y)) if len(y) else 0.0
        m = self.prior_items
        self.rates = {c: (sum(v) + m * self.overall) / (len(v) + m) for c, v in counts.items()}
        return self

    def predict_proba(self, categories: Sequence[str]) -> np.ndarray:
        return np.array([self.rates.get(c, self.overall) for c in categories])
