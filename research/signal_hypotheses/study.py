"""Which signal generalizes across letters? Nested cross-validation of each hypothesis of issue 9.

    .venv/bin/python -m research.signal_hypotheses [--repeats N] [--out FILE.md] [--bootstrap B]

Outer folds: `training.data.folds.item_folds` by letter (5 folds x N repeats). Every hyperparameter
(C, block weights, min_df, the stacker's weights) is chosen by grouped inner CV inside each outer
training set only. Each item's outer out-of-fold probability is calibrated with cross-fitted Platt
scaling per repeat; metrics are those of every training run (training.metrics.out_of_fold: AUROC and
PR-AUC on the raw OOF scores, Brier skill, log loss and ECE on the calibrated ones), computed on
the pooled OOF of a repeat and averaged over repeats.
Each hypothesis is compared with the reference (the current default baseline) on the same folds:
the paired difference in AUROC and Brier skill with a 95% letter-bootstrap interval (the same
resampled letters for both models, the difference averaged over repeats inside each resample).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from research.signal_hypotheses.models import VARIANTS, Variant, WriterTemplate, combination
from training.data.folds import item_folds
from training.markdown import markdown_table
from training.metrics.binary import choose_threshold
from training.metrics.out_of_fold import OOFScores, oof_metrics, paired_difference
from training.metrics.within_fold import within_fold_roc_auc
from training.run.cross_fitted_calibration import cross_fitted_calibration

INNER_FOLDS = 4
EXPERIMENT = "imr-hypotheses"


def load_frame() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(model-input frame with letter context, labels, letter keys) for every bundled letter."""
    from features.views import model_inputs
    from research.signal_hypotheses.request_features import add_letter_context
    from training.config import DataConfig
    from training.data.loading import load_splits

    dsd, _ = load_splits(DataConfig())
    rows = pd.concat([dsd[s].to_pandas() for s in dsd], ignore_index=True)
    keys = rows["case_number"].where(rows["case_number"].notna() & (rows["case_number"] != ""), rows["letter_id"])
    frame = pd.DataFrame([model_inputs(r) for r in rows.to_dict("records")])
    frame = frame.astype({"treatment_category": object, "patient_sex": object})
    frame = add_letter_context(frame, keys.astype(str).tolist())
    return frame, rows["label"].to_numpy(dtype=int), keys.astype(str).to_numpy()


def inner_cv(seed: int) -> StratifiedGroupKFold:
    return StratifiedGroupKFold(n_splits=INNER_FOLDS, shuffle=True, random_state=seed)


def fit_predict(variant: Variant, X_tr, y_tr, g_tr, X_te, seed: int) -> tuple[np.ndarray, dict]:
    """Outer-test probabilities; hyperparameters picked by inner grouped CV (AUROC) on the outer train."""
    if variant.custom is not None:
        return variant.custom(X_tr, y_tr, g_tr, X_te, seed)
    estimator, grid = variant.build()
    if not grid:
        return estimator.fit(X_tr, y_tr).predict_proba(X_te)[:, 1], {}
    search = GridSearchCV(estimator, grid, scoring="roc_auc", cv=inner_cv(seed), refit=True, error_score="raise")
    search.fit(X_tr, y_tr, groups=g_tr)
    return search.predict_proba(X_te)[:, 1], search.best_params_


@dataclass
class Result:
    name: str
    scores: OOFScores  # raw OOF scores (ranking), cross-fitted calibrated ones, fold base rates
    fold_of: np.ndarray  # (repeats, items) outer fold index
    chosen: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def run_variant(variant: Variant, frame, y, keys, folds, repeats: int) -> Result:
    start = time.time()
    p_raw, base = np.zeros((repeats, len(y))), np.zeros((repeats, len(y)))
    fold_of = np.zeros((repeats, len(y)), dtype=int)
    chosen: Counter = Counter()
    for f in folds:
        p, best = fit_predict(
            variant, frame.iloc[f.train], y[f.train], keys[f.train], frame.iloc[f.test], seed=f.repeat * 100 + f.index
        )
        p_raw[f.repeat, f.test] = p
        base[f.repeat, f.test] = y[f.train].mean()
        fold_of[f.repeat, f.test] = f.index
        chosen[str(best)] += 1
    p_cal = np.stack([cross_fitted_calibration(p_raw[r], y, fold_of[r], "sigmoid") for r in range(repeats)])
    return Result(variant.name, OOFScores.of(p_raw, p_cal, base), fold_of, chosen, time.time() - start)


def stratified_auc(y, p, strata) -> float:
    """AUROC counting only (overturned, upheld) pairs in the same stratum (training.metrics.within_fold,
    the one definition). Strata = outer folds removes the between-fold shifts of pooled OOF scores;
    strata = fold x summary-writer template also removes who wrote the letter, i.e. the ranking a model
    keeps under a change of writers."""
    return within_fold_roc_auc(y, p, strata)


def summary_metrics(res: Result, y, keys, writer, samples: int) -> dict[str, float]:
    """The run's own OOF metrics (training.metrics.out_of_fold: AUROC on raw scores, probability metrics on
    the cross-fitted calibrated ones), plus AUROC within fold and within fold x writer template."""
    s = res.scores
    threshold = choose_threshold(np.tile(y, len(s.prob)), s.prob.ravel())
    out = oof_metrics(y, s, keys, threshold, samples, 0, "cv_")
    out["cv_roc_auc_within_fold"] = float(np.mean([stratified_auc(y, p, f) for p, f in zip(s.rank, res.fold_of)]))
    out["cv_roc_auc_within_writer"] = float(
        np.mean([stratified_auc(y, p, f * 10 + writer) for p, f in zip(s.rank, res.fold_of)])
    )
    return out


def paired_differences(res: Result, ref: Result, y, keys, samples: int, seed: int = 0) -> dict[str, float]:
    """Variant minus reference, AUROC and Brier skill, averaged over repeats; 95% letter-bootstrap CIs."""
    return paired_difference(y, res.scores, ref.scores, keys, samples, seed, "diff_")


def log_mlflow(variant: Variant, res: Result, metrics: dict, args, n_letters: int) -> None:
    import mlflow

    with mlflow.start_run(run_name=variant.name):
        mlflow.log_params(
            {
                "hypothesis": variant.hypothesis,
                "description": variant.description[:500],
                "grid": str(variant.grid_description)[:500],
                "outer_folds": 5,
                "repeats": args.repeats,
                "inner_folds": INNER_FOLDS,
                "inner_scoring": "roc_auc",
                "calibration": "sigmoid cross-fitted",
                "bootstrap_samples": args.bootstrap,
                "letters": n_letters,
                "most_chosen": str(res.chosen.most_common(1)[0][0])[:500],
            }
        )
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)} | {"seconds": res.seconds})


def table(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    for name in ("diff_roc_auc", "diff_brier_skill"):
        frame[name.replace("diff_", "Δ ")] = [
            ""
            if r["name"] == "ref_default"
            else f"{r[name]:+.3f} [{r[name + '_ci_low']:+.3f}, {r[name + '_ci_high']:+.3f}]"
            for r in rows
        ]
    cols = {
        "name": "variant",
        "hypothesis": "hyp",
        "cv_roc_auc": "AUROC",
        "cv_brier_skill": "Brier skill",
        "cv_log_loss": "log loss",
        "cv_ece": "ECE",
        "cv_roc_auc_within_fold": "AUROC within fold",
        "cv_roc_auc_within_writer": "AUROC within writer",
        "Δ roc_auc": "Δ AUROC [95% CI]",
        "Δ brier_skill": "Δ Brier skill [95% CI]",
        "most_chosen": "most chosen (inner CV)",
    }
    return markdown_table(frame[list(cols)].rename(columns=cols))


def supported(metrics: dict) -> bool:
    """A hypothesis joins the combination only when the outer folds favour it on both ranking and
    probability quality (point estimates; the CIs are reported, and with 36 overturned items few exclude 0)."""
    return metrics["diff_roc_auc"] > 0 and metrics["diff_brier_skill"] > 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("outputs/hypotheses.md"))
    parser.add_argument("--only", nargs="*", help="variant names to run (the reference always runs)")
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args(argv)

    frame, y, keys = load_frame()
    writer = WriterTemplate().transform(frame).argmax(1)
    folds = item_folds(list(keys), list(y), folds=5, repeats=args.repeats, seed=0)
    print(
        f"{len(np.unique(keys))} letters, {len(y)} items, {int(y.sum())} overturned; {len(folds)} outer folds",
        flush=True,
    )
    if not args.no_mlflow:
        from training.reporting.experiment import open_experiment

        open_experiment(EXPERIMENT)
    variants = [v for v in VARIANTS if v.name == "ref_default" or not args.only or v.name in args.only]
    results: dict[str, Result] = {}
    rows: list[dict] = []

    def evaluate(variant: Variant) -> dict:
        res = run_variant(variant, frame, y, keys, folds, args.repeats)
        results[variant.name] = res
        metrics = summary_metrics(res, y, keys, writer, args.bootstrap)
        metrics |= paired_differences(res, results["ref_default"], y, keys, args.bootstrap)
        row = {
            "name": variant.name,
            "hypothesis": variant.hypothesis,
            **metrics,
            "most_chosen": res.chosen.most_common(1)[0][0] if res.chosen else "",
        }
        rows.append(row)
        print(
            f"{variant.name:28s} AUROC {metrics['cv_roc_auc']:.3f} BSS {metrics['cv_brier_skill']:+.3f} "
            f"ECE {metrics['cv_ece']:.3f} fold {metrics['cv_roc_auc_within_fold']:.3f} "
            f"writer {metrics['cv_roc_auc_within_writer']:.3f} dAUC {metrics['diff_roc_auc']:+.3f} "
            f"[{metrics['diff_roc_auc_ci_low']:+.3f},{metrics['diff_roc_auc_ci_high']:+.3f}] "
            f"dBSS {metrics['diff_brier_skill']:+.3f} ({res.seconds:.0f}s) {row['most_chosen']}",
            flush=True,
        )
        if not args.no_mlflow:
            log_mlflow(variant, res, metrics, args, len(np.unique(keys)))
        return metrics

    wins = []
    for variant in variants:
        metrics = evaluate(variant)
        if variant.combinable and supported(metrics):
            wins.append(variant.name)
    if not args.only:
        evaluate(combination(wins))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"Nested CV over letters: {len(np.unique(keys))} letters, {len(y)} items, {int(y.sum())} overturned; "
        f"5 outer folds x {args.repeats} repeats (item_folds seed 0), inner StratifiedGroupKFold({INNER_FOLDS}) "
        f"AUROC; sigmoid cross-fitted calibration; Δ = variant - ref_default, 95% CI from {args.bootstrap} "
        f"letter-bootstrap resamples. Combination of supported hypotheses: "
        f"{'not run (--only)' if args.only else ', '.join(wins) or 'none'}.\n\n"
    )
    args.out.write_text(header + table(rows))
    print(f"wrote {args.out}")
