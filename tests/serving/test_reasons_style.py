"""The baseline reads case summaries without the marks of who wrote them: the session's uncalibrated
shared baseline is trained with the default config, which style-normalises its text
(features/style.py), and serving normalises a request the same way. Its reasons (serving/reasons.py)
are phrases of the request itself, so they may quote a number or a person ("pain rated 7/10"), but
never is a reason only such a mark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from style_marks import style_marks

from features.style import normalise_inputs
from features.views import model_inputs
from serving.reasons import phrase_reasons


@pytest.fixture(scope="module")
def scorer(raw_baseline_store):
    from serving.predictor import load_predictor

    return load_predictor(raw_baseline_store.result.model_uri).scorer


@pytest.fixture(scope="module")
def rows(raw_baseline_store) -> list[dict]:
    from features.ingest import ingest

    dsd, _ = ingest([raw_baseline_store.letters])
    return [row for split in dsd.values() for row in split]


def test_the_package_says_serving_must_normalise(raw_baseline_store):
    import mlflow

    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=raw_baseline_store.result.model_uri))
    meta = json.loads(next(folder.glob("artifacts/*/imr_model.json")).read_text())
    assert raw_baseline_store.config.model.normalise_style is True
    assert meta["options"] == {"normalise_style": True}


def test_no_reason_is_only_a_person_a_month_a_date_or_a_number(scorer, rows):
    from serving.reason_stoplist import informative_words

    # the raw letters have all of these, so the check can fail
    assert any(style_marks(model_inputs(r)["text"]) for r in rows)
    every = [reason for reasons in phrase_reasons(scorer.predict_proba, rows, top=100) for reason in reasons]
    assert len(every) > len(rows)
    only_marks = sorted(
        {r["text"] for r in every if not set(informative_words(r["text"])) - set(style_marks(r["text"]))}
    )
    assert only_marks == []


def test_scores_are_those_of_the_normalised_text(scorer, rows):
    """predict_proba feeds the TF-IDF the normalised text, as at fit."""
    texts = [normalise_inputs(model_inputs(r))["text"] for r in rows[:5]]
    by_hand = scorer.classifier.predict_proba(scorer.tfidf.transform(texts))[:, 1]
    assert list(scorer.predict_proba(rows[:5])) == pytest.approx(list(by_hand))
