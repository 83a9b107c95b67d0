"""`evaluation.mode: cv` (the default): repeated K-fold by letter over every letter.

- training.data.folds: hash folds by letter, on the small corpus and on synthetic letter keys: every
  item once per repeat, letters never split, stable when letters are added, FoldError cases;
- one baseline cv run on the small synthetic corpus (conftest.small_corpus, in a temp
  folder; temp MLflow store; 3 folds x 2 repeats, with the leakage audit): nested fold runs, the
  logged oof_predictions.parquet recomputed with sklearn (cross-fitted calibration, threshold,
  metrics, references), the refitted registered model's threshold and calibration, the model card;
- refusals: FoldError before any run, undefined metrics never move the alias, `imr train` exit 2.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from compose import compose
from conftest import tracking_store
from sklearn import metrics as skm
from synthetic_corpus import WRITER_OPENINGS

from training.data.folds import FoldError, item_folds, letter_fold_ids

MODEL_NAME = "imr-test-cv"
EXPERIMENT = "imr-tests-cv"
ALIAS = "testing"
FOLDS = 3
REPEATS = 2
# One more fold than the small corpus has letters with an overturned item: some fold gets none.
TOO_MANY_FOLDS = 13
# The writer-shift folds: one per writer template of the small corpus (training.data.folds.writer_folds).
WRITER_FOLDS = len(WRITER_OPENINGS)
OOF_COLUMNS = ["letter_id", "case_number", "item_index", "label", "p_raw", "p_calibrated", "fold", "repeat"]


def cv_config(letters: Path, experiment: str = EXPERIMENT, **evaluation):
    return compose(
        "baseline",
        data={"sources": [str(letters)]},
        model={"text_tfidf": {"min_df": 1, "max_features": 500}},
        evaluation={"folds": FOLDS, "repeats": REPEATS, "bootstrap_samples": 100, **evaluation},
        mlflow={"experiment": experiment, "registered_model_name": MODEL_NAME, "alias": ALIAS},
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with tracking_store(tmp_path_factory.mktemp("cv-store")) as root:
        yield root


@pytest.fixture(scope="module")
def items(small_corpus):
    """Every item of the small corpus as training.run.train sees it in cv mode."""
    from training.data.loading import load_splits
    from training.data.splits import Split, all_items

    dsd, _ = load_splits(cv_config(small_corpus).data)
    return Split.of(all_items(dsd), "pre_decision")


@pytest.fixture(scope="module")
def cv_run(store, small_corpus):
    """(config, TrainResult, MlflowClient, downloaded artifacts folder, OOF predictions frame)."""
    import mlflow
    from mlflow import MlflowClient

    from training.run.train import train

    cfg = cv_config(small_corpus, leakage_audit=True)
    assert cfg.evaluation.mode == "cv" and cfg.evaluation.calibration == "sigmoid"  # the defaults
    result = train(cfg)
    artifacts = Path(mlflow.artifacts.download_artifacts(run_id=result.run_id, dst_path=str(store / "artifacts")))
    oof = pd.read_parquet(artifacts / "oof_predictions.parquet")
    return cfg, result, MlflowClient(), artifacts, oof


def experiment_runs(client, name: str) -> list:
    exp = client.get_experiment_by_name(name)
    return [] if exp is None else client.search_runs([exp.experiment_id])


def fold_base(oof: pd.DataFrame) -> np.ndarray:
    """Per row: the overturn rate of the training part of the row's fold (same repeat)."""
    out = np.empty(len(oof))
    for (r, k), idx in oof.groupby(["repeat", "fold"]).groups.items():
        rest = (oof["repeat"] == r) & (oof["fold"] != k)
        out[oof.index.get_indexer(idx)] = oof.loc[rest, "label"].mean()
    return out


def by_repeat(oof: pd.DataFrame, column: str) -> list[np.ndarray]:
    return [g[column].to_numpy() for _, g in oof.sort_values("repeat", kind="stable").groupby("repeat")]


# --- the folds -----------------------------------------------------------------------------


def test_folds_group_by_letter_and_cover_every_item_once_per_repeat(items):
    folds = item_folds(items.letter_keys, items.y, FOLDS, REPEATS, seed=0)
    assert [(f.repeat, f.index) for f in folds] == [(r, k) for r in range(REPEATS) for k in range(FOLDS)]
    letters = np.asarray(items.letter_ids)
    for r in range(REPEATS):
        mine = [f for f in folds if f.repeat == r]
        tests = np.concatenate([f.test for f in mine])
        assert sorted(tests.tolist()) == list(range(len(items)))  # every item exactly once
        for f in mine:
            assert sorted(np.concatenate([f.train, f.test]).tolist()) == list(range(len(items)))
            assert not set(letters[f.train]) & set(letters[f.test])  # no letter on both sides
            assert items.y[f.test].sum() >= 1 and items.y[f.train].sum() >= 1
    # the two repeats are different partitions
    assert [f.test.tolist() for f in folds[:FOLDS]] != [f.test.tolist() for f in folds[FOLDS:]]


def test_small_corpus_supports_3_folds_but_not_more_than_its_overturned_letters(items):
    overturned_letters = {key for key, label in zip(items.letter_keys, items.y) if label}
    assert len(set(items.letter_ids)) == 36 and len(overturned_letters) == TOO_MANY_FOLDS - 1
    item_folds(items.letter_keys, items.y, 3, 3, seed=0)
    with pytest.raises(FoldError, match=r"evaluation\.folds"):
        item_folds(items.letter_keys, items.y, TOO_MANY_FOLDS, 1, seed=0)


def synthetic_letters(n: int, positive_every: int = 3, prefix: str = "CM16-") -> tuple[list[str], list[bool]]:
    return [f"{prefix}{k:07d}" for k in range(n)], [k % positive_every == 0 for k in range(n)]


def test_letter_folds_are_stable_when_letters_are_added():
    keys, pos = synthetic_letters(60)
    new_keys, new_pos = synthetic_letters(40, prefix="CM17-")
    for salt in ("0:0", "0:1", "7:2"):
        old = letter_fold_ids(keys, pos, 5, salt)
        grown = letter_fold_ids(keys + new_keys, pos + new_pos, 5, salt)
        np.testing.assert_array_equal(grown[:60], old)
        shuffled = np.random.default_rng(0).permutation(100)
        again = letter_fold_ids(
            [(keys + new_keys)[i] for i in shuffled], [(pos + new_pos)[i] for i in shuffled], 5, salt
        )
        np.testing.assert_array_equal(again, grown[shuffled])  # order of the letters does not matter


def test_item_folds_are_stable_when_letters_are_added():
    """Through item_folds: each old letter's items are held out in the same fold, repeat by repeat."""
    keys, pos = synthetic_letters(60)
    item_keys = [k for k in keys for _ in range(2)]
    labels = [int(p and i == 0) for p in pos for i in range(2)]
    extra_keys, extra_pos = synthetic_letters(30, prefix="CM17-")
    grown_keys = item_keys + [k for k in extra_keys for _ in range(3)]
    grown_labels = labels + [int(p) for p in extra_pos for _ in range(3)]

    def held_out(keys_, labels_) -> dict[tuple[int, str], int]:
        return {(f.repeat, keys_[i]): f.index for f in item_folds(keys_, labels_, 4, 3, seed=11) for i in f.test}

    before, after = held_out(item_keys, labels), held_out(grown_keys, grown_labels)
    assert len(before) == 60 * 3
    assert {key: after[key] for key in before} == before


def test_folds_depend_on_seed_and_repeat_and_are_deterministic():
    keys, pos = synthetic_letters(90)
    a = letter_fold_ids(keys, pos, 5, "0:0")
    np.testing.assert_array_equal(a, letter_fold_ids(keys, pos, 5, "0:0"))
    assert not np.array_equal(a, letter_fold_ids(keys, pos, 5, "1:0"))
    assert not np.array_equal(a, letter_fold_ids(keys, pos, 5, "0:1"))
    assert set(a.tolist()) == set(range(5))


def test_folds_are_stratified_in_expectation():
    keys, pos = synthetic_letters(600)  # 200 letters with an overturn, 400 without
    ids = letter_fold_ids(keys, pos, 5, "0:0")
    pos = np.array(pos)
    for k in range(5):
        assert 20 <= (ids[pos] == k).sum() <= 60, k
        assert 50 <= (ids[~pos] == k).sum() <= 110, k


def test_fold_errors():
    with pytest.raises(FoldError, match=r"3 letters cannot fill 4 folds \(evaluation\.folds\)"):
        item_folds(["a", "a", "b", "c"], [1, 0, 1, 0], 4, 1, seed=0)
    # one letter with an overturned item: some fold (or the rest of it) has none
    keys = [f"L{k}" for k in range(20)]
    with pytest.raises(FoldError, match="overturned"):
        item_folds(keys, [1] + [0] * 19, 2, 1, seed=0)
    with pytest.raises(FoldError):
        item_folds(keys, [0] * 20, 2, 1, seed=0)
    assert issubclass(FoldError, ValueError)


def test_a_letters_items_follow_its_case_number(items):
    """Items are grouped on the case number (the stable key), not on their position."""
    folds = item_folds(items.letter_keys, items.y, FOLDS, 1, seed=0)
    keys = np.asarray(items.letter_keys)
    for f in folds:
        assert not set(keys[f.train]) & set(keys[f.test])


# --- refusals before any run -----------------------------------------------------------------


def test_fold_error_is_raised_before_any_run(store, small_corpus):
    from mlflow import MlflowClient

    from training.run.train import train

    experiment = "imr-tests-cv-five-folds"
    with pytest.raises(FoldError, match=r"evaluation\.folds"):
        train(cv_config(small_corpus, experiment, folds=TOO_MANY_FOLDS))
    assert experiment_runs(MlflowClient(), experiment) == []


def test_imr_train_fold_error_exits_2_with_one_line(store, small_corpus, tmp_path, capsys):
    from training.config import resolved_yaml
    from training.imr import main

    path = tmp_path / "cv.yaml"
    path.write_text(resolved_yaml(cv_config(small_corpus, "imr-tests-cv-cli-folds")))
    summary = tmp_path / "summary.json"
    assert (
        main(["train", "--config", str(path), "--set", f"evaluation.folds={TOO_MANY_FOLDS}", "--summary", str(summary)])
        == 2
    )
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == "" and not summary.exists()
    lines = [line for line in captured.err.splitlines() if line.startswith("imr train:")]
    assert len(lines) == 1 and "evaluation.folds" in lines[0] and "overturned" in lines[0]


# --- one cv run: the runs ----------------------------------------------------------------------


def test_parent_run_name_tags_and_params(cv_run):
    from training.run.train import run_name

    cfg, result, client, _, _ = cv_run
    run = client.get_run(result.run_id)
    assert "mlflow.parentRunId" not in run.data.tags
    assert run.info.status == "FINISHED"
    assert run.info.run_name == run_name(cfg)
    assert re.fullmatch(r"baseline-C1-tfidf12-mindf1-cv-sigmoid-[0-9a-f]{4}", run.info.run_name)
    assert run_name(cfg.model_copy(update={"seed": 1})) != run.info.run_name
    assert run.data.tags["evaluation_mode"] == "cv"
    assert run.data.tags["family"] == "baseline"
    assert run.data.params["evaluation.folds"] == str(FOLDS)
    assert run.data.params["evaluation.repeats"] == str(REPEATS)


def test_nested_fold_runs(cv_run):
    _, result, client, _, oof = cv_run
    run = client.get_run(result.run_id)
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    # the writer-shift folds nest in a run of their own (tests/training/run/test_writer_shift.py)
    (writer,) = [c for c in children if c.data.tags.get("stage") == "writer_shift"]
    children = [c for c in children if c.info.run_id != writer.info.run_id]
    expected = {
        f"{label}-repeat{r}-fold{k}"
        for label in ("baseline", "audit-with_rationale")
        for r in range(REPEATS)
        for k in range(FOLDS)
    }
    assert sorted(c.info.run_name for c in children) == sorted(expected)
    assert {c.info.status for c in children} == {"FINISHED"}
    for child in children:
        tags, m = child.data.tags, child.data.metrics
        assert tags["stage"] == "cv_fold" and tags["model_family"] == "baseline"
        r, k = int(tags["cv_repeat"]), int(tags["cv_fold"])
        assert child.info.run_name.endswith(f"-repeat{r}-fold{k}")
        assert tags["feature_view"] == ("with_rationale" if child.info.run_name.startswith("audit") else "pre_decision")
        held = oof[(oof["repeat"] == r) & (oof["fold"] == k)]
        assert m["fold_test_items"] == len(held)
        assert m["fold_train_items"] == (oof["repeat"] == r).sum() - len(held)
        assert m["fold_test_overturned"] == held["label"].sum()


def test_only_the_parent_run_is_top_level(cv_run):
    _, result, client, _, _ = cv_run
    runs = experiment_runs(client, EXPERIMENT)
    assert len(runs) == 1 + 2 * FOLDS * REPEATS + 1 + WRITER_FOLDS
    assert [r.info.run_id for r in runs if "mlflow.parentRunId" not in r.data.tags] == [result.run_id]


def test_metrics_are_complete_and_logged(cv_run):
    from training.metrics.out_of_fold import PER_REPEAT, THRESHOLD_METRICS, WITH_CI

    _, result, client, _, _ = cv_run
    m = result.metrics
    for prefix in ("cv_", "ref_base_rate_cv_", "ref_category_cv_"):
        for name in (*PER_REPEAT, *THRESHOLD_METRICS):
            assert math.isfinite(m[f"{prefix}{name}"]), prefix + name
        for name in WITH_CI:
            for suffix in ("_ci_low", "_ci_high", "_repeat_std"):
                assert math.isfinite(m[f"{prefix}{name}{suffix}"]), prefix + name + suffix
    for name in ("brier", "brier_skill", "ece", "mean_p"):
        assert math.isfinite(m[f"cv_uncalibrated_{name}"]), name
    for name in ("roc_auc", "pr_auc", "brier_skill", "ece"):
        assert math.isfinite(m[f"audit_with_rationale_cv_{name}"]), name
    assert m["threshold"] == result.threshold
    assert not any(k.startswith(("test_", "val_", "cv_oof_")) for k in m)
    logged = client.get_run(result.run_id).data.metrics
    # besides the metrics, only their headline copies (training.reporting.headline), sorted first in the UI
    assert {k for k in logged if not k.startswith("Headline/")} == set(m)
    assert {k.removeprefix("Headline/") for k in logged if k.startswith("Headline/")} <= set(m)
    for key, value in m.items():
        assert logged[key] == pytest.approx(value, abs=1e-12), key


def test_summary_json_holds_the_metrics(cv_run):
    _, result, _, _, _ = cv_run
    summary = json.loads(json.dumps(result.summary()))
    assert summary["metrics"]["cv_roc_auc"] == result.metrics["cv_roc_auc"]
    assert summary["model_uri"] == result.model_uri and summary["threshold"] == result.threshold


# --- one cv run: the out-of-fold predictions, recomputed ----------------------------------------


def test_oof_predictions_artifact(cv_run, items):
    cfg, _, _, _, oof = cv_run
    assert list(oof.columns)[: len(OOF_COLUMNS)] == OOF_COLUMNS
    assert len(oof) == REPEATS * len(items)
    for r in range(REPEATS):
        rows = oof[oof["repeat"] == r]
        assert list(rows["letter_id"]) == list(items.letter_ids)
        assert list(rows["item_index"]) == list(items.rows["item_index"])
        assert rows["label"].tolist() == items.y.tolist()
        assert not rows.duplicated(["letter_id", "item_index"]).any()
        assert rows.groupby("letter_id")["fold"].nunique().max() == 1  # a letter in one fold
    assert oof["p_raw"].between(0, 1).all() and oof["p_calibrated"].between(0, 1).all()
    # the folds are training.data.folds' folds
    for f in item_folds(items.letter_keys, items.y, FOLDS, REPEATS, cfg.seed):
        rows = oof[oof["repeat"] == f.repeat].reset_index(drop=True)
        assert (rows.loc[f.test, "fold"] == f.index).all()


def served(oof: pd.DataFrame, calibrated: np.ndarray, rows) -> np.ndarray:
    """Serving's out-of-distribution cap (when the run logs `in_distribution`): an item flagged
    out of distribution never scores above its fold model's training base rate."""
    if "in_distribution" not in oof.columns:
        return calibrated
    base = fold_base(oof)[oof.index.get_indexer(rows.index)]
    return np.where(rows["in_distribution"].to_numpy(dtype=bool), calibrated, np.minimum(calibrated, base))


def test_calibration_is_cross_fitted(cv_run):
    """Each fold's calibrated values come from a sigmoid fitted on the other folds' raw OOF
    scores only: refit it here from the logged raw scores."""
    from serving.calibration import apply_calibration, fit_calibration

    _, _, _, _, oof = cv_run
    for r in range(REPEATS):
        rows = oof[oof["repeat"] == r]
        for k in range(FOLDS):
            held, rest = rows[rows["fold"] == k], rows[rows["fold"] != k]
            spec = fit_calibration("sigmoid", rest["p_raw"].to_numpy(), rest["label"].to_numpy())
            expected = served(oof, apply_calibration(spec, held["p_raw"].to_numpy()), held)
            np.testing.assert_allclose(held["p_calibrated"], expected, atol=1e-9)
            in_sample = fit_calibration("sigmoid", rows["p_raw"].to_numpy(), rows["label"].to_numpy())
            assert not np.allclose(
                held["p_calibrated"], served(oof, apply_calibration(in_sample, held["p_raw"].to_numpy()), held)
            )


def test_threshold_is_max_f1_on_the_calibrated_oof(cv_run):
    from training.metrics.binary import choose_threshold

    _, result, _, _, oof = cv_run
    assert result.threshold == choose_threshold(oof["label"], oof["p_calibrated"])
    assert result.metrics["threshold"] == result.threshold


def test_model_metrics_equal_sklearn_on_the_logged_oof(cv_run):
    from training.metrics.calibration_error import adaptive_ece

    _, result, _, _, oof = cv_run
    m = result.metrics
    y = by_repeat(oof, "label")
    base = by_repeat(oof.assign(base=fold_base(oof)), "base")
    for column, prefix in (("p_calibrated", "cv_"), ("p_raw", "cv_uncalibrated_")):
        P = by_repeat(oof, column)
        briers = [skm.brier_score_loss(t, p) for t, p in zip(y, P)]
        skills = [1 - b / skm.brier_score_loss(t, q) for b, t, q in zip(briers, y, base)]
        assert m[f"{prefix}brier"] == pytest.approx(np.mean(briers), abs=1e-12)
        assert m[f"{prefix}brier_skill"] == pytest.approx(np.mean(skills), abs=1e-12)
        assert m[f"{prefix}ece"] == pytest.approx(np.mean([adaptive_ece(t, p) for t, p in zip(y, P)]), abs=1e-12)
        assert m[f"{prefix}mean_p"] == pytest.approx(oof[column].mean(), abs=1e-12)
    # ranking metrics read the raw OOF scores; the calibrated ones' AUROC is reported beside them
    R, P = by_repeat(oof, "p_raw"), by_repeat(oof, "p_calibrated")
    aucs = [skm.roc_auc_score(t, p) for t, p in zip(y, R)]
    assert m["cv_roc_auc"] == pytest.approx(np.mean(aucs), abs=1e-12)
    assert m["cv_roc_auc_repeat_std"] == pytest.approx(np.std(aucs), abs=1e-12)
    pr_aucs = [skm.average_precision_score(t, p) for t, p in zip(y, R)]
    assert m["cv_pr_auc"] == pytest.approx(np.mean(pr_aucs), abs=1e-12)
    calibrated_aucs = [skm.roc_auc_score(t, p) for t, p in zip(y, P)]
    assert m["cv_calibrated_roc_auc"] == pytest.approx(np.mean(calibrated_aucs), abs=1e-12)
    assert m["cv_log_loss"] == pytest.approx(np.mean([skm.log_loss(t, p) for t, p in zip(y, P)]), abs=1e-9)
    pred = oof["p_calibrated"] >= result.threshold
    assert m["cv_f1"] == pytest.approx(skm.f1_score(oof["label"], pred), abs=1e-12)
    assert m["cv_precision"] == pytest.approx(skm.precision_score(oof["label"], pred), abs=1e-12)
    assert m["cv_recall"] == pytest.approx(skm.recall_score(oof["label"], pred), abs=1e-12)
    assert m["cv_accuracy"] == pytest.approx(skm.accuracy_score(oof["label"], pred), abs=1e-12)
    assert m["base_rate"] == pytest.approx(oof.loc[oof["repeat"] == 0, "label"].mean())


def test_references_on_the_same_folds(cv_run, items):
    """The base-rate reference predicts each fold's training rate (Brier skill exactly 0); the
    category reference is CategoryRate(prior_items=10) fitted on each fold's training part."""
    from training.metrics.reference_predictors import CategoryRate

    _, result, _, _, oof = cv_run
    m = result.metrics
    assert m["ref_base_rate_cv_brier_skill"] == 0.0
    assert m["ref_base_rate_cv_brier_skill_ci_low"] == m["ref_base_rate_cv_brier_skill_ci_high"] == 0.0
    base = oof.assign(base=fold_base(oof))
    assert m["ref_base_rate_cv_brier"] == pytest.approx(
        np.mean([skm.brier_score_loss(t, p) for t, p in zip(by_repeat(base, "label"), by_repeat(base, "base"))])
    )
    assert m["ref_base_rate_cv_mean_p"] == pytest.approx(base["base"].mean())

    categories = np.asarray(items.frame["treatment_category"], dtype=object)
    y = items.y
    aucs, briers = [], []
    for r in range(REPEATS):
        fold = oof.loc[oof["repeat"] == r, "fold"].to_numpy()
        p = np.empty(len(y))
        for k in range(FOLDS):
            ref = CategoryRate(prior_items=10).fit(list(categories[fold != k]), y[fold != k])
            p[fold == k] = ref.predict_proba(list(categories[fold == k]))
        aucs.append(skm.roc_auc_score(y, p))
        briers.append(skm.brier_score_loss(y, p))
    assert m["ref_category_cv_roc_auc"] == pytest.approx(np.mean(aucs), abs=1e-12)
    assert m["ref_category_cv_brier"] == pytest.approx(np.mean(briers), abs=1e-12)


def test_cis_bracket_the_point_estimates(cv_run):
    _, result, _, _, _ = cv_run
    m = result.metrics
    for prefix in ("cv_", "ref_base_rate_cv_", "ref_category_cv_"):
        assert 0 < m[f"{prefix}bootstrap_resamples_used"] <= 100
        for name in ("roc_auc", "pr_auc", "brier_skill"):
            low, point, high = (m[f"{prefix}{name}{s}"] for s in ("_ci_low", "", "_ci_high"))
            assert low <= point <= high, (prefix, name, low, point, high)
        assert 0 <= m[f"{prefix}roc_auc_ci_low"] and m[f"{prefix}roc_auc_ci_high"] <= 1


# --- one cv run: the registered (refitted) model ----------------------------------------------


def test_the_refitted_model_is_registered_under_the_alias(cv_run):
    _, result, client, _, _ = cv_run
    assert re.fullmatch(rf"models:/{MODEL_NAME}/\d+", result.model_uri)
    assert result.model_uri == f"models:/{MODEL_NAME}/{result.model_version}"
    assert str(client.get_model_version_by_alias(MODEL_NAME, ALIAS).version) == result.model_version
    mv = client.get_model_version(MODEL_NAME, result.model_version)
    assert mv.run_id == result.run_id
    assert client.get_run(result.run_id).data.tags["registered_model"] == result.model_uri


def test_registered_threshold_and_calibration_are_what_the_run_logged(cv_run):
    """imr_model.json carries the logged threshold and calibration.json; the calibration is the
    sigmoid fitted on every raw OOF score (all repeats)."""
    from serving.calibration import apply_calibration, fit_calibration
    from serving.predictor import load_predictor
    from serving.scorers import CalibratedScorer

    _, result, _, artifacts, oof = cv_run
    logged = json.loads((artifacts / "calibration.json").read_text())
    refit = fit_calibration("sigmoid", oof["p_raw"].to_numpy(), oof["label"].to_numpy())
    assert logged["method"] == "sigmoid"
    assert logged["a"] == pytest.approx(refit["a"], rel=1e-6) and logged["b"] == pytest.approx(refit["b"], rel=1e-6)

    predictor = load_predictor(result.model_uri)
    assert isinstance(predictor.scorer, CalibratedScorer)
    assert predictor.scorer.meta.calibration == logged
    assert predictor.scorer.meta.threshold == result.threshold == result.metrics["threshold"]
    requests = [{"treatment": "MRI of the lumbar spine"}, {"treatment": "Norco 10/325mg #60", "patient_age": 52}]
    raw = predictor.scorer.inner.predict_proba(requests)
    np.testing.assert_allclose(predictor.scorer.predict_proba(requests), apply_calibration(logged, raw), atol=1e-12)


def test_the_shipped_model_is_fitted_on_every_letter(cv_run, items):
    """The refit saw every item: its raw scores on the training items differ from the OOF ones,
    and rank the training items better (it has seen their labels)."""
    from serving.predictor import load_predictor

    _, result, _, _, oof = cv_run
    raw = load_predictor(result.model_uri).scorer.inner.predict_proba(items.records())
    assert not np.allclose(raw, oof.loc[oof["repeat"] == 0, "p_raw"])
    assert skm.roc_auc_score(items.y, raw) > result.metrics["cv_roc_auc"]


def test_model_card_reports_the_oof_metrics(cv_run):
    _, result, client, artifacts, _ = cv_run
    card = (artifacts / "MODEL_CARD.md").read_text()
    assert client.get_model_version(MODEL_NAME, result.model_version).description == card
    assert card.startswith(f"# Model card: {result.model_uri}")
    m = result.metrics
    heading = f"## Out-of-fold metrics ({FOLDS}-fold cross-validation by letter, {REPEATS} repeat(s), every letter)"
    assert heading in card
    auroc = f"{m['cv_roc_auc']:.3f} (95% CI {m['cv_roc_auc_ci_low']:.3f}-{m['cv_roc_auc_ci_high']:.3f})"
    row = next(line for line in card.splitlines() if line.startswith("| this model |"))
    assert auroc in row and f"{m['cv_brier']:.4f}" in row and f"{m['cv_ece']:.4f}" in row
    assert next(line for line in card.splitlines() if line.startswith("| base rate |"))
    assert f"{m['ref_category_cv_roc_auc']:.3f}" in next(
        line for line in card.splitlines() if line.startswith("| category rate (smoothed) |")
    )
    assert "Decision threshold" not in card and "no decision (there is no default threshold)" in card
    assert "## How far to trust it\nTested on " in card
    assert "fitted on all letters (refitted after cross-validation)" in card
    assert "test_" not in card and "nan" not in card.lower()


def test_per_category_oof_table_and_audit_artifacts(cv_run, items):
    _, result, client, artifacts, _ = cv_run
    names = {f.path for f in client.list_artifacts(result.run_id)}
    assert {
        "oof_predictions.parquet",
        "per_category_oof.md",
        "per_category_oof.json",
        "calibration.json",
        "MODEL_CARD.md",
        "leakage_audit.md",
        "top_terms.md",
        "config.yaml",
        "ingest_report.json",
    } <= names
    table = json.loads((artifacts / "per_category_oof.json").read_text())
    assert sum(row[1] for row in table["data"]) == len(items)
    assert sum(row[2] for row in table["data"]) == items.y.sum()
    audit = (artifacts / "leakage_audit.md").read_text().splitlines()
    assert audit[0] == "| feature_view | roc_auc | pr_auc | brier_skill | ece |"
    assert [line.split("|")[1].strip() for line in audit[2:]] == ["pre_decision", "with_rationale"]
    assert f"{result.metrics['audit_with_rationale_cv_roc_auc']:.3f}" in audit[3]
    assert f"{result.metrics['cv_roc_auc']:.3f}" in audit[2]


def test_cli_summary_of_a_cv_run(cv_run, capsys):
    from training.cli import print_result

    _, result, _, _, _ = cv_run
    print_result(result)
    out = capsys.readouterr().out
    m = result.metrics
    assert "out-of-fold (every letter; 95% CI over letters)" in out
    lines = {}
    for line in out.splitlines():
        if line.strip():
            lines.setdefault(line.split()[0], line)  # the table rows come before "model models:/..."
    assert f"{m['cv_roc_auc']:.3f}" in lines["model"]
    assert f"{m['cv_roc_auc_ci_low']:.3f}-{m['cv_roc_auc_ci_high']:.3f}" in lines["model"]
    assert f"{m['ref_category_cv_roc_auc']:.3f}" in lines["ref_category"]
    assert "ref_base_rate" in lines
    assert f"base rate {m['base_rate']:.3f}" in out and f"model {result.model_uri}" in out
    assert f"model: AUROC within fold (pairs held out in the same fold) {m['cv_within_fold_roc_auc']:.3f}" in out
    assert "nan" not in out.lower()


# --- undefined metrics never move the alias --------------------------------------------------


@pytest.fixture
def nan_headline(monkeypatch):
    """Make the model's out-of-fold AUROC NaN (the references stay defined)."""
    import training.run.train
    from training.metrics import out_of_fold as cv_metrics

    real = training.run.train.oof_metrics

    def patched(*args, **kwargs):
        out = real(*args, **kwargs)
        if args[-1] == cv_metrics.MODEL:
            out["cv_roc_auc"] = math.nan
        return out

    monkeypatch.setattr(training.run.train, "oof_metrics", patched)


def registry_state(client) -> tuple[str, list[str]]:
    alias = str(client.get_model_version_by_alias(MODEL_NAME, ALIAS).version)
    return alias, sorted(v.version for v in client.search_model_versions(f"name='{MODEL_NAME}'"))


def test_undefined_metrics_register_nothing(cv_run, small_corpus, nan_headline):
    from training.run.train import UndefinedMetricsError, train

    _, result, client, _, _ = cv_run
    before = registry_state(client)
    assert before[0] == result.model_version
    experiment = "imr-tests-cv-undefined"
    with pytest.raises(UndefinedMetricsError, match="cv_roc_auc") as info:
        train(cv_config(small_corpus, experiment, repeats=1))
    assert "no model was registered" in str(info.value)
    assert registry_state(client) == before
    (run,) = [r for r in experiment_runs(client, experiment) if "mlflow.parentRunId" not in r.data.tags]
    assert run.info.status == "FAILED"
    assert run.info.run_id in str(info.value)
    assert "registered_model" not in run.data.tags
    assert not any(f.path in ("model", "MODEL_CARD.md") for f in client.list_artifacts(run.info.run_id))


def test_imr_train_undefined_metrics_exits_2(cv_run, small_corpus, nan_headline, tmp_path, capsys):
    from training.config import resolved_yaml
    from training.imr import main

    _, _, client, _, _ = cv_run
    before = registry_state(client)
    path = tmp_path / "cv.yaml"
    path.write_text(resolved_yaml(cv_config(small_corpus, "imr-tests-cv-undefined-cli", repeats=1)))
    assert main(["train", "--config", str(path), "--summary", str(tmp_path / "s.json")]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "models:/" not in captured.out
    lines = [line for line in captured.err.splitlines() if line.startswith("imr train:")]
    assert len(lines) == 1 and "undefined" in lines[0] and "cv_roc_auc" in lines[0]
    assert not (tmp_path / "s.json").exists()
    assert registry_state(client) == before


# --- what a run costs: the stage timer and the packaged model's one load ----------------------


def test_stage_timer_counts_a_nested_stage_in_itself_only(monkeypatch):
    """`mark` switches stages, a nested `with` pauses the outer one: every second counts once."""
    from training import tracking

    clock = iter([0.0, 1.0, 3.0, 6.0, 10.0, 15.0])
    monkeypatch.setattr(tracking.time, "perf_counter", lambda: next(clock))
    timer = tracking.StageTimer()
    timer.mark("load")  # 0
    timer.mark("folds")  # 1
    with timer("mlflow"):  # 3 .. 6
        assert timer.current == "mlflow"
    assert timer.current == "folds"
    timer.mark("refit")  # 10 (folds resumed at 6)
    assert timer.stop() == {"load": 1.0, "folds": 2.0 + 4.0, "mlflow": 3.0, "refit": 5.0}
    assert timer.current is None


def test_the_cv_run_timed_its_stages(cv_run):
    from training import tracking

    seconds = tracking.stage.seconds
    assert {"load", "folds", "metrics", "refit", "precedents_index", "mlflow"} <= set(seconds)
    assert all(v >= 0 for v in seconds.values())


@pytest.mark.slow
def test_a_packaged_model_loads_once_until_finish_rewrites_it(items, tmp_path, monkeypatch):
    """score, in_distribution and served share one load of the folder; finish() (a calibration
    now) drops it, so the next score is the calibrated one serving would give."""
    from serving.calibration import apply_calibration, fit_calibration
    from training.families import packaging
    from training.families.registry import FAMILIES

    loads = []
    real = packaging.load_scorer
    monkeypatch.setattr(packaging, "load_scorer", lambda d: loads.append(d) or real(d))
    cfg = cv_config(Path("unused"))
    model = packaging.fit_packaged(cfg, FAMILIES["baseline"], items, None, tmp_path / "model")
    raw = model.score(items)
    assert model.in_distribution(items).all() and np.allclose(model.served(items), raw)
    assert len(loads) == 1
    calibration = fit_calibration("sigmoid", raw, items.y)
    model.finish(0.5, calibration)
    np.testing.assert_allclose(model.score(items), apply_calibration(calibration, raw))
    assert len(loads) == 2
