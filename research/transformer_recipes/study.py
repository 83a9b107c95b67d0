"""Which transformer recipe for a few hundred items? Nested CV of fine_tune, frozen_encoder and setfit (issue 18).

    .venv/bin/python -m research.transformer_recipes [--only RECIPE ...] [--store DIR] [--out FILE.md]
        [--set key=value ...]

Outer folds: `training.data.folds.item_folds` by letter (5 folds x --repeats, seed 0), the same folds for
every recipe and for the default TF-IDF baseline (the reference). Each fold's model is fitted by the
family's own `fit` and scored by serving's scorer (training.run.cross_validation.out_of_fold, as in a
training run); the only data-driven choice, the logistic head's C (frozen_encoder, setfit), is made
by grouped inner CV on the outer training letters (training.families.transformer.encoder_head). The fine_tune and setfit
encoder settings are the configs' fixed values, not tuned. Each recipe's raw OOF scores are kept in
--store (one .npz per recipe, no pickle), so recipes can run in separate processes and the report
is written from whatever the store holds. Metrics as in research.signal_hypotheses: training.metrics.out_of_fold on raw
(ranking) and cross-fitted sigmoid-calibrated (probability) scores, paired differences with 95%
letter-bootstrap intervals against fine_tune and against the baseline.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from training.config import TrainConfig, with_model
from training.config_loading import load_config
from training.data.folds import item_folds
from training.data.loading import load_splits
from training.data.splits import Split, all_items
from training.families.baseline import BaselineModelConfig
from training.families.registry import family_of
from training.markdown import markdown_table
from training.metrics.binary import choose_threshold
from training.metrics.out_of_fold import MODEL, oof_metrics, paired_difference
from training.metrics.within_fold import within_fold_roc_auc
from training.run.cross_validation import OutOfFold, out_of_fold

RECIPES = ("fine_tune", "frozen_encoder", "setfit")
BASELINE = "baseline"
EXPERIMENT = "imr-recipes"
TIE = 0.01  # AUROC within this of the best is a tie (pre-registered rule, `winner`)


def recipe_config(cfg: TrainConfig, name: str) -> TrainConfig:
    """cfg with `model.recipe` = name (no ONNX export: folds never ship), or the default baseline."""
    if name == BASELINE:
        return with_model(cfg, BaselineModelConfig())
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"recipe": name, "export_onnx": False})})


def run_recipe(cfg: TrainConfig, name: str, items: Split, folds, store: Path) -> None:
    """OOF scores of one recipe on the folds, with its seconds per fold and the head C each fold chose."""
    rcfg = recipe_config(cfg, name)
    start = time.time()
    with mlflow.start_run(run_name=f"recipe-{name}") as run:
        oof = out_of_fold(rcfg, family_of(rcfg), items, folds, label=name)
    seconds = (time.time() - start) / len(folds)
    children = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    chosen = sorted(children.get("params.head_C", pd.Series(dtype=str)).dropna().tolist())
    save_recipe(store, name, oof, seconds, chosen)
    print(f"{name}: {seconds:.0f} s per fold", flush=True)


def save_recipe(store: Path, name: str, oof: OutOfFold, seconds_per_fold: float, head_c: list[str]) -> None:
    np.savez(
        store / f"{name}.npz",
        p=oof.p,
        fold=oof.fold,
        in_distribution=oof.in_distribution,
        base_rate=oof.base_rate,
        labels=oof.labels,
        seconds_per_fold=seconds_per_fold,
        head_c=np.asarray(head_c, dtype=str),
    )


def load_recipe(store: Path, name: str) -> tuple[OutOfFold, float, list[str]]:
    with np.load(store / f"{name}.npz", allow_pickle=False) as z:
        oof = OutOfFold(z["p"], z["fold"], z["in_distribution"], z["base_rate"], z["labels"])
        return oof, float(z["seconds_per_fold"]), z["head_c"].tolist()


def summary(cfg, items: Split, results: dict, samples: int) -> list[dict]:
    """One row per recipe: its OOF metrics and its paired differences to fine_tune and the baseline."""
    y, groups, calibration = items.y, items.letter_ids, cfg.evaluation.calibration
    scores = {name: oof.scores(calibration) for name, (oof, _, _) in results.items()}
    rows = []
    for name, (oof, seconds, head_c) in results.items():
        s = scores[name]
        threshold = choose_threshold(np.tile(y, len(s.prob)), s.prob.ravel())
        row = {"name": name, "seconds_per_fold": seconds, "head_c": ", ".join(head_c)}
        row |= oof_metrics(y, s, groups, threshold, samples, cfg.seed, MODEL)
        row["cv_within_fold_roc_auc"] = within_fold_roc_auc(y, oof.p, oof.fold)
        for ref in ("fine_tune", BASELINE):
            if ref in scores and ref != name:
                row |= paired_difference(y, s, scores[ref], groups, samples, cfg.seed, f"diff_vs_{ref}_")
        rows.append(row)
    return rows


def winner(rows: list[dict]) -> str:
    """The pre-registered rule among the transformer recipes: best mean AUROC; recipes within TIE of
    the best are tied, and the tie goes to the best Brier skill, then the shortest fit time."""
    recipes = [r for r in rows if r["name"] in RECIPES]
    best = max(r["cv_roc_auc"] for r in recipes)
    tied = [r for r in recipes if r["cv_roc_auc"] >= best - TIE]
    return min(tied, key=lambda r: (-round(r["cv_brier_skill"], 3), r["seconds_per_fold"]))["name"]


def _ci(row: dict, key: str, signed: bool = False) -> str:
    if key not in row:
        return ""
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(row[key])} [{f.format(row[key + '_ci_low'])}, {f.format(row[key + '_ci_high'])}]"


def table(rows: list[dict]) -> str:
    frame = pd.DataFrame(
        {
            "recipe": [r["name"] for r in rows],
            "AUROC [95% CI]": [_ci(r, "cv_roc_auc") for r in rows],
            "PR-AUC": [f"{r['cv_pr_auc']:.3f}" for r in rows],
            "Brier skill [95% CI]": [_ci(r, "cv_brier_skill", True) for r in rows],
            "ECE": [f"{r['cv_ece']:.3f}" for r in rows],
            "AUROC within fold": [f"{r['cv_within_fold_roc_auc']:.3f}" for r in rows],
            "fit s/fold": [f"{r['seconds_per_fold']:.0f}" for r in rows],
            "Δ AUROC vs fine_tune": [_ci(r, "diff_vs_fine_tune_roc_auc", True) for r in rows],
            "Δ Brier skill vs fine_tune": [_ci(r, "diff_vs_fine_tune_brier_skill", True) for r in rows],
            "Δ AUROC vs baseline": [_ci(r, "diff_vs_baseline_roc_auc", True) for r in rows],
            "Δ Brier skill vs baseline": [_ci(r, "diff_vs_baseline_brier_skill", True) for r in rows],
            "head C per fold (inner CV)": [r["head_c"] for r in rows],
        }
    )
    return markdown_table(frame)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/transformer.yaml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override key=value")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--only", nargs="*", choices=[*RECIPES, BASELINE], help="fit these (default: all)")
    parser.add_argument("--report-only", action="store_true", help="fit nothing; write the report from --store")
    parser.add_argument("--store", type=Path, default=Path("outputs/recipes"))
    parser.add_argument("--out", type=Path, default=Path("outputs/recipes.md"))
    args = parser.parse_args(argv)

    cfg = load_config(args.config, args.overrides)
    dsd, _ = load_splits(cfg.data)
    items = Split.of(all_items(dsd), cfg.data.feature_view)
    folds = item_folds(items.letter_keys, items.y, cfg.evaluation.folds, args.repeats, cfg.seed)
    n_letters = len(set(items.letter_ids))
    print(f"{n_letters} letters, {len(items)} items, {int(items.y.sum())} overturned; {len(folds)} outer folds")
    args.store.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        from training.reporting.experiment import open_experiment

        open_experiment(EXPERIMENT)
        for name in args.only or [BASELINE, *RECIPES]:
            run_recipe(cfg, name, items, folds, args.store)
    names = [n for n in [*RECIPES, BASELINE] if (args.store / f"{n}.npz").exists()]
    results = {n: load_recipe(args.store, n) for n in names}
    rows = summary(cfg, items, results, args.bootstrap)
    chosen = winner(rows) if any(r["name"] in RECIPES for r in rows) else "none"
    header = (
        f"Nested CV over letters: {n_letters} letters, {len(items)} items, {int(items.y.sum())} overturned; "
        f"{cfg.evaluation.folds} outer folds x {args.repeats} repeat(s) (item_folds seed {cfg.seed}); head C by "
        f"inner StratifiedGroupKFold(4) AUROC; {cfg.evaluation.calibration} cross-fitted calibration; Δ = row - "
        f"column model on the same folds, 95% CI from {args.bootstrap} letter-bootstrap resamples. "
        f"Winner by the pre-registered rule (best AUROC; within {TIE} ties broken by Brier skill, then fit "
        f"time): **{chosen}**.\n\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + table(rows) + "\n")
    print(header + table(rows))
    print(f"wrote {args.out}")
