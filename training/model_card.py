"""MODEL_CARD.md for each registered version, logged as a run artifact and set as the version's
description in the registry."""

from __future__ import annotations

import math

import mlflow
import pandas as pd

from training.evaluation import markdown_table


def _ci(metrics: dict, name: str) -> str:
    value = metrics.get(f"test_{name}", math.nan)
    low, high = metrics.get(f"test_{name}_ci_low", math.nan), metrics.get(f"test_{name}_ci_high", math.nan)
    return f"{value:.3f} (95% CI {low:.3f}-{high:.3f})"


def model_card(cfg, family: str, dsd, metrics: dict, categories: pd.DataFrame, model_uri: str) -> str:
    dates = sorted(d for split in dsd.values() for d in split["decision_date"] if d)
    items = sum(split.num_rows for split in dsd.values())
    overturned = sum(sum(split["label"]) for split in dsd.values())
    letters = len({lid for split in dsd.values() for lid in split["letter_id"]})
    date_range = f"{dates[0]} to {dates[-1]}" if dates else "unknown (no header dates)"
    split_lines = "\n".join(
        f"| {name} | {len(set(ds['letter_id']))} | {ds.num_rows} | {sum(ds['label'])} |" for name, ds in dsd.items()
    )
    m = metrics
    return f"""# Model card: {model_uri}

## Model
- Family: {family}; feature view: `{cfg.data.feature_view}`; decision threshold {m['threshold']:.4f} (max F1 on validation)
- Post-hoc calibration: {cfg.evaluation.calibration} (fitted on validation only)
- Predicts P(IMR overturns the UR denial) for one disputed item.

## Data
- {letters} DWC IMR Final Determination Letters, {items} disputed items, {overturned} overturned ({overturned / max(items, 1):.1%}).
- Decision dates: {date_range}.
- Split by letter (seed {cfg.data.split_seed}, stratified on whether a letter has an overturned item):

| split | letters | items | overturned |
| --- | --- | --- | --- |
{split_lines}

## Test metrics (Overturned class)
- AUROC {_ci(m, 'roc_auc')}; PR-AUC {_ci(m, 'pr_auc')} (letter-level bootstrap)
- At the threshold: precision {m['test_precision']:.3f}, recall {m['test_recall']:.3f}, F1 {m['test_f1']:.3f}, accuracy {m['test_accuracy']:.3f}
- Calibration: Brier {m['test_brier']:.4f}, ECE (adaptive bins) {m['test_ece']:.4f}
- References: always-Upheld AUROC {m['ref_upheld_test_roc_auc']:.3f}, PR-AUC {m['ref_upheld_test_pr_auc']:.3f}; category rate AUROC {m['ref_category_test_roc_auc']:.3f}, PR-AUC {m['ref_category_test_pr_auc']:.3f}

## Per treatment category (test)
{markdown_table(categories)}
## Intended use
Triage support: flag disputed items whose denial IMR may overturn, before the request is
submitted, for a physician, attorney or claims administrator to review. Not a decision maker;
the IMR reviewer applies MTUS/ODG guidelines to the full medical record, which this model never sees.

## Limits
- Small corpus: a few hundred items and few dozen overturned, so the test set holds only a
  handful of overturned items and the confidence intervals above are wide.
- One quarter of decisions (the letters' decision dates); guidelines, reviewers and UR practice change over time.
- California workers' compensation IMR only; letters from MAXIMUS Federal Services in the
  2016-2017 layout. Other layouts are rejected by the parser.
- The case summary is written by the IMR reviewer; the `pre_decision` view uses it as the best
  available stand-in for the record a requester holds.
"""


def write_model_card(cfg, family, dsd, metrics, categories, model_uri: str, version: str) -> str:
    card = model_card(cfg, family, dsd, metrics, categories, model_uri)
    mlflow.log_text(card, "MODEL_CARD.md")
    mlflow.MlflowClient().update_model_version(cfg.mlflow.registered_model_name, version, description=card)
    return card
