"""MODEL_CARD.md for each registered version, logged as a run artifact and set as the version's
description in the registry."""

from __future__ import annotations

import math

import mlflow
import pandas as pd

from serving.answer import trust_sentence
from training.families.family import RunFacts
from training.markdown import markdown_table
from training.reporting.run_info import corpus_facts


def _ci(metrics: dict, key: str) -> str:
    value = metrics.get(key, math.nan)
    low, high = metrics.get(f"{key}_ci_low", math.nan), metrics.get(f"{key}_ci_high", math.nan)
    return f"{value:.3f} (95% CI {low:.3f}-{high:.3f})"


def _cv_section(cfg, m: dict) -> str:
    ev = cfg.evaluation
    lines = [
        f"## Out-of-fold metrics ({ev.folds}-fold cross-validation by letter, {ev.repeats} repeat(s), every letter)",
        (
            "Each item is scored by a model that never saw its letter; calibration is cross-fitted (the calibrator "
            "applied to a fold never saw it). CIs resample whole letters."
        ),
        "",
        "| predictor | AUROC (95% CI) | PR-AUC (95% CI) | Brier | Brier skill (95% CI) | log loss | ECE | mean p |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    writer = [("this model, writer shift", "cv_writer_")] if "cv_writer_roc_auc" in m else []
    for label, prefix in (
        ("this model", "cv_"),
        *writer,
        ("base rate", "ref_base_rate_cv_"),
        ("category rate (smoothed)", "ref_category_cv_"),
    ):
        g = lambda k, prefix=prefix: m.get(f"{prefix}{k}", math.nan)
        lines.append(
            f"| {label} | {_ci(m, prefix + 'roc_auc')} | {_ci(m, prefix + 'pr_auc')} | {g('brier'):.4f} | "
            f"{_ci(m, prefix + 'brier_skill')} | {g('log_loss'):.4f} | {g('ece'):.4f} | {g('mean_p'):.3f} |"
        )
    lines += [
        "",
        *(
            [
                (
                    "- Writer shift: the same cross-validation with one case-summary writer template (how the IMR "
                    "reviewer's summary opens and names the worker) held out per fold, so each item is scored by a "
                    "model that never saw its writer, as a request scored before submission has none."
                )
            ]
            if writer
            else []
        ),
        (
            f"- AUROC within fold (pairs of items held out in the same fold, ranked by one model): "
            f"{_ci(m, 'cv_within_fold_roc_auc')}"
            + (f"; under writer shift {_ci(m, 'cv_writer_within_fold_roc_auc')}" if writer else "")
            + ". The table's AUROC pools every fold's scores."
        ),
        (
            f"- Observed overturn rate {m['base_rate']:.3f}; before calibration the mean OOF probability was "
            f"{m.get('cv_uncalibrated_mean_p', math.nan):.3f} (ECE {m.get('cv_uncalibrated_ece', math.nan):.3f})."
        ),
    ]
    return "\n".join(lines) + "\n"


def _split_section(m: dict) -> str:
    return f"""## Test metrics (Overturned class, one held-out split)
- AUROC {_ci(m, "test_roc_auc")}; PR-AUC {_ci(m, "test_pr_auc")} (letter-level bootstrap)
- Calibration: Brier {m["test_brier"]:.4f}, Brier skill {_ci(m, "test_brier_skill")}, ECE (adaptive bins) \
{m["test_ece"]:.4f}
- References: always-Upheld AUROC {m["ref_upheld_test_roc_auc"]:.3f}; category rate AUROC \
{m["ref_category_test_roc_auc"]:.3f}, PR-AUC {m["ref_category_test_pr_auc"]:.3f}
"""


def run_facts(metrics: dict) -> RunFacts:
    """The active run's params, tags and logged metrics (the family's own, e.g. onnx_*, beside
    `metrics`), and the metrics of the nested runs its `*_run_id` params name."""
    run = mlflow.active_run()
    if run is None:
        return RunFacts(metrics=dict(metrics))
    client = mlflow.MlflowClient()
    data = client.get_run(run.info.run_id).data
    linked = {
        key.removesuffix("_run_id"): client.get_run(value).data.metrics
        for key, value in data.params.items()
        if key.endswith("_run_id")
    }
    return RunFacts({**data.metrics, **metrics}, dict(data.params), dict(data.tags), linked)


def answer_section(evaluation: dict | None) -> str:
    """How far to trust the model and how its answers are worded (serving.answer), from the packaged
    evaluation: the same sentence and bands the page, `imr predict` and the HTTP API give."""
    if not evaluation:
        return ""
    lines = ["## How far to trust it", trust_sentence(evaluation) or "No figures were packaged.", ""]
    bands = evaluation.get("bands")
    if bands:
        lines += [
            "## What an answer says",
            "No decision: the calibrated probability beside the base rate, and its band. Bands are fixed on the "
            "out-of-fold probabilities (tertiles, moved out to the base rate); an answer names a band other than "
            "`about usual` only when the lower 95% bound of the within-fold AUROC is above 0.5 under both letter "
            "folds and writer shift, and the band's observed overturn rate's 95% CI excludes the base rate. "
            f"Here: {bands['skill']}.",
            "",
            "| band | probabilities | decided items | overturned | observed rate (95% CI) | answers name it |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in bands["rows"]:
            rate = "n/a" if row["observed_rate"] is None else f"{row['observed_rate']:.3f}"
            if row["observed_ci_low"] is not None:
                rate += f" ({row['observed_ci_low']:.3f}-{row['observed_ci_high']:.3f})"
            named = "yes" if row["shown"] else "no"  # training.metrics.bands: shown only where the rule holds
            lines.append(
                f"| {row['band']} | {row['low']:.3f}-{row['high']:.3f} | {row['items']} | {row['overturned']} | "
                f"{rate} | {named} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def model_card(
    cfg,
    family: str,
    dsd,
    metrics: dict,
    categories: pd.DataFrame,
    model_uri: str,
    facts: RunFacts | None = None,
    evaluation: dict | None = None,
) -> str:
    from training.families.registry import FAMILIES

    corpus = corpus_facts(dsd)
    letters, items, overturned, date_range = corpus["letters"], corpus["items"], corpus["overturned"], corpus["dates"]
    family_section = FAMILIES[family].card_section(cfg, facts or RunFacts(metrics=dict(metrics)))
    m = metrics
    cv = cfg.evaluation.mode == "cv"
    fitted_on = "all letters (refitted after cross-validation)" if cv else "the train split"
    calibrated_on = "all out-of-fold scores" if cv else "validation only"
    section = _cv_section(cfg, m) if cv else _split_section(m)
    scope = "out-of-fold, all letters" if cv else "test"
    return f"""# Model card: {model_uri}

## Model
- Family: {family}; feature view: `{cfg.data.feature_view}`; fitted on {fitted_on}
- Post-hoc calibration: {cfg.evaluation.calibration} (fitted on {calibrated_on}); `p_overturned` is calibrated
- Predicts P(IMR overturns the UR denial) for one disputed item; no decision (there is no default threshold).

## Data
- {letters} DWC IMR Final Determination Letters, {items} disputed items, {overturned} overturned \
({overturned / max(items, 1):.1%}).
- Decision dates: {date_range}.

{answer_section(evaluation)}
{section}
{family_section}
## Per treatment category ({scope})
{markdown_table(categories)}
## Intended use
Triage support: flag disputed items whose denial IMR may overturn, before the request is
submitted, for a physician, attorney or claims administrator to review. Not a decision maker;
the IMR reviewer applies MTUS/ODG guidelines to the full medical record, which this model never sees.

## Limits
- Small corpus: a few hundred items and a few dozen overturned, so the confidence intervals
  above are wide; read the interval, not the point estimate.
- One quarter of decisions (the letters' decision dates); guidelines, reviewers and UR practice change over time.
- California workers' compensation IMR only; letters from MAXIMUS Federal Services in the
  2016-2017 layout. Other layouts are rejected by the parser.
- The case summary is written by the IMR reviewer; the `pre_decision` view uses it as the best
  available stand-in for the record a requester holds.
"""


def write_model_card(cfg, family, dsd, metrics, categories, model_uri: str, version: str, evaluation=None) -> str:
    card = model_card(cfg, family, dsd, metrics, categories, model_uri, run_facts(metrics), evaluation)
    mlflow.log_text(card, "MODEL_CARD.md")
    mlflow.MlflowClient().update_model_version(cfg.mlflow.registered_model_name, version, description=card)
    return card
