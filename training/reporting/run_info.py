"""What a top-level run tells a reader in the MLflow UI besides its numbers: provenance tags, the
`Headline/` metrics (training.reporting.headline) and a description (`mlflow.note.content`, shown on the
run's page): what was trained, on which letters, how it was evaluated and its headline result.

The description holds counts, dates and digests only, never letter text.
"""

from __future__ import annotations

import math

import mlflow

from training.config import TrainConfig
from training.reporting.headline import headline_metrics, headline_tags
from training.reporting.provenance import source_tags

NOTE_TAG = "mlflow.note.content"


def corpus_facts(dsd) -> dict:
    """Letters, items, overturned items and the decision-date range of an ingested DatasetDict."""
    dates = sorted(d for split in dsd.values() for d in split["decision_date"] if d)
    items = sum(split.num_rows for split in dsd.values())
    overturned = int(sum(sum(split["label"]) for split in dsd.values()))
    return {
        "letters": len({lid for split in dsd.values() for lid in split["letter_id"]}),
        "items": items,
        "overturned": overturned,
        "rate": overturned / max(items, 1),
        "dates": f"{dates[0]} to {dates[-1]}" if dates else "unknown (no header dates)",
    }


def _protocol(cfg: TrainConfig) -> str:
    ev = cfg.evaluation
    if ev.mode == "cv":
        return (
            f"{ev.folds}-fold cross-validation by letter, {ev.repeats} repeat(s): every item scored by a model "
            f"that never saw its letter; {ev.calibration} calibration cross-fitted on the other folds; the "
            f"registered model is refitted on every letter"
            + (
                "; beside it, writer shift: the same cross-validation with one case-summary writer template "
                "held out per fold (`cv_writer_*`)"
                if ev.writer_shift
                else ""
            )
        )
    fractions = "/".join(f"{f:.0%}" for f in cfg.data.split_fractions)
    return (
        f"one train/validation/test split by letter ({fractions}); {ev.calibration} calibration and the "
        f"threshold on validation, test scored once"
    )


def introduction(cfg: TrainConfig, family, dsd, digest: str) -> str:
    c = corpus_facts(dsd)
    return (
        f"**{family.name}**: {family.describe(cfg)}.\n\n"
        f"**Data**: {c['letters']} letters, {c['items']} disputed items, {c['overturned']} overturned "
        f"({c['rate']:.1%}); decisions {c['dates']}; view `{cfg.data.feature_view}`; data digest `{digest}`.\n\n"
        f"**Evaluation**: {_protocol(cfg)}.\n"
    )


def _ci(m: dict, key: str, signed: bool = False) -> str:
    fmt = "{:+.3f}" if signed else "{:.3f}"
    value = m.get(key, math.nan)
    low, high = m.get(f"{key}_ci_low", math.nan), m.get(f"{key}_ci_high", math.nan)
    if not math.isfinite(value):
        return "undefined"
    if not (math.isfinite(low) and math.isfinite(high)):
        return fmt.format(value)
    return f"{fmt.format(value)} (95% CI {fmt.format(low)} to {fmt.format(high)})"


def headline_sentence(metrics: dict, mode: str) -> str:
    m = metrics
    if mode == "cv":
        text = (
            f"**Headline (out-of-fold)**: AUROC within fold {_ci(m, 'cv_within_fold_roc_auc')}, "
            f"pooled {_ci(m, 'cv_roc_auc')}, PR-AUC {_ci(m, 'cv_pr_auc')}, "
            f"Brier skill {_ci(m, 'cv_brier_skill')}, ECE {_ci(m, 'cv_ece')}; treatment-category reference "
            f"AUROC {_ci(m, 'ref_category_cv_roc_auc')}"
        )
        if "cv_writer_roc_auc" in m:
            text += (
                f"; under writer shift (a writer template held out per fold) AUROC within fold "
                f"{_ci(m, 'cv_writer_within_fold_roc_auc')}, pooled {_ci(m, 'cv_writer_roc_auc')}, "
                f"Brier skill {_ci(m, 'cv_writer_brier_skill')}"
            )
        if "cv_diff_vs_baseline_roc_auc" in m:
            text += f"; AUROC minus the default baseline's {_ci(m, 'cv_diff_vs_baseline_roc_auc', signed=True)}"
    else:
        text = (
            f"**Headline (test split)**: AUROC {_ci(m, 'test_roc_auc')}, PR-AUC {_ci(m, 'test_pr_auc')}, "
            f"Brier {_ci(m, 'test_brier')}, ECE {_ci(m, 'test_ece')}; treatment-category reference AUROC "
            f"{_ci(m, 'ref_category_test_roc_auc')}"
        )
        if "test_roc_auc_diff_vs_baseline" in m:
            text += f"; AUROC minus the default baseline's {_ci(m, 'test_roc_auc_diff_vs_baseline', signed=True)}"
    return text + ".\n"


def append_note(text: str) -> None:
    """Adds a paragraph to the active run's description."""
    run = mlflow.active_run()
    current = mlflow.MlflowClient().get_run(run.info.run_id).data.tags.get(NOTE_TAG, "")
    mlflow.set_tag(NOTE_TAG, f"{current}\n{text}" if current else text)


def start(cfg: TrainConfig, family, ingest_report: dict, dsd) -> None:
    """At the start of a top-level run: provenance tags and the description's first part."""
    tags = source_tags(ingest_report)
    mlflow.set_tags(tags)
    mlflow.set_tag(NOTE_TAG, introduction(cfg, family, dsd, tags["data_digest"]))


def log_headline(cfg: TrainConfig, metrics: dict[str, float]) -> None:
    """Once the metrics are logged: their headline copies, the headline figures as text with their
    intervals (tags) and the description's result."""
    mlflow.log_metrics(headline_metrics(metrics, cfg.evaluation.mode))
    mlflow.set_tags(headline_tags(metrics, cfg.evaluation.mode))
    append_note(headline_sentence(metrics, cfg.evaluation.mode))
