"""The streamed baseline (model.features: streamed; training.families.streamed_*): trained by `train` from
an `imr ingest` output of the small synthetic corpus, packaged, and served by serving's own code.

- the package: a hashed pipeline, named top terms, the hashed precedents index and the criteria;
- serving's scorer on the records gives exactly the scores cross-validation computed from the cache;
- reasons quote the request's own phrases;
- the evidence built a block at a time equals what the exact pipeline builds from the records (the
  criteria table, the out-of-distribution vocabulary) or agrees with it to float precision (the
  precedents' similarities: the same tokens, idf and norms, hashed);
- model.features: auto decides on the corpus's letters; the streamed pipeline refuses blocks it cannot fit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from compose import compose
from conftest import downloaded_model_folder, tracking_store

from serving.reasons import phrase_reasons
from training.imr import main

MODEL_NAME = "imr-test-streamed"


def streamed_config(dataset: Path, **model):
    return compose(
        "baseline",
        data={"dataset": str(dataset)},
        model={"features": "streamed", "streamed": {"n_features": 2**18}, **model},
        evaluation={"folds": 3, "repeats": 1, "bootstrap_samples": 50, "writer_shift": False},
        mlflow={"experiment": "imr-tests-streamed", "registered_model_name": MODEL_NAME, "alias": "testing"},
    )


@pytest.fixture(scope="module")
def ingested(small_corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("streamed") / "ingest"
    assert main(["ingest", str(small_corpus), "--out", str(out), "--progress", "off"]) == 0
    return out


@pytest.fixture(scope="module")
def run(ingested, tmp_path_factory):
    """(config, TrainResult, the registered model's folder)."""
    from training.run.train import train

    root = tmp_path_factory.mktemp("streamed-store")
    cfg = streamed_config(ingested)
    with tracking_store(root):
        result = train(cfg)
        yield cfg, result, downloaded_model_folder(result.model_uri, root / "download")


@pytest.fixture(scope="module")
def items(ingested):
    from training.data.loading import load_splits
    from training.data.splits import corpus_items

    cfg = streamed_config(ingested)
    dsd, _ = load_splits(cfg.data)
    return corpus_items(dsd, "pre_decision", cfg.data.dataset_path())


def test_the_package_holds_a_hashed_pipeline_and_its_evidence(run):
    from serving.scorers import load_scorer
    from training.families.hashed_terms import TERM_NAMES_FILE, hashing_step

    cfg, result, folder = run
    meta = json.loads((folder / "imr_model.json").read_text())
    assert {
        "pipeline.skops",
        TERM_NAMES_FILE,
        "training_vocabulary.json",
        "precedents/items.parquet",
        "precedents/matrix.npz",
        "precedents/vectorizer.json",
        "precedents/idf.npz",
        "criteria/table.json",
        "criteria/letters.npy",
    } <= set(meta["files"])
    scorer = getattr(load_scorer(folder), "inner", None) or load_scorer(folder)  # inside the calibration
    assert scorer.text_only and hashing_step(scorer.tfidf).n_features == 2**18
    assert result.metrics["cv_roc_auc"] > 0.5
    names = json.loads((folder / TERM_NAMES_FILE).read_text())
    assert len(names["columns"]) == 50 and all(isinstance(t, list) for t in names["columns"].values())


def test_the_run_logs_its_choice_and_named_top_terms(run):
    import mlflow

    _, result, _ = run
    run_data = mlflow.MlflowClient().get_run(result.run_id).data
    assert run_data.params["model.features"] == "streamed"
    terms = mlflow.artifacts.load_text(f"runs:/{result.run_id}/top_terms.md")
    rows = [
        line for line in terms.splitlines() if line.startswith("| ") and "feature" not in line and "---" not in line
    ]
    assert len(rows) == 50 and not any("#" in row for row in rows)  # every strong column named


def test_served_scores_equal_the_scores_from_the_cache(run, items):
    from serving.scorers import load_scorer
    from training.data.workers import Workers
    from training.families import streamed_features, streamed_fit
    from training.tracking import progress

    cfg, _, folder = run
    scorer = load_scorer(folder)
    inner = getattr(scorer, "inner", scorer)  # the cache path scores raw, before the calibration
    cache = streamed_features.feature_cache(cfg.model, "pre_decision", items.source, Workers(1), progress)
    from_cache = streamed_fit.held_out_scores(inner, cache, items.positions)
    from_records = inner.predict_proba(items.records())
    np.testing.assert_allclose(from_cache, from_records, rtol=0, atol=1e-12)
    assert np.ptp(from_records) > 0.05  # the scores differ: the text reaches the model


def test_reasons_are_the_requests_own_phrases(run, items):
    """A hashed pipeline keeps no vocabulary; its reasons, like every family's (serving.reasons), are
    phrases of the request left out, so they quote the request's own words."""
    from serving.scorers import load_scorer

    _, _, folder = run
    scorer = load_scorer(folder)
    record = next(r for r in items.records() if len((r["case_summary"] or "").split()) > 40)
    [reasons] = phrase_reasons(scorer.predict_proba, [record], top=5)
    assert reasons and {r["kind"] for r in reasons} <= {"treatment", "documents", "lacks", "finding"}
    summary = " ".join(record["case_summary"].split())
    for reason in reasons:
        if reason["kind"] in ("documents", "finding"):
            assert reason["quote"].removesuffix(" …").split(" ")[0] in summary, reason


def test_streamed_evidence_equals_the_records_evidence(items, tmp_path):
    from serving.criteria import LETTERS_FILE, TABLE_FILE, build_table
    from serving.ood import VOCAB_FILE, write_training_vocabulary
    from serving.precedents import PrecedentIndex, build_index
    from training.data.workers import Workers
    from training.families import streamed_evidence, streamed_features, streamed_fit
    from training.tracking import progress

    cfg = streamed_config(Path("unused"))
    records = items.records()
    exact, streamed = tmp_path / "exact", tmp_path / "streamed"
    exact.mkdir()
    streamed.mkdir()
    build_index(records, exact)
    build_table(records, exact)
    write_training_vocabulary(exact, records)
    cache = streamed_features.feature_cache(cfg.model, "pre_decision", items.source, Workers(1), progress)
    streamed_fit.write_training_vocabulary(streamed, cache, items.positions)
    streamed_evidence.write_evidence(streamed, items.source, items.positions, Workers(1), progress)
    assert (exact / TABLE_FILE).read_text() == (streamed / TABLE_FILE).read_text()
    assert np.array_equal(np.load(exact / LETTERS_FILE), np.load(streamed / LETTERS_FILE))
    assert json.loads((exact / VOCAB_FILE).read_text()) == json.loads((streamed / VOCAB_FILE).read_text())
    learned, hashed = PrecedentIndex(exact), PrecedentIndex(streamed)
    assert len(learned) == len(hashed) == len(records)
    assert learned.rows == hashed.rows
    for record in records[:: max(1, len(records) // 8)]:
        a = np.asarray(learned.matrix @ learned.vector(record).T.toarray()).ravel()
        b = np.asarray(hashed.matrix @ hashed.vector(record).T.toarray()).ravel()
        np.testing.assert_allclose(a, b, atol=1e-5)
        assert a.max() > 0.5  # the record's own item: the comparison is not of zeros


def test_a_hashed_index_needs_its_idf_in_the_manifest(items, tmp_path):
    from serving.model_dir import ModelIntegrityError
    from serving.precedents import FILES, load_precedents
    from training.data.workers import Workers
    from training.families import streamed_evidence
    from training.tracking import progress

    files = streamed_evidence.write_evidence(tmp_path, items.source, items.positions[:40], Workers(1), progress)
    assert load_precedents(tmp_path, dict.fromkeys(files, "")) is not None
    with pytest.raises(ModelIntegrityError, match="idf"):
        load_precedents(tmp_path, dict.fromkeys(FILES, ""))


def test_auto_decides_on_the_corpus_letters():
    from training.config import ConfigError
    from training.families.baseline import resolve

    cfg = compose("baseline", model={"streamed_from_letters": 100})
    assert cfg.model.features == "auto"
    assert resolve(cfg, 99).model.features == "exact"
    assert resolve(cfg, 100).model.features == "streamed"
    assert resolve(compose("baseline", model={"features": "exact"}), 10**6).model.features == "exact"
    blocks = compose("baseline", model={"streamed_from_letters": 100, "metadata_columns": True})
    assert resolve(blocks, 99).model.features == "exact"
    with pytest.raises(ConfigError, match="metadata_columns"):
        resolve(blocks, 100)


def test_streamed_refuses_blocks_it_cannot_fit():
    from training.config import ConfigError

    with pytest.raises((ConfigError, ValueError), match="treatment_tfidf"):
        compose("baseline", model={"features": "streamed", "treatment_tfidf": {"analyzer": "char_wb"}})
