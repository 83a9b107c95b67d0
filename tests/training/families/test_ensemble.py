"""The ensemble family: its combiner and shrinkage on made-up scores, its config, and a nested CV run
of the baseline + the tiny transformer on the small corpus, packaged, served and integrity-checked."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from compose import CONFIGS, compose
from conftest import downloaded_model_folder
from conftest_transformer import tf_config, transformer_env

from serving.ensemble_scorer import COMBINER_FILE, combine
from training.config import ConfigError
from training.families.ensemble import CombinerConfig, fit_combiner, simplex_grid

NAMES = ["signal", "noise"]
CONFIG_MEMBERS = ("baseline", "transformer")


def scores(n: int = 600, seed: int = 0):
    """Labels at a 12% rate, a member whose logit tracks them, a member of pure noise, inner folds."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.12).astype(int)
    signal = 1 / (1 + np.exp(-(-2 + 1.5 * y + rng.normal(0, 1, n))))
    noise = 1 / (1 + np.exp(-rng.normal(-2, 1, n)))
    return np.column_stack([signal, noise]), y, rng.integers(0, 3, n)


@pytest.mark.parametrize("method", ["auc_weights", "logistic"])
def test_combiner_weights_the_signal(method):
    p, y, fold = scores()
    spec = fit_combiner(p, y, fold, NAMES, CombinerConfig(method=method))
    assert spec["coef"][0] > 2 * abs(spec["coef"][1])
    assert np.corrcoef(combine(spec, p), p[:, 0])[0, 1] > 0.8


def test_logistic_combiner_centres_the_score():
    p, y, fold = scores()
    combined = combine(fit_combiner(p, y, fold, NAMES, CombinerConfig(method="logistic")), p)
    # Class-weighted: the raw score averages 0.5 over the two classes equally weighted, whatever the
    # base rate (calibration comes after).
    assert abs((combined[y == 1].mean() + combined[y == 0].mean()) / 2 - 0.5) < 0.05


def test_auc_weights_are_convex_and_prefer_equal_on_ties():
    p, y, fold = scores()
    spec = fit_combiner(p, y, fold, NAMES, CombinerConfig(method="auc_weights"))
    assert sum(spec["coef"]) == pytest.approx(1.0) and min(spec["coef"]) >= 0 and spec["intercept"] == 0
    twins = fit_combiner(np.column_stack([p[:, 0], p[:, 0]]), y, fold, ["a", "b"], CombinerConfig(method="auc_weights"))
    assert twins["coef"] == pytest.approx([0.5, 0.5])  # every weighting ranks alike: the equal one


def test_auc_weights_without_a_fold_of_both_classes_are_equal():
    p, y, _ = scores(n=60)
    fold = np.where(y == 1, 0, 1)  # every inner fold holds one class only
    spec = fit_combiner(p, y, fold, NAMES, CombinerConfig(method="auc_weights"))
    assert spec["coef"] == pytest.approx([0.5, 0.5])


def test_a_grid_step_must_divide_one():
    with pytest.raises(ConfigError, match="grid_step: must divide 1"):
        compose("ensemble", model={"combiner": {"grid_step": 0.3}})


def test_simplex_grid():
    grid = simplex_grid(3, 0.5)
    assert len(grid) == 6 and np.allclose(grid.sum(axis=1), 1) and (grid >= 0).all()


@pytest.mark.parametrize("method", ["auc_weights", "logistic"])
def test_a_member_against_the_label_gets_no_weight(method):
    p, y, fold = scores()
    against = 1 / (1 + np.exp(-(-2 - 1.5 * y + np.random.default_rng(2).normal(0, 1, len(y)))))
    spec = fit_combiner(np.column_stack([p[:, 0], against]), y, fold, ["a", "against"], CombinerConfig(method=method))
    assert spec["coef"][1] == 0 and spec["coef"][0] > 0


def test_noise_members_calibrate_to_the_base_rate():
    """Platt scaling fitted on held-out scores is the shrinkage: without signal, the base rate."""
    from serving.calibration import apply_calibration, fit_calibration

    rng = np.random.default_rng(1)
    y = (rng.random(2000) < 0.12).astype(int)
    p = 1 / (1 + np.exp(-rng.normal(-2, 1, (2000, 2))))
    fold = rng.integers(0, 3, 2000)
    raw = combine(fit_combiner(p[:1000], y[:1000], fold[:1000], NAMES, CombinerConfig()), p[1000:])
    calibrated = apply_calibration(fit_calibration("sigmoid", raw[:500], y[1000:1500]), raw[500:])
    assert np.abs(calibrated - y[1000:1500].mean()).max() < 0.05


def test_members_come_from_the_shipped_configs():
    cfg = compose("ensemble")
    baseline, transformer = cfg.model.members
    shipped = {
        name: yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())["model"] for name in ("baseline", "transformer")
    }
    assert baseline.text_tfidf.min_df == shipped["baseline"]["text_tfidf"]["min_df"]
    assert transformer.max_length == shipped["transformer"]["max_length"]
    assert transformer.export_onnx is False  # replaced by the ensemble's entry


def test_members_of_one_family_are_refused():
    with pytest.raises(ConfigError, match="members: .*different families"):
        compose("ensemble", model={"members": [{"family": "baseline"}, {"family": "baseline"}]})


def test_an_unreadable_member_config_names_the_file():
    with pytest.raises(ConfigError, match="no-such.yaml"):
        compose("ensemble", model={"members": [{"config": "configs/no-such.yaml"}, {"family": "baseline"}]})


# ---------------------------------------------------------------- a nested run on the small corpus


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory, tf_letters, tiny_base):
    from training.run.train import train

    transformer = tf_config(tf_letters, tiny_base).model.model_dump(mode="json")
    transformer.update(export_onnx=False, compare_with_baseline=False)
    cfg = compose(
        "ensemble",
        data={"sources": [str(tf_letters)]},
        model={
            "members": [{"family": "baseline", "text_tfidf": {"min_df": 1, "max_features": 2000}}, transformer],
            "inner_folds": 2,
        },
        evaluation={"folds": 3, "repeats": 1, "bootstrap_samples": 50},
        mlflow={"experiment": "imr-tests-ensemble", "registered_model_name": "imr-test-ensemble", "alias": "testing"},
    )
    with transformer_env(tmp_path_factory.mktemp("ensemble_mlflow")) as root:
        result = train(cfg)
        yield cfg, result, root


@pytest.fixture(scope="module")
def ensemble_folder(ensemble_run, tmp_path_factory) -> Path:
    """The registered version's packaged folder (its members' folders are inside it)."""
    _, result, _ = ensemble_run
    return downloaded_model_folder(result.model_uri, tmp_path_factory.mktemp("ens"))


def test_run_is_paired_against_each_member(ensemble_run):
    _, result, _ = ensemble_run
    m = result.metrics
    for prefix in ("cv_", "cv_writer_"):  # letter folds, and writer-shift folds
        for member in ("baseline", "transformer"):
            for key in ("roc_auc", "roc_auc_ci_low", "roc_auc_ci_high", "brier_skill", "brier_skill_ci_low"):
                assert math.isfinite(m[f"{prefix}diff_vs_{member}_{key}"]), (prefix, member, key)
    assert 0 <= m["cv_mean_p"] <= 1 and math.isfinite(m["cv_brier_skill"])


def test_package_lists_members_and_combiner(ensemble_folder):
    meta = json.loads((ensemble_folder / "imr_model.json").read_text())
    assert meta["family"] == "ensemble"
    assert COMBINER_FILE in meta["files"]
    assert "members/baseline/pipeline.skops" in meta["files"]
    assert "members/transformer/model.safetensors" in meta["files"]
    assert not (ensemble_folder / "inner").exists()
    spec = json.loads((ensemble_folder / COMBINER_FILE).read_text())
    assert spec["members"] == ["baseline", "transformer"] and all(w >= 0 for w in spec["coef"])
    assert meta["calibration"]["method"] == "sigmoid"


def test_registered_ensemble_predicts_with_reasons(ensemble_run):
    from serving.predictor import load_predictor

    _, result, _ = ensemble_run
    predictor = load_predictor(result.model_uri)
    record = {"treatment": "MRI of the lumbar spine", "case_summary": "Low back pain for six months after a fall."}
    rows = predictor.predict([record, {"treatment": "Norco 10/325mg #60"}], explain=True)
    assert [0 < r["p_overturned"] < 1 for r in rows] == [True, True]
    assert predictor.info()["family"] == "ensemble"
    # Reasons are the ensemble's own (serving/reasons.py): its calibrated probability with and without each
    # phrase, in percentage points, whatever units its members' scores are in.
    for row in rows:
        for reason in row["reasons"]:
            assert reason["kind"] in ("treatment", "documents", "lacks", "finding") and "member" not in reason
            assert abs(reason["effect"]) <= 100 * max(row["p_overturned"], 1 - row["p_overturned"])


def test_tampered_member_file_is_refused(ensemble_folder, tmp_path):
    from serving.model_dir import ModelIntegrityError
    from serving.scorers import load_scorer

    copy = tmp_path / "model"
    shutil.copytree(ensemble_folder, copy)
    (copy / "members" / "baseline" / "pipeline.skops").write_bytes(b"tampered")
    with pytest.raises(ModelIntegrityError, match="pipeline.skops"):
        load_scorer(copy)
