"""The whole chain on the synthetic corpus (tests/synthetic_corpus.py), which needs nothing from
../shared: ingest, cross-validated training from configs/baseline.yaml plus overrides,
registration, the Python API and the HTTP service. The planted signal makes the ranking checks
able to fail: a chain that loses the case summary, shuffles labels or leaks folds scores wrong."""

from __future__ import annotations

import json

import pytest
from compose import compose
from conftest import tracking_store, wait_ready
from fastapi.testclient import TestClient
from synthetic_corpus import HELPED, NOT_HELPED, write_corpus

from features.letter import OVERTURNED, UPHELD
from serving.http import create_app
from training.imr import main
from training.run.train import train

MODEL_NAME = "imr-synthetic"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    decisions = write_corpus(root / "letters", n_letters=60)
    return root, decisions


@pytest.fixture(scope="module")
def trained(synthetic):
    root, _ = synthetic
    cfg = compose(
        "baseline",
        data={"sources": [str(root / "letters")]},
        model={"text_tfidf": {"min_df": 1}},
        evaluation={"folds": 3, "repeats": 1, "bootstrap_samples": 100},
        mlflow={"experiment": "imr-synthetic", "registered_model_name": MODEL_NAME, "alias": "testing"},
    )
    with tracking_store(root):  # for the whole module: the tests below load the registered model
        yield train(cfg)


def test_every_synthetic_letter_is_ingested(synthetic, tmp_path, capsys):
    root, decisions = synthetic
    assert main(["ingest", str(root / "letters"), "--out", str(tmp_path / "ingest")]) == 0
    report = json.loads((tmp_path / "ingest" / "report.json").read_text())
    assert (report["parsed"], report["rejected"], report["duplicate"]) == (len(decisions), 0, 0)
    assert report["items"] == sum(len(d) for d in decisions.values())
    assert report["overturned"] == sum(d.count(OVERTURNED) for d in decisions.values())


def test_out_of_fold_metrics_find_the_planted_signal(synthetic, trained):
    _, decisions = synthetic
    overturned = sum(d.count(OVERTURNED) for d in decisions.values())
    items = sum(len(d) for d in decisions.values())
    m = trained.metrics
    assert m["cv_roc_auc"] > 0.75, m["cv_roc_auc"]  # the planted signal gives ~0.85; chance is 0.5
    assert m["cv_roc_auc"] > m["ref_category_cv_roc_auc"] + 0.1
    # calibrated: the mean probability is near the corpus's overturn rate
    assert abs(m["cv_mean_p"] - overturned / items) < 0.1


def test_the_registered_model_ranks_new_requests_by_the_signal(trained, synthetic):
    from serving.predictor import load_predictor

    predictor = load_predictor(trained.model_uri)
    requests = [
        {"treatment": "Acupuncture x 6 sessions", "case_summary": text.format(t="acupuncture")}
        for text in (HELPED, NOT_HELPED)
    ]
    helped, not_helped = predictor.predict(requests)
    assert helped["p_overturned"] > 2 * not_helped["p_overturned"]
    assert not_helped["predicted_decision"] == UPHELD


def test_the_service_scores_with_the_registered_model(trained):
    with TestClient(create_app(f"models:/{MODEL_NAME}@testing"), base_url="http://localhost") as client:
        wait_ready(client)
        response = client.post("/v1/predict", json={"items": [{"treatment": "TENS unit purchase"}]})
    assert response.status_code == 200, response.text
    prediction = response.json()["predictions"][0]
    assert 0 < prediction["p_overturned"] < 1 and prediction["model_name"] == MODEL_NAME
