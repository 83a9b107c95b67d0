"""How sure a test number is, and what a split run logs about it.

- training.metrics (letter-level bootstrap CIs, adaptive ECE, the per-category table) and the
  markdown renderer (training.markdown), on examples small enough to check by hand;
- serving.calibration: isotonic and sigmoid calibration on synthetic miscalibrated scores, and
  a model folder carrying a calibration spec loaded as a CalibratedScorer;
- one baseline split run (the small synthetic corpus, conftest.small_corpus; temp MLflow
  store) with sigmoid calibration and the leakage audit: CI and ECE metrics, the model card, the
  per-category / top-terms / leakage-audit artifacts, and calibration applied at serving time.
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
from conftest import new_store_uri, tracking_store
from sklearn import metrics as skm

from serving.calibration import apply_calibration, fit_calibration
from training.markdown import markdown_table
from training.metrics.bootstrap import letter_bootstrap_ci
from training.metrics.calibration_error import adaptive_ece
from training.metrics.per_category import per_category_table

CI_KEYS = {
    "test_roc_auc_ci_low",
    "test_roc_auc_ci_high",
    "test_pr_auc_ci_low",
    "test_pr_auc_ci_high",
    "test_bootstrap_resamples_used",
}


def clustered_example(items_per_letter: int = 1, letters: int = 40, seed: int = 3):
    """Letters whose items share label and score (a letter is one unit of evidence, repeated)."""
    rng = np.random.default_rng(seed)
    y_letter = np.array([k % 2 for k in range(letters)])
    p_letter = np.clip(0.5 + 0.25 * (y_letter - 0.5) + rng.normal(0, 0.2, letters), 0.01, 0.99)
    groups = np.repeat([f"L{k:03d}" for k in range(letters)], items_per_letter)
    return np.repeat(y_letter, items_per_letter), np.repeat(p_letter, items_per_letter), groups


def item_bootstrap_ci(y, p, samples: int, seed: int) -> tuple[float, float]:
    """The naive alternative: resample items as if independent."""
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(samples):
        rows = rng.integers(0, len(y), len(y))
        if len(np.unique(y[rows])) == 2:
            aucs.append(skm.roc_auc_score(y[rows], p[rows]))
    low, high = np.percentile(aucs, [2.5, 97.5])
    return float(low), float(high)


# --- letter_bootstrap_ci -------------------------------------------------------------------


def test_bootstrap_keys_bounds_and_determinism():
    y, p, groups = clustered_example(items_per_letter=2)
    ci = letter_bootstrap_ci(y, p, groups, samples=100, seed=7)
    assert set(ci) == CI_KEYS
    assert ci["test_bootstrap_resamples_used"] == 100.0
    auc, ap = skm.roc_auc_score(y, p), skm.average_precision_score(y, p)
    assert ci["test_roc_auc_ci_low"] <= auc <= ci["test_roc_auc_ci_high"]
    assert ci["test_pr_auc_ci_low"] <= ap <= ci["test_pr_auc_ci_high"]
    assert ci["test_roc_auc_ci_low"] < ci["test_roc_auc_ci_high"]
    assert letter_bootstrap_ci(y, p, groups, samples=100, seed=7) == ci
    assert letter_bootstrap_ci(y, p, groups, samples=100, seed=8) != ci
    other = letter_bootstrap_ci(y, p, groups, samples=50, seed=7, prefix="cv_oof_r1_")
    assert set(other) == {k.replace("test_", "cv_oof_r1_", 1) for k in CI_KEYS}


def test_bootstrap_resamples_letters_not_items():
    """Repeating every item of every letter three times changes nothing when whole letters are
    resampled (same letters, same draws, AUROC and AP invariant to uniform duplication), while an
    item-level bootstrap narrows with the extra, non-independent rows."""
    y1, p1, g1 = clustered_example(items_per_letter=1)
    y3, p3, g3 = clustered_example(items_per_letter=3)
    one = letter_bootstrap_ci(y1, p1, g1, samples=150, seed=0)
    three = letter_bootstrap_ci(y3, p3, g3, samples=150, seed=0)
    assert one.keys() == three.keys()
    for key in one:
        assert three[key] == pytest.approx(one[key], abs=1e-12), key

    item_low, item_high = item_bootstrap_ci(y3, p3, samples=150, seed=0)
    letter_width = three["test_roc_auc_ci_high"] - three["test_roc_auc_ci_low"]
    assert letter_width > 1.4 * (item_high - item_low)


def test_bootstrap_keeps_the_items_of_a_letter_together():
    """Letter A: (1, .9), (0, .1) -> AUROC 1 alone; letter B: (1, .3), (0, .6) -> AUROC 0 alone;
    A+B -> 3/4. Every resample is AA, AB or BB, so the 95% interval is exactly [0, 1] and every
    resample has both classes. (Resampling items would also produce single-class resamples.)"""
    y = [1, 0, 1, 0]
    p = [0.9, 0.1, 0.3, 0.6]
    groups = ["A", "A", "B", "B"]
    ci = letter_bootstrap_ci(y, p, groups, samples=200, seed=1)
    assert ci["test_roc_auc_ci_low"] == 0.0 and ci["test_roc_auc_ci_high"] == 1.0
    assert ci["test_bootstrap_resamples_used"] == 200.0

    # The same letters with their rows interleaved (items of a letter not adjacent): same answer.
    order = [2, 0, 3, 1]
    shuffled = letter_bootstrap_ci(
        [y[i] for i in order], [p[i] for i in order], [groups[i] for i in order], samples=200, seed=1
    )
    assert shuffled == ci


def test_bootstrap_single_class_is_nan():
    ci = letter_bootstrap_ci([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4], ["a", "a", "b", "c"], samples=50, seed=0)
    assert set(ci) == CI_KEYS
    assert ci["test_bootstrap_resamples_used"] == 0.0
    assert all(math.isnan(v) for k, v in ci.items() if "_ci_" in k)


def test_bootstrap_skips_single_class_resamples():
    # One overturned letter among five: about a third of resamples miss it and are skipped.
    y = [1, 0, 0, 0, 0, 0]
    p = [0.8, 0.3, 0.2, 0.4, 0.1, 0.5]
    groups = ["a", "a", "b", "c", "d", "e"]
    ci = letter_bootstrap_ci(y, p, groups, samples=150, seed=0)
    used = ci["test_bootstrap_resamples_used"]
    assert 50 < used < 150  # P(letter a drawn) = 1 - (4/5)^5 ~ 0.67
    assert ci["test_roc_auc_ci_high"] == 1.0


# --- adaptive_ece --------------------------------------------------------------------------


def test_ece_is_zero_for_perfectly_calibrated_bins():
    # Ten equal-count bins of 10 items; bin k predicts k/10 and holds exactly k overturned items.
    p = np.repeat(np.arange(10) / 10, 10)
    y = np.concatenate([[1] * k + [0] * (10 - k) for k in range(10)])
    shuffle = np.random.default_rng(0).permutation(100)
    assert adaptive_ece(y[shuffle], p[shuffle]) == pytest.approx(0.0, abs=1e-12)


def test_ece_hand_computed():
    y = [0, 0, 1, 1]
    p = [0.1, 0.4, 0.35, 0.8]
    # Sorted by p: .1(0) .35(1) | .4(0) .8(1); bins of two:
    # |0.5 - 0.225| * 1/2 + |0.5 - 0.6| * 1/2 = 0.1375 + 0.05
    assert adaptive_ece(y, p, bins=2) == pytest.approx(0.1875)
    # More bins than items: one item per bin, the mean |y - p|
    assert adaptive_ece(y, p, bins=10) == pytest.approx((0.1 + 0.4 + 0.65 + 0.2) / 4)
    assert adaptive_ece(y, p, bins=1) == pytest.approx(abs(0.5 - np.mean(p)))
    assert math.isnan(adaptive_ece([], []))


def test_ece_uses_equal_count_bins():
    # Every score below 0.1: fixed-width bins would put all 20 items in one bin (ECE 0 here),
    # equal-count bins separate the low scores (all Upheld) from the high ones (all Overturned).
    p = np.linspace(0.01, 0.09, 20)
    y = np.array([0] * 10 + [1] * 10)
    assert adaptive_ece(y, p, bins=2) == pytest.approx(0.5 * p[:10].mean() + 0.5 * (1 - p[10:].mean()))


# --- per_category_table and markdown_table -------------------------------------------------


def test_per_category_table():
    categories = ["opioids", "imaging", "opioids", "therapy", "opioids", "imaging", "therapy", "injection"]
    y = [1, 0, 0, 1, 0, 1, 1, 0]
    p = [0.9, 0.2, 0.4, 0.7, 0.1, 0.6, 0.5, 0.3]
    table = per_category_table(categories, y, p)
    assert list(table.columns) == ["category", "items", "overturned", "overturn_rate", "mean_p_overturned", "roc_auc"]
    # most items first, ties by name
    assert list(table["category"]) == ["opioids", "imaging", "therapy", "injection"]
    rows = table.set_index("category")
    assert rows.loc["opioids", "items"] == 3 and rows.loc["opioids", "overturned"] == 1
    assert rows.loc["opioids", "overturn_rate"] == pytest.approx(0.3333)
    assert rows.loc["opioids", "mean_p_overturned"] == pytest.approx(round((0.9 + 0.4 + 0.1) / 3, 4))
    assert rows.loc["opioids", "roc_auc"] == pytest.approx(1.0)
    assert rows.loc["imaging", "roc_auc"] == pytest.approx(1.0)
    assert rows.loc["imaging", "overturn_rate"] == pytest.approx(0.5)
    # one class only: no AUROC (None, which pandas holds as NaN beside real numbers)
    assert pd.isna(rows.loc["therapy", "roc_auc"]) and rows.loc["therapy", "overturn_rate"] == 1.0
    assert pd.isna(rows.loc["injection", "roc_auc"]) and rows.loc["injection", "overturned"] == 0
    assert int(table["items"].sum()) == len(y)


def test_per_category_table_all_single_class():
    table = per_category_table(["a", "b", "b"], [0, 1, 1], [0.2, 0.7, 0.9])
    assert table["roc_auc"].isna().all()
    assert list(table["category"]) == ["b", "a"]


def test_markdown_table_renders_missing_values_as_empty_cells():
    frame = pd.DataFrame(
        {"name": ["x", "y"], "n": [1, 2], "score": [0.5, math.nan], "auc": [None, 0.25], "note": ["ok", None]}
    )
    text = markdown_table(frame)
    assert text.endswith("\n")
    assert text.splitlines() == [
        "| name | n | score | auc | note |",
        "| --- | --- | --- | --- | --- |",
        "| x | 1 | 0.500 |  | ok |",
        "| y | 2 |  | 0.250 |  |",
    ]
    assert "nan" not in text.lower() and "None" not in text


def test_markdown_table_of_per_category_table():
    table = per_category_table(["a", "a", "b"], [1, 0, 1], [0.8, 0.3, 0.6])
    lines = markdown_table(table).splitlines()
    assert lines[0] == "| category | items | overturned | overturn_rate | mean_p_overturned | roc_auc |"
    assert lines[2] == "| a | 2 | 1 | 0.500 | 0.550 | 1.000 |"
    assert lines[3] == "| b | 1 | 1 | 1.000 | 0.600 |  |"


# --- calibration ---------------------------------------------------------------------------


def miscalibrated(n: int, seed: int):
    """True probability q, labels drawn from q, and an overconfident, shifted score."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.02, 0.98, n)
    y = (rng.random(n) < q).astype(int)
    logit_q = np.log(q / (1 - q))
    raw = 1 / (1 + np.exp(-(3 * logit_q - 1.0)))
    return raw, y


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibration_reduces_brier_on_held_out_data(method):
    raw_fit, y_fit = miscalibrated(3000, seed=0)
    raw_test, y_test = miscalibrated(3000, seed=1)
    spec = fit_calibration(method, raw_fit, y_fit)
    assert spec["method"] == method
    json.dumps(spec)  # plain numbers, storable in imr_model.json
    calibrated = apply_calibration(spec, raw_test)
    assert calibrated.shape == raw_test.shape
    assert np.all((calibrated >= 0) & (calibrated <= 1))
    before = skm.brier_score_loss(y_test, raw_test)
    after = skm.brier_score_loss(y_test, calibrated)
    assert after < before - 0.01, (before, after)
    assert adaptive_ece(y_test, calibrated) < adaptive_ece(y_test, raw_test)


def test_sigmoid_recovers_the_distortion():
    raw, y = miscalibrated(5000, seed=2)
    spec = fit_calibration("sigmoid", raw, y)
    # raw = sigmoid(3 logit q - 1)  =>  logit q = (logit raw + 1) / 3
    assert spec["a"] == pytest.approx(1 / 3, abs=0.06)
    assert spec["b"] == pytest.approx(1 / 3, abs=0.1)


def test_sigmoid_never_reverses_the_ranking():
    """Scores that fall as the overturn rate rises would get a negative slope; the calibrator
    answers the observed rate instead, for every score."""
    raw, y = miscalibrated(500, seed=3)
    spec = fit_calibration("sigmoid", 1 - raw, y)
    assert spec["a"] == 0.0
    np.testing.assert_allclose(apply_calibration(spec, np.array([0.01, 0.5, 0.99])), y.mean())


def test_isotonic_spec_is_monotone_and_clips_out_of_range():
    raw, y = miscalibrated(500, seed=4)
    spec = fit_calibration("isotonic", raw, y)
    assert np.all(np.diff(spec["x"]) >= 0) and np.all(np.diff(spec["y"]) >= 0)
    assert 0 <= min(spec["y"]) and max(spec["y"]) <= 1
    out = apply_calibration(spec, np.array([-1.0, 2.0]))
    assert out.tolist() == [spec["y"][0], spec["y"][-1]]
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    grid = np.linspace(0, 1, 101)
    np.testing.assert_allclose(apply_calibration(spec, grid), iso.predict(grid), atol=1e-12)


def test_no_calibration_is_identity():
    p = np.array([0.1, 0.5, 0.9])
    assert fit_calibration("none", p, np.array([0, 1, 1])) is None
    assert fit_calibration("none", p, np.array([0, 0, 0])) is None  # nothing to fit, nothing to fail
    assert apply_calibration(None, p) is p


def test_unknown_method_and_single_class_raise():
    p = np.array([0.1, 0.5, 0.9, 0.3])
    with pytest.raises(ValueError, match="unknown calibration method 'platt'"):
        fit_calibration("platt", p, np.array([0, 1, 1, 0]))
    for method in ("isotonic", "sigmoid"):
        with pytest.raises(ValueError, match="single class"):
            fit_calibration(method, p, np.array([0, 0, 0, 0]))
        with pytest.raises(ValueError, match="single class"):
            fit_calibration(method, p, np.array([1, 1, 1, 1]))


# --- a model folder carrying a calibration spec ---------------------------------------------

RECORDS = [
    {"treatment": "MRI of the lumbar spine", "case_summary": "Low back pain radiating to the leg."},
    {"treatment": "Norco 10/325mg #60", "case_summary": "Chronic pain on opioids for years.", "patient_age": 52},
    {"treatment": "Physical therapy 2x6 for the knee", "case_summary": "Knee pain after a fall."},
    {"treatment": "TENS unit rental", "case_summary": "Neck pain, prior therapy helped."},
    {"treatment": "Acupuncture 6 sessions", "case_summary": "Shoulder pain, no prior acupuncture."},
    {"treatment": "Lumbar epidural steroid injection", "case_summary": "Radiculopathy confirmed on MRI."},
]
LABELS = [1, 0, 1, 0, 1, 0]


def hand_built_model_dir(folder: Path, calibration: dict | None) -> Path:
    import skops.io as sio

    from features.views import model_inputs
    from serving.model_dir import write_meta
    from training.families.baseline import BaselineModelConfig, build_pipeline

    folder.mkdir()
    cfg = BaselineModelConfig.model_validate({"text_tfidf": {"min_df": 1, "max_features": 200}})
    frame = pd.DataFrame([model_inputs(r) for r in RECORDS]).astype(
        {"treatment_category": object, "patient_sex": object}
    )
    sio.dump(build_pipeline(cfg, 0).fit(frame, LABELS), folder / "pipeline.skops")
    write_meta(folder, "baseline", "pre_decision", 0.5, ["pipeline.skops"], {}, calibration)
    return folder


@pytest.mark.parametrize(
    "spec",
    [
        {"method": "sigmoid", "a": 2.5, "b": -0.7},
        {"method": "isotonic", "x": [0.3, 0.5, 0.7], "y": [0.05, 0.2, 0.9]},
    ],
    ids=["sigmoid", "isotonic"],
)
def test_model_folder_with_calibration_loads_as_calibrated_scorer(tmp_path, spec):
    from serving.predictor import load_predictor
    from serving.scorers import BaselineScorer, CalibratedScorer, load_scorer

    plain = load_scorer(hand_built_model_dir(tmp_path / "plain", None))
    assert isinstance(plain, BaselineScorer)
    calibrated = load_scorer(hand_built_model_dir(tmp_path / "calibrated", spec))
    assert isinstance(calibrated, CalibratedScorer)
    assert isinstance(calibrated.inner, BaselineScorer)
    assert calibrated.meta.calibration == spec

    raw = calibrated.inner.predict_proba(RECORDS)
    np.testing.assert_allclose(raw, plain.predict_proba(RECORDS), rtol=0, atol=1e-12)
    p = calibrated.predict_proba(RECORDS)
    np.testing.assert_allclose(p, apply_calibration(spec, raw), rtol=0, atol=1e-12)
    assert not np.allclose(p, raw)

    predictions = load_predictor(str(tmp_path / "calibrated")).predict(RECORDS, threshold=0.5)
    assert [r["p_overturned"] for r in predictions] == pytest.approx(list(p), abs=1e-12)
    assert [r["predicted_decision"] for r in predictions] == ["Overturned" if x >= 0.5 else "Upheld" for x in p]


# --- a baseline split run with calibration and the leakage audit ----------------------------

MODEL_NAME = "imr-test-evaluation"


def example_matches_signature() -> bool:
    from mlflow.exceptions import MlflowException
    from mlflow.models import validate_schema

    from serving.pyfunc_model import input_example, model_signature

    try:
        validate_schema(input_example(), model_signature().inputs)
    except MlflowException:
        return False
    return True


def test_input_example_matches_model_signature():
    assert example_matches_signature()


@pytest.fixture(scope="module")
def split_run(tmp_path_factory, small_corpus):
    """(config, TrainResult, MlflowClient, downloaded run artifacts folder, letters folder)."""
    import mlflow
    from mlflow import MlflowClient

    from training.run.train import train

    root = tmp_path_factory.mktemp("evaluation")
    letters = small_corpus
    cfg = compose(
        "baseline",
        data={"sources": [str(letters)]},
        model={"text_tfidf": {"min_df": 1, "max_features": 500}},
        evaluation={"mode": "split", "calibration": "sigmoid", "leakage_audit": True, "bootstrap_samples": 100},
        mlflow={"experiment": "imr-tests-evaluation", "registered_model_name": MODEL_NAME, "alias": "testing"},
    )
    with tracking_store(root):
        result = train(cfg)
        artifacts = Path(mlflow.artifacts.download_artifacts(run_id=result.run_id, dst_path=str(root / "artifacts")))
        yield cfg, result, MlflowClient(), artifacts, letters


def test_split_run_logs_cis_ece_and_audit_metrics(split_run):
    _, result, client, _, _ = split_run
    m = result.metrics
    for key in (
        "test_roc_auc_ci_low",
        "test_roc_auc_ci_high",
        "test_pr_auc_ci_low",
        "test_pr_auc_ci_high",
        "test_ece",
        "test_bootstrap_resamples_used",
    ):
        assert key in m, key
    assert 0 < m["test_bootstrap_resamples_used"] <= 100
    assert m["test_roc_auc_ci_low"] <= m["test_roc_auc"] <= m["test_roc_auc_ci_high"]
    assert m["test_pr_auc_ci_low"] <= m["test_pr_auc_ci_high"]
    assert 0 <= m["test_ece"] <= 1
    logged = client.get_run(result.run_id).data.metrics
    for key, value in m.items():
        assert key in logged, key
        assert (math.isnan(value) and math.isnan(logged[key])) or logged[key] == pytest.approx(value), key
    # The audit's with_rationale model is logged on the run and returned with the metrics.
    for key in ("test_roc_auc", "test_pr_auc", "test_f1", "test_brier"):
        value = logged[f"audit_with_rationale_{key}"]
        assert math.isnan(value) or 0 <= value <= 1, key
        assert m[f"audit_with_rationale_{key}"] == pytest.approx(value, nan_ok=True)
    assert {k for k in logged if not k.startswith("Headline/")} == set(m)  # Headline/ repeats key metrics


def test_split_run_metric_names(split_run):
    """Split mode keeps its test_/val_ names and the split references; no cv_ names."""
    _, result, client, _, _ = split_run
    m = result.metrics
    for prefix in ("test_", "val_", "ref_upheld_test_", "ref_category_test_"):
        for key in ("roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy", "brier"):
            assert f"{prefix}{key}" in m, prefix + key
    assert not any(k.startswith(("cv_", "ref_base_rate_cv_", "ref_category_cv_")) for k in m)
    assert m["ref_upheld_test_recall"] == 0.0 and m["ref_upheld_test_roc_auc"] == 0.5
    assert m["threshold"] == result.threshold
    run = client.get_run(result.run_id)
    assert run.data.tags["evaluation_mode"] == "split"
    assert re.fullmatch(r"baseline-C1-tfidf12-mindf1-split-sigmoid-[0-9a-f]{4}", run.info.run_name)
    assert (
        client.search_runs([run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'") == []
    )


def test_split_run_artifacts(split_run):
    _, result, client, artifacts, _ = split_run
    names = {f.path for f in client.list_artifacts(result.run_id)}
    assert {
        "MODEL_CARD.md",
        "per_category_test.md",
        "per_category_test.json",
        "top_terms.md",
        "leakage_audit.md",
        "calibration.json",
        "config.yaml",
        "ingest_report.json",
    } <= names
    assert "oof_predictions.parquet" not in names and "per_category_oof.md" not in names
    png = (artifacts / "plots" / "calibration.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")

    per_category = (artifacts / "per_category_test.md").read_text()
    assert per_category.startswith("| category | items | overturned | overturn_rate | mean_p_overturned | roc_auc |")
    n_test = int(client.get_run(result.run_id).data.params["n_test_items"])
    counts = [int(line.split("|")[2]) for line in per_category.splitlines()[2:]]
    assert sum(counts) == n_test
    table = json.loads((artifacts / "per_category_test.json").read_text())  # valid JSON: NaN became null
    assert table["columns"] == ["category", "items", "overturned", "overturn_rate", "mean_p_overturned", "roc_auc"]
    assert sum(row[1] for row in table["data"]) == n_test

    top = (artifacts / "top_terms.md").read_text().splitlines()
    assert top[0] == "| toward | feature | weight |"
    towards = [line.split("|")[1].strip() for line in top[2:]]
    assert towards.count("Overturned") == 25 and towards.count("Upheld") == 25

    audit = (artifacts / "leakage_audit.md").read_text().splitlines()
    assert audit[0].startswith("| feature_view | test_roc_auc |")
    views = [line.split("|")[1].strip() for line in audit[2:]]
    assert views == ["pre_decision", "with_rationale"]

    calibration = json.loads((artifacts / "calibration.json").read_text())
    assert calibration["method"] == "sigmoid" and {"a", "b"} <= calibration.keys()


def test_model_card_is_the_registered_description(split_run):
    from features.ingest import ingest

    cfg, result, client, artifacts, letters = split_run
    card = (artifacts / "MODEL_CARD.md").read_text()
    assert client.get_model_version(MODEL_NAME, result.model_version).description == card
    assert result.model_uri in card and card.startswith(f"# Model card: {result.model_uri}")
    dsd, _ = ingest([letters], seed=cfg.data.split_seed, fractions=tuple(cfg.data.split_fractions))
    dates = sorted(d for split in dsd.values() for d in split["decision_date"] if d)
    assert dates, "the bundled letters carry decision dates"
    assert f"Decision dates: {dates[0]} to {dates[-1]}." in card
    assert "## Limits" in card
    m = result.metrics
    ci = f"{m['test_roc_auc_ci_low']:.3f}-{m['test_roc_auc_ci_high']:.3f}"
    assert f"AUROC {m['test_roc_auc']:.3f} (95% CI {ci})" in card
    assert "Post-hoc calibration: sigmoid" in card
    assert f"ECE (adaptive bins) {m['test_ece']:.4f}" in card


def test_packaged_model_applies_calibration_at_serving(split_run):
    """Scoring the run's own test rows with the registered model reproduces the logged Brier,
    which was computed on calibrated probabilities."""
    from features.ingest import ingest
    from serving.predictor import load_predictor
    from serving.scorers import CalibratedScorer

    cfg, result, _, artifacts, letters = split_run
    dsd, _ = ingest([letters], seed=cfg.data.split_seed, fractions=tuple(cfg.data.split_fractions))
    rows = list(dsd["test"])
    y = np.array([r["label"] for r in rows])
    assert 0 < y.sum() < len(y)

    predictor = load_predictor(result.model_uri)
    assert isinstance(predictor.scorer, CalibratedScorer)
    assert predictor.scorer.meta.calibration == json.loads((artifacts / "calibration.json").read_text())
    p = np.array([r["p_overturned"] for r in predictor.predict(rows)])
    assert skm.brier_score_loss(y, p) == pytest.approx(result.metrics["test_brier"], abs=1e-6)
    assert adaptive_ece(y, p) == pytest.approx(result.metrics["test_ece"], abs=1e-6)

    raw = predictor.scorer.inner.predict_proba(rows)
    calibrated = predictor.scorer.predict_proba(rows)
    np.testing.assert_allclose(calibrated, apply_calibration(predictor.scorer.meta.calibration, raw), atol=1e-12)
    # serving may only cap an out-of-distribution item at the base rate, never raise a score
    assert np.all(p <= calibrated + 1e-12)
    assert abs(skm.brier_score_loss(y, raw) - result.metrics["test_brier"]) > 1e-6  # raw scores differ


def test_registered_split_model_carries_the_logged_threshold_and_calibration(split_run):
    from serving.predictor import load_predictor

    _, result, client, artifacts, _ = split_run
    assert str(client.get_model_version_by_alias(MODEL_NAME, "testing").version) == result.model_version
    meta = load_predictor(result.model_uri).scorer.meta
    assert meta.threshold == result.threshold
    assert meta.calibration == json.loads((artifacts / "calibration.json").read_text())


@pytest.mark.parametrize(
    "fractions, error, message",
    [
        # the default 70/15/15 hash split of 5 letters leaves validation empty
        ((0.7, 0.15, 0.15), "InputError", "the validation split\\(s\\) have no letters"),
        # every split gets letters, but only one letter has an overturned item
        ((0.4, 0.3, 0.3), "UndefinedMetricsError", "has no overturned item"),
    ],
)
def test_split_with_undefined_metrics_is_refused_before_any_run(
    seed_paths, tmp_path, monkeypatch, fractions, error, message
):
    """The 5 seed letters hold one letter with an overturned item: split metrics would be undefined."""
    from mlflow import MlflowClient

    import training.run.train
    from features.errors import InputError
    from training.run.train import train

    monkeypatch.setenv("MLFLOW_TRACKING_URI", new_store_uri(tmp_path))
    cfg = compose(
        "baseline",
        data={"sources": [str(seed_paths[0].parent)], "split_fractions": list(fractions)},
        model={"text_tfidf": {"min_df": 1}},
        evaluation={"mode": "split", "bootstrap_samples": 100},
        mlflow={"experiment": "imr-tests-evaluation-empty", "registered_model_name": "imr-test-empty"},
    )
    expected = {"InputError": InputError, "UndefinedMetricsError": training.run.train.UndefinedMetricsError}[error]
    with pytest.raises(expected, match=message):
        train(cfg)
    client = MlflowClient()
    exp = client.get_experiment_by_name("imr-tests-evaluation-empty")
    assert exp is None or client.search_runs([exp.experiment_id]) == []
    assert client.search_registered_models(filter_string="name='imr-test-empty'") == []


def test_cli_summary_prints_the_cis(split_run, capsys):
    from training.cli import print_result

    _, result, _, _, _ = split_run
    print_result(result)
    out = capsys.readouterr().out
    m = result.metrics
    assert f"model AUROC 95% CI {m['test_roc_auc_ci_low']:.3f}-{m['test_roc_auc_ci_high']:.3f}" in out
    assert re.search(rf"\nbase rate {m['base_rate']:.3f}\n", out)
    assert "out-of-fold" not in out
    model_row = next(line for line in out.splitlines() if line.startswith("model "))
    assert f"{m['test_roc_auc']:.3f}" in model_row and f"{m['test_f1']:.3f}" in model_row
