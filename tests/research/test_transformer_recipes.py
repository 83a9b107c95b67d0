"""The transformer-recipe study (research.transformer_recipes): its pre-registered selection rule, the
report it writes from a store of out-of-fold scores, and its command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _row(name, auc, bss, seconds):
    return {"name": name, "cv_roc_auc": auc, "cv_brier_skill": bss, "seconds_per_fold": seconds}


def test_winner_rule_best_auroc_then_brier_skill_then_fit_time():
    from research.transformer_recipes.study import winner

    base = _row("baseline", 0.9, 0.2, 1)  # never a candidate
    assert winner([base, _row("fine_tune", 0.60, 0.0, 100), _row("frozen_encoder", 0.62, -0.1, 5)]) == "frozen_encoder"
    assert winner([base, _row("fine_tune", 0.625, 0.03, 100), _row("frozen_encoder", 0.62, 0.01, 5)]) == "fine_tune"
    assert winner([_row("fine_tune", 0.62, 0.02, 100), _row("setfit", 0.615, 0.02, 50)]) == "setfit"
    assert winner([_row("fine_tune", 0.70, 0.02, 100), _row("setfit", 0.615, 0.09, 50)]) == "fine_tune"


def test_report_from_a_store_has_every_recipe_and_paired_differences(tmp_path):
    from research.transformer_recipes.study import load_recipe, save_recipe, summary, table
    from training.run.cross_validation import OutOfFold

    rng = np.random.default_rng(1)
    y = np.tile([0, 0, 0, 1], 40)
    letters = np.array([f"L{i // 2}" for i in range(len(y))])
    fold = (np.arange(len(y)) // 2 % 4)[None, :]
    for name, signal in (("fine_tune", 0.0), ("frozen_encoder", 1.0), ("baseline", 2.0)):
        p = 1 / (1 + np.exp(-(rng.normal(size=len(y)) + signal * y - 1.5)))
        oof = OutOfFold(p[None, :], fold, np.ones((1, len(y)), bool), np.full((1, len(y)), 0.25), y[None, :])
        save_recipe(tmp_path, name, oof, 12.5, ["1.0", "10.0"] if name != "baseline" else [])
    results = {n: load_recipe(tmp_path, n) for n in ("fine_tune", "frozen_encoder", "baseline")}
    assert results["frozen_encoder"][1:] == (12.5, ["1.0", "10.0"])
    cfg = SimpleNamespace(evaluation=SimpleNamespace(calibration="sigmoid"), seed=0)
    rows = summary(cfg, SimpleNamespace(y=y, letter_ids=letters), results, samples=50)
    by = {r["name"]: r for r in rows}
    assert by["frozen_encoder"]["cv_roc_auc"] > by["fine_tune"]["cv_roc_auc"]
    assert by["frozen_encoder"]["diff_vs_fine_tune_roc_auc"] == pytest.approx(
        by["frozen_encoder"]["cv_roc_auc"] - by["fine_tune"]["cv_roc_auc"]
    )
    assert "diff_vs_fine_tune_roc_auc" not in by["fine_tune"] and "diff_vs_baseline_roc_auc" not in by["baseline"]
    text = table(rows)
    assert text.strip().count("\n") == 1 + len(rows) and "Δ AUROC vs baseline" in text and "1.0, 10.0" in text


@pytest.mark.slow
@pytest.mark.parametrize(("study", "option"), [("transformer_recipes", "--store"), ("signal_hypotheses", "--repeats")])
def test_each_study_runs_as_a_module_from_the_repository_root(study, option):
    """`python -m research.<study> --help` from the repository root: no install needed."""
    out = subprocess.run(
        [sys.executable, "-m", f"research.{study}", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("usage:") and option in out.stdout
