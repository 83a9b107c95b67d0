"""`evaluation.mode: cv`: repeated grouped K-fold by letter. The folds themselves (fold_splits on
the real letters and on a synthetic dataset), and one baseline CV run on a small corpus (seed
letters + 16 bundled PDFs copied to a temp folder, temp MLflow store): a parent run with the
fold summary, nested fold runs, and nothing registered."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from training.cross_validation import SUMMARISED, fold_splits

MODEL_NAME = "imr-test-cv"
EXPERIMENT = "imr-tests-cv"
FOLDS = 3


@pytest.fixture(scope="module")
def letters(small_corpus):
    return small_corpus


@pytest.fixture(scope="module")
def dsd(letters):
    from features.ingest import ingest

    return ingest([letters], seed=0)[0]


@pytest.fixture(scope="module")
def cv_run(letters, tmp_path_factory):
    """(config, TrainResult, MlflowClient) of a baseline run with evaluation.mode=cv."""
    from mlflow import MlflowClient

    from training.baseline import train
    from training.config import TrainConfig

    root = tmp_path_factory.mktemp("cv-store")
    cfg = TrainConfig.model_validate({
        "seed": 0,
        "data": {"sources": [str(letters)]},
        "model": {"family": "baseline", "text_tfidf": {"min_df": 1, "max_features": 500}},
        "evaluation": {"mode": "cv", "folds": FOLDS, "repeats": 1, "bootstrap_samples": 100},
        "mlflow": {"experiment": EXPERIMENT, "registered_model_name": MODEL_NAME, "alias": "testing"},
    })
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
        yield cfg, train(cfg), MlflowClient()


def letter_sets(rows, index):
    groups = np.asarray(rows["letter_id"])
    return {name: set(groups[idx.astype(int)]) for name, idx in index.items()}


# --- the folds -----------------------------------------------------------------------------


def test_folds_split_by_letter_and_cover_every_letter_once(dsd):
    all_letters = {lid for split in dsd.values() for lid in split["letter_id"]}
    n_rows = sum(split.num_rows for split in dsd.values())
    test_count = Counter()
    test_rows = []
    folds = list(fold_splits(dsd, FOLDS, seed=0))
    assert len(folds) == FOLDS
    for rows, index in folds:
        assert len(rows) == n_rows
        sets = letter_sets(rows, index)
        assert sets["test"], "every fold has test letters"
        assert not sets["test"] & sets["train"]
        assert not sets["test"] & sets["validation"]
        assert not sets["train"] & sets["validation"]
        assert sets["train"] and sets["validation"]
        # indices do not overlap either (no row in two roles)
        idx = np.concatenate([index["train"], index["validation"], index["test"]]).astype(int)
        assert len(idx) == len(set(idx.tolist()))
        test_count.update(sets["test"])
        test_rows.extend(index["test"].tolist())
        # a letter's items all go to the same role
        groups = np.asarray(rows["letter_id"])
        for role, letter_ids in sets.items():
            assert set(np.flatnonzero(np.isin(groups, list(letter_ids)))) <= set(index[role].tolist()), role
    assert set(test_count) == all_letters
    assert set(test_count.values()) == {1}
    assert sorted(test_rows) == list(range(n_rows))


def test_folds_are_deterministic_and_depend_on_the_seed(dsd):
    def tests(seed):
        return [sorted(letter_sets(rows, index)["test"]) for rows, index in fold_splits(dsd, FOLDS, seed)]

    assert tests(0) == tests(0)
    assert tests(0) != tests(1)


def synthetic_dsd(n_overturned: int, n_upheld: int):
    """Letters of two items each; an overturned letter has one overturned item."""
    from features.dataset import build_dataset_dict

    base = {"source": "synthetic", "item_index": 0, "decision": "Upheld", "treatment": "MRI",
            "treatment_category": "imaging", "case_summary": "", "claims_administrator_guideline": "",
            "patient_age": None, "patient_sex": None, "days_since_injury": None, "partial_approval": False,
            "original_request": "", "authorized_portion": "", "maximus_guideline": "", "rationale": "",
            "decision_date": None}
    rows = []
    for k in range(n_overturned + n_upheld):
        lid = f"L{k:03d}"
        rows.append({**base, "letter_id": lid, "case_number": lid, "label": int(k < n_overturned)})
        rows.append({**base, "letter_id": lid, "case_number": lid, "item_index": 1, "label": 0})
    return build_dataset_dict(rows, seed=0)


def test_every_letter_of_a_fold_is_used():
    # 50 overturned + 50 upheld letters, 2 folds: each fold's rest holds 25 letters per stratum.
    dsd = synthetic_dsd(50, 50)
    for rows, index in fold_splits(dsd, 2, seed=0):
        groups = np.asarray(rows["letter_id"])
        sets = letter_sets(rows, index)
        assert sets["train"] | sets["validation"] | sets["test"] == set(groups)


def test_fold_rest_split_on_a_synthetic_dataset():
    """Without the rounding case above, train and validation take every letter not in test."""
    dsd = synthetic_dsd(12, 18)
    seen = Counter()
    for rows, index in fold_splits(dsd, 3, seed=0):
        groups = np.asarray(rows["letter_id"])
        sets = letter_sets(rows, index)
        assert sets["train"] | sets["validation"] | sets["test"] == set(groups)
        assert len(index["train"]) + len(index["validation"]) + len(index["test"]) == len(groups)
        y = np.asarray(rows["label"])
        for role in ("train", "validation", "test"):  # stratified: both kinds of letter in every role
            assert y[index[role].astype(int)].sum() >= 1, role
        seen.update(sets["test"])
    assert len(seen) == 30 and set(seen.values()) == {1}


# --- one CV training run -------------------------------------------------------------------


def test_cv_result_registers_nothing(cv_run):
    from mlflow.exceptions import MlflowException

    _, result, client = cv_run
    assert result.model_uri == "" and result.model_version == ""
    assert math.isnan(result.threshold)
    assert result.summary()["model_uri"] == ""
    assert [m.name for m in client.search_registered_models() if m.name == MODEL_NAME] == []
    with pytest.raises(MlflowException):
        client.get_registered_model(MODEL_NAME)
    run = client.get_run(result.run_id)
    assert "registered_model" not in run.data.tags
    assert not any(f.path == "model" for f in client.list_artifacts(result.run_id))


def test_parent_run_summarises_the_folds(cv_run):
    _, result, client = cv_run
    run = client.get_run(result.run_id)
    assert "mlflow.parentRunId" not in run.data.tags
    assert run.data.tags["evaluation_mode"] == "cv"
    assert run.data.tags["model_family"] == "baseline"
    assert run.data.params["evaluation.folds"] == str(FOLDS)
    m = run.data.metrics
    for name in SUMMARISED:
        assert f"cv_{name}_mean" in m and f"cv_{name}_std" in m, name
    for key in ("cv_oof_roc_auc_r0", "cv_oof_pr_auc_r0", "cv_oof_r0_roc_auc_ci_low", "cv_oof_r0_roc_auc_ci_high"):
        assert key in m, key
    assert m["cv_folds_run"] == FOLDS
    assert 0 <= m["cv_oof_roc_auc_r0"] <= 1
    assert m["cv_oof_r0_roc_auc_ci_low"] <= m["cv_oof_roc_auc_r0"] <= m["cv_oof_r0_roc_auc_ci_high"]
    assert not math.isnan(m["cv_test_roc_auc_mean"]) and m["cv_test_roc_auc_std"] >= 0
    assert "cv_oof_roc_auc_r1" not in m  # one repeat
    for key, value in result.metrics.items():
        assert key in m and ((math.isnan(value) and math.isnan(m[key])) or m[key] == pytest.approx(value)), key


def test_nested_fold_runs(cv_run):
    cfg, result, client = cv_run
    run = client.get_run(result.run_id)
    children = client.search_runs([run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'")
    assert sorted(c.data.tags["cv_fold"] for c in children) == [str(k) for k in range(FOLDS)]
    assert {c.data.tags["cv_repeat"] for c in children} == {"0"}
    assert {c.info.status for c in children} == {"FINISHED"}
    assert sorted(c.info.run_name for c in children) == [f"repeat0-fold{k}" for k in range(FOLDS)]
    for child in children:
        m = child.data.metrics
        assert child.data.tags["model_family"] == "baseline"
        for key in ("test_roc_auc", "test_pr_auc", "test_f1", "test_brier", "test_ece", "test_roc_auc_ci_low",
                    "test_roc_auc_ci_high", "ref_category_test_roc_auc", "threshold"):
            assert key in m, (child.data.tags["cv_fold"], key)
    # the parent's mean and std are over the fold runs' numbers
    parent = run.data.metrics
    for name in ("test_brier", "test_ece", "test_accuracy", "test_roc_auc"):
        values = np.array([c.data.metrics[name] for c in children], dtype=float)
        assert parent[f"cv_{name}_mean"] == pytest.approx(np.nanmean(values)), name
        assert parent[f"cv_{name}_std"] == pytest.approx(np.nanstd(values)), name


def test_only_the_parent_run_is_top_level(cv_run):
    _, result, client = cv_run
    exp = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == FOLDS + 1
    top = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [r.info.run_id for r in top] == [result.run_id]


def test_cli_summary_of_a_cv_run(cv_run, capsys):
    from training.cli import print_result

    _, result, _ = cv_run
    print_result(result)
    out = capsys.readouterr().out
    assert f"cross-validation over {FOLDS} folds (run {result.run_id})" in out
    assert "pooled out-of-fold AUROC" in out
    assert "models:/" not in out
