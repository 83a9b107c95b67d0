"""The writer-shift protocol of a cross-validated run: one case-summary writer template held out per
fold (training.data.folds.writer_folds), logged as `cv_writer_*` beside the letter folds' `cv_*`."""

from __future__ import annotations

import mlflow

from training.data.folds import Fold
from training.data.splits import Split
from training.families.registry import Family
from training.metrics import out_of_fold as cv_metrics
from training.metrics.out_of_fold import oof_metrics
from training.metrics.within_fold import within_fold_metrics
from training.run.cross_validation import out_of_fold
from training.run.references import versus_references


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
    groups = items.letter_ids
    out.update(within_fold_metrics(y, raw.p, raw.fold, groups, ev.bootstrap_samples, cfg.seed, cv_metrics.WRITER))
    return out | references
