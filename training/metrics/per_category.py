"""The model beside each treatment category: items, overturn rate and AUROC per category."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm


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
