"""The paired differences of a run against its family's reference models (the default baseline for a
transformer, the members for an ensemble) on the same folds or split: `<prefix>diff_vs_<name>_*`,
`test_roc_auc_diff_vs_<name>`."""

from __future__ import annotations

from pathlib import Path

from training.config import with_model
from training.data.splits import Split
from training.families.packaging import fit_packaged
from training.families.registry import Family, family_of
from training.metrics import out_of_fold as cv_metrics
from training.metrics.bootstrap import paired_bootstrap_auc_diff
from training.metrics.out_of_fold import OOFScores, paired_difference
from training.run.cross_validation import out_of_fold


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
