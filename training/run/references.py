"""What a cross-validated run measures besides its own letter folds: the writer-shift protocol
(one case-summary writer template held out per fold, `cv_writer_*`) and the paired differences
against the family's reference models (`<prefix>diff_vs_<name>_*`, `test_roc_auc_diff_vs_<name>`)."""

from __future__ import annotations

from pathlib import Path

import mlflow

from training.config import with_model
from training.data.folds import Fold
from training.data.splits import Split
from training.families.packaging import fit_packaged
from training.families.registry import Family, family_of
from training.metrics import out_of_fold as cv_metrics
from training.metrics.bootstrap import paired_bootstrap_auc_diff
from training.metrics.out_of_fold import OOFScores, oof_metrics, paired_difference
from training.run.cross_validation import out_of_fold


def writer_shift(cfg, family: Family, items: Split, folds: list[Fold], templates, threshold) -> dict[str, float]:
    """The same family under leave-one-writer-template-out folds, as `cv_writer_*` (at the letter
    folds' threshold, which is the one that ships); its fold runs nest in one `writer-shift` run
    with the folds' make-up (counts only). `cv_writer_within_fold_roc_auc` ranks within each
    held-out writer, without the shift between the folds' models."""
    ev, y = cfg.evaluation, items.y
    with mlflow.start_run(run_name="writer-shift", nested=True):
        mlflow.set_tag("stage", "writer_shift")
        held_out = {
            str(f.index): {
                "templates": sorted({templates[i] for i in f.test}),
                "letters": len(set(items.letter_ids[f.test])),
                "items": len(f.test),
                "overturned": int(y[f.test].sum()),
            }
            for f in folds
        }
        mlflow.log_dict(held_out, "writer_folds.json")
        raw = out_of_fold(cfg, family, items, folds, label="writer-shift")
        scores = raw.scores(ev.calibration)
        # The reference models' writer-shift folds nest here too, beside the family's own.
        references = versus_references(cfg, family, items, folds, scores, prefix=cv_metrics.WRITER)
    out = oof_metrics(y, scores, items.letter_ids, threshold, ev.bootstrap_samples, cfg.seed, cv_metrics.WRITER)
    out[f"{cv_metrics.WRITER}within_fold_roc_auc"] = cv_metrics.within_fold_roc_auc(y, raw.p, raw.fold)
    return out | references


def versus_references(
    cfg, family: Family, items: Split, folds, scores: OOFScores, prefix: str = cv_metrics.MODEL
) -> dict[str, float]:
    """Paired difference against each of the family's reference models (the default baseline for a
    transformer, the members for an ensemble) on the same folds and items: `<prefix>diff_vs_<name>_*`."""
    ev = cfg.evaluation
    out: dict[str, float] = {}
    for name, model in family.references(cfg).items():
        ref_cfg = with_model(cfg, model)
        label = f"reference-{name}" + ("" if prefix == cv_metrics.MODEL else f"-{prefix.strip('_')}")
        raw = out_of_fold(ref_cfg, family_of(ref_cfg), items, folds, label=label)
        out.update(
            paired_difference(
                items.y,
                scores,
                raw.scores(ev.calibration),
                items.letter_ids,
                ev.bootstrap_samples,
                cfg.seed,
                f"{prefix}diff_vs_{name}_",
            )
        )
    return out


def split_versus_references(cfg, family: Family, splits: dict[str, Split], p_test, tmp: Path) -> dict[str, float]:
    """AUROC minus each reference model's on the test split, both fitted on the same train split."""
    out: dict[str, float] = {}
    test = splits["test"]
    for name, model in family.references(cfg).items():
        ref_cfg = with_model(cfg, model)
        reference = fit_packaged(ref_cfg, family_of(ref_cfg), splits["train"], None, tmp / f"reference-{name}")
        out.update(
            paired_bootstrap_auc_diff(
                test.y,
                p_test,
                reference.score(test),
                test.letter_ids,
                cfg.evaluation.bootstrap_samples,
                cfg.seed,
                prefix=f"test_roc_auc_diff_vs_{name}",
            )
        )
    return out
