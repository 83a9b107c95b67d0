"""The chain on real letters, on top of the synthetic suite: a cross-validated baseline trained on
16 bundled PDFs and the 5 seed letters (conftest.real_small_corpus) has defined metrics and scores
a real letter read from its PDF. Skips without ../shared, and fails there in CI."""

from __future__ import annotations

import math

import pytest
from compose import compose
from conftest import OVERTURNED_PDFS, tracking_store

pytestmark = pytest.mark.slow


def test_a_baseline_trains_on_real_letters_and_scores_a_real_pdf(real_small_corpus, tmp_path):
    from features.dataset import item_rows
    from features.extract import read_letter_text
    from features.parser import parse_letter
    from serving.predictor import load_predictor
    from training.run.train import train

    cfg = compose(
        "baseline",
        data={"sources": [str(real_small_corpus)]},
        model={"text_tfidf": {"min_df": 1, "max_features": 2000}},
        # 3 folds: 9 of these letters have an overturned item (the 8 PDFs named and one seed letter)
        # no writer shift: 17 of these 21 letters share one writer template (features.writer)
        evaluation={"folds": 3, "repeats": 1, "bootstrap_samples": 100, "writer_shift": False},
        mlflow={"experiment": "imr-tests-real", "registered_model_name": "imr-test-real", "alias": "testing"},
    )
    with tracking_store(tmp_path):
        result = train(cfg)
        predictor = load_predictor(result.model_uri)
    m = result.metrics
    assert m["base_rate"] == pytest.approx(9 / 39)  # 39 items, 9 overturned
    assert all(math.isfinite(m[k]) for k in ("cv_roc_auc", "cv_pr_auc", "cv_brier", "cv_ece"))

    letter = parse_letter(read_letter_text(real_small_corpus / f"{OVERTURNED_PDFS[0]}.pdf"))
    predictions = predictor.predict(item_rows(letter, "x", "x"))
    assert len(predictions) == len(letter.items) >= 1
    assert all(0 < p["p_overturned"] < 1 and "predicted_decision" not in p for p in predictions)
    assert all(p["band"] in ("lower than usual", "about usual", "higher than usual") for p in predictions)
