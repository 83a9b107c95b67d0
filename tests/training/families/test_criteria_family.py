"""The criteria family (training/families/criteria.py, served by serving/criteria_scorer.py): its config, and
one run through training's `train(cfg)` on the small synthetic corpus: cross-validated by letter and by writer,
paired against the baseline, packaged as JSON coefficients (no pickle), registered, loaded and scored by serving,
with reasons that are criteria phrases and what documenting a missing criterion would change."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from compose import compose
from conftest import downloaded_model_folder, tracking_store

from features.criteria import BY_ID
from serving.criteria_scorer import MODEL_FILE, feature_criteria
from training.config import ConfigError

NAME = "imr-test-criteria"


def test_config_refuses_a_non_positive_c():
    with pytest.raises(ConfigError, match="c_grid"):
        compose("criteria", model={"c_grid": [0.1, 0]})
    assert compose("criteria", model={"c_grid": [1.0, 0.1, 0.1]}).model.c_grid == [0.1, 1.0]


def test_features_are_the_documentable_criteria_once_each():
    features = feature_criteria()
    assert all(BY_ID[f].documents is not None for f in features)
    # the visit limit is read from the same sessions as prior sessions: one column, not two
    assert "prior_sessions" in features and "visit_limit" not in features
    assert "medical_rationale" not in features  # no summary documents it


@pytest.fixture(scope="module")
def criteria_run(tmp_path_factory, small_corpus):
    from training.run.train import train

    cfg = compose(
        "criteria",
        data={"sources": [str(small_corpus)]},
        evaluation={"folds": 3, "repeats": 1, "bootstrap_samples": 50},
        mlflow={"experiment": "imr-tests-criteria", "registered_model_name": NAME, "alias": "testing"},
    )
    with tracking_store(tmp_path_factory.mktemp("criteria_mlflow")) as root:
        yield cfg, train(cfg), root


@pytest.fixture(scope="module")
def criteria_folder(criteria_run, tmp_path_factory) -> Path:
    return downloaded_model_folder(criteria_run[1].model_uri, tmp_path_factory.mktemp("criteria"))


def test_run_is_paired_against_the_baseline_by_letter_and_by_writer(criteria_run):
    m = criteria_run[1].metrics
    for prefix in ("cv_", "cv_writer_"):
        for key in ("roc_auc", "roc_auc_ci_low", "roc_auc_ci_high", "brier_skill", "brier_skill_ci_low"):
            assert math.isfinite(m[f"{prefix}diff_vs_baseline_{key}"]), (prefix, key)
    # the planted signal (documented functional improvement, overturned far more often) ranks on unseen letters
    assert m["cv_roc_auc"] > 0.6


def test_package_is_json_coefficients_without_pickle(criteria_folder):
    meta = json.loads((criteria_folder / "imr_model.json").read_text())
    assert meta["family"] == "criteria" and MODEL_FILE in meta["files"]
    assert meta["calibration"]["method"] == "sigmoid" and meta["options"]["C"] in (0.01, 0.03, 0.1, 0.3, 1.0)
    assert not [f for f in meta["files"] if f.endswith((".pkl", ".pickle", ".skops", ".joblib"))]
    spec = json.loads((criteria_folder / MODEL_FILE).read_text())
    assert spec["features"] == feature_criteria() and len(spec["coef"]) == len(spec["features"])
    coef = dict(zip(spec["features"], spec["coef"]))
    # the synthetic corpus's overturned letters document functional gains; its upheld ones report none
    assert coef["functional_improvement"] > 0
    assert set(spec["categories"]) >= {"opioids", "physical_medicine"}


def test_registered_model_scores_with_criteria_reasons_in_points(criteria_run):
    from serving.predictor import load_predictor

    predictor = load_predictor(criteria_run[1].model_uri)
    assert predictor.info()["family"] == "criteria"
    helped = "Records show documented functional improvement with prior therapy: she returned to modified duty."
    request = {"treatment": "Physical therapy 2x6 lumbar spine", "case_summary": helped}
    bare = {"treatment": "Physical therapy 2x6 lumbar spine", "case_summary": "Low back pain for a year."}
    rows = predictor.predict([request, bare], explain=True)
    assert rows[0]["p_overturned"] > rows[1]["p_overturned"]
    for row in rows:  # explained as every family is (serving.reasons): phrases, effects in points
        assert row["reasons"]
        for reason in row["reasons"]:
            assert reason["kind"] in ("treatment", "documents", "lacks", "finding")
            assert abs(reason["effect"]) < 100 and reason["direction"] == ("up" if reason["effect"] > 0 else "down")
    # the clause documenting functional gains raises it (the synthetic corpus's overturned letters document them)
    assert any(r["direction"] == "up" and "functional improvement" in (r["quote"] or "") for r in rows[0]["reasons"]), (
        rows[0]["reasons"]
    )
    # what documenting a criterion the bare request lacks would change, scored as the request is
    for entry in rows[1]["what_if"]["criteria"]:
        assert entry["sentence"] is None or np.isfinite(entry["p_overturned_if_documented"])
