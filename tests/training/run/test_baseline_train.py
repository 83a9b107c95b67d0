"""The baseline's training run (training.run.train.train, default evaluation.mode cv, 3 folds) end to end
on the small synthetic corpus (conftest.small_corpus: 36 letters, PDFs and text), tracked in a
temp MLflow store: metrics, params, artifacts, dataset inputs, the registered model and its alias,
the packaged model folder (skops + code, no pickle), determinism, and no clinical text in what is
logged as metadata. The run checked is the session's shared baseline (conftest), which the
serving tests serve."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml
from conftest import BASELINE_NAME, tracking_store

from training.config import resolved_yaml
from training.config_loading import validate_config
from training.data.loading import load_splits

METRIC_KEYS = (
    "roc_auc",
    "pr_auc",
    "precision",
    "recall",
    "f1",
    "accuracy",
    "brier",
    "brier_skill",
    "log_loss",
    "ece",
    "mean_p",
)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".cloudpickle", ".joblib", ".pt", ".pth")


def same_metrics(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


@pytest.fixture(scope="module")
def corpus(baseline_store) -> Path:
    return baseline_store.letters


@pytest.fixture(scope="module")
def trained(baseline_store):
    """(config, TrainResult, MlflowClient, alias version) of the shared baseline, whose store this
    module reads (and never writes)."""
    from mlflow import MlflowClient

    cfg, result = baseline_store.config, baseline_store.result
    assert cfg.evaluation.mode == "cv"  # the default
    client = MlflowClient()
    alias_version = client.get_model_version_by_alias(baseline_store.name, baseline_store.alias).version
    return cfg, result, client, str(alias_version)


@pytest.fixture(scope="module")
def model_folder(trained, tmp_path_factory) -> Path:
    """The logged MLflow model, downloaded."""
    import mlflow

    _, result, _, _ = trained
    dst = tmp_path_factory.mktemp("logged_model")
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=result.model_uri, dst_path=str(dst)))


@pytest.fixture(scope="module")
def clinical_snippets(corpus) -> list[str]:
    """Passages of the training letters' case summaries and treatment names."""
    from features.ingest import ingest_files

    snippets = set()
    for r in ingest_files([corpus]):
        summary = re.sub(r"\s+", " ", r.letter.case_summary)
        for start in range(0, max(len(summary) - 40, 1), max(len(summary) // 4, 1)):
            snippets.add(summary[start : start + 40])
        snippets.update(i.treatment for i in r.letter.items if len(i.treatment.split()) >= 4)
    assert len(snippets) > 40
    return sorted(snippets)


# --- the result and the run ----------------------------------------------------------------


def test_result_names_the_registered_version(trained):
    cfg, result, client, _ = trained
    assert re.fullmatch(rf"models:/{BASELINE_NAME}/\d+", result.model_uri)
    assert result.model_uri == f"models:/{BASELINE_NAME}/{result.model_version}"
    mv = client.get_model_version(BASELINE_NAME, result.model_version)
    assert mv.run_id == result.run_id
    assert mv.source == result.logged_model_uri
    assert 0 < result.threshold < 1
    assert result.summary()["model_uri"] == result.model_uri


def test_alias_from_config_points_at_the_new_version(trained):
    _, result, _, alias_version = trained
    assert alias_version == result.model_version


def test_metrics_are_complete_and_logged(trained):
    cfg, result, client, _ = trained
    m = result.metrics
    for prefix in ("cv_", "ref_base_rate_cv_", "ref_category_cv_"):
        for key in METRIC_KEYS:
            assert math.isfinite(m[f"{prefix}{key}"]), f"{prefix}{key}"
        for key in ("roc_auc", "pr_auc", "brier_skill"):
            assert m[f"{prefix}{key}_ci_low"] <= m[f"{prefix}{key}"] <= m[f"{prefix}{key}_ci_high"], prefix + key
    assert not any(k.endswith("_repeat_std") for k in m)  # one repeat
    assert not any(k.startswith(("test_", "val_", "ref_upheld")) for k in m)
    for key, value in m.items():
        if (
            key.endswith(("roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy", "brier", "ece", "mean_p"))
            or "_ci_" in key
            and "brier_skill" not in key
        ):
            assert 0 <= value <= 1, (key, value)
        assert math.isfinite(value), key
    assert m["threshold"] == result.threshold
    # The base-rate reference predicts the training rate: no skill over itself, never reaches 0.5
    assert m["ref_base_rate_cv_brier_skill"] == 0.0 and m["ref_base_rate_cv_recall"] == 0.0
    labels = [label for split in load_splits(cfg.data)[0].values() for label in split["label"]]
    assert m["base_rate"] == pytest.approx(sum(labels) / len(labels))
    run = client.get_run(result.run_id)
    logged = dict(run.data.metrics)
    headline = {k: logged.pop(k) for k in list(logged) if k.startswith("Headline/")}
    assert same_metrics(logged, m)
    # the Headline/ group repeats the run's key metrics, rounded to 3 decimals, under a name that sorts first
    assert "Headline/cv_roc_auc" in headline and "Headline/cv_within_fold_roc_auc" in headline
    assert same_metrics(headline, {k: round(m[k.removeprefix("Headline/")], 3) for k in headline})


def test_params_tags_and_config_artifact(trained, tmp_path):
    import mlflow

    cfg, result, client, _ = trained
    run = client.get_run(result.run_id)
    params = run.data.params
    assert params["model.classifier.C"] == "1.0"
    assert params["model.text_tfidf.max_features"] == "2000"
    assert params["mlflow.alias"] == cfg.mlflow.alias
    assert params["data.feature_view"] == "pre_decision"
    assert run.data.tags["family"] == "baseline"
    assert run.data.tags["feature_view"] == "pre_decision"
    assert run.data.tags["registered_model"] == result.model_uri

    local = Path(
        mlflow.artifacts.download_artifacts(run_id=result.run_id, artifact_path="config.yaml", dst_path=str(tmp_path))
    )
    logged = yaml.safe_load(local.read_text())
    assert validate_config(logged) == cfg
    assert local.read_text() == resolved_yaml(cfg)


def test_ingest_report_and_split_sizes(trained, corpus, tmp_path):
    import mlflow

    _, result, client, _ = trained
    report = json.loads(
        Path(
            mlflow.artifacts.download_artifacts(
                run_id=result.run_id, artifact_path="ingest_report.json", dst_path=str(tmp_path)
            )
        ).read_text()
    )
    assert report["total_files"] == report["parsed"] == len(list(corpus.iterdir()))
    assert report["rejected"] == 0
    params = client.get_run(result.run_id).data.params
    n = {split: int(params[f"n_{split}_items"]) for split in ("train", "validation", "test")}
    assert sum(n.values()) == report["items"]
    assert {split: c["items"] for split, c in report["splits"].items()} == n
    assert all(c["overturned"] >= 1 for c in report["splits"].values())


def test_plots_are_logged_as_png(trained, tmp_path):
    import mlflow

    _, result, client, _ = trained
    names = {Path(f.path).name for f in client.list_artifacts(result.run_id, "plots")}
    assert names == {"roc.png", "precision_recall.png", "calibration.png", "bands.png"}
    local = Path(
        mlflow.artifacts.download_artifacts(run_id=result.run_id, artifact_path="plots", dst_path=str(tmp_path))
    )
    for name in names:
        data = (local / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 2000, name


def test_dataset_inputs_for_each_split(trained):
    _, result, client, _ = trained
    run = client.get_run(result.run_id)
    by_context = {}
    for di in run.inputs.dataset_inputs:
        tags = {t.key: t.value for t in di.tags}
        by_context[tags["mlflow.data.context"]] = di.dataset
    assert set(by_context) == {"train", "validation", "test"}
    digests = set()
    for split, ds in by_context.items():
        assert ds.name == f"imr-letters-{split}"
        assert ds.digest and re.fullmatch(r"[0-9a-f]+", ds.digest)
        digests.add(ds.digest)
        assert json.loads(ds.profile)["num_rows"] == int(run.data.params[f"n_{split}_items"])
        columns = {c["name"] for c in json.loads(ds.schema)["mlflow_colspec"]}
        assert {"label", "treatment", "letter_id"} <= columns
    assert len(digests) == 3


# --- the packaged model --------------------------------------------------------------------


def test_model_folder_is_skops_and_code_not_pickle(trained, model_folder):
    _, result, _, _ = trained
    files = [p for p in model_folder.rglob("*") if p.is_file()]
    pickles = [p for p in files if p.suffix.lower() in PICKLE_SUFFIXES]
    assert pickles == [], f"pickled files in the logged model: {pickles}"

    mlmodel = yaml.safe_load((model_folder / "MLmodel").read_text())
    pyfunc = mlmodel["flavors"]["python_function"]
    assert "python_model" not in pyfunc  # cloudpickled wrappers are stored under this key
    assert pyfunc["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert Path(pyfunc["model_code_path"]).name == "pyfunc_entry.py"
    assert (model_folder / "pyfunc_entry.py").is_file()
    assert (model_folder / "code" / "serving" / "scorers.py").is_file()
    assert (model_folder / "code" / "features" / "views.py").is_file()

    inner = model_folder / "artifacts" / "model"
    names = sorted(p.relative_to(inner).as_posix() for p in inner.rglob("*") if p.is_file())
    # the precedents index and the evaluation ship in the package, hashed like the model (serving/precedents.py)
    assert {
        "imr_model.json",
        "pipeline.skops",
        "evaluation.json",
        "precedents/items.parquet",
        "precedents/matrix.npz",
        "precedents/vectorizer.json",
    } <= set(names)
    meta = json.loads((inner / "imr_model.json").read_text())
    assert meta["family"] == "baseline"
    assert meta["feature_view"] == "pre_decision"
    assert meta["threshold"] == result.threshold
    from serving.model_dir import sha256_file

    assert meta["files"] == {name: sha256_file(inner / name) for name in names if name != "imr_model.json"}


def test_no_clinical_text_in_logged_metadata(trained, model_folder, clinical_snippets, tmp_path):
    """Params, tags, metric names, every text artifact of the run (config, ingest report, tables,
    model card...), the dataset descriptions, the registry description and the model's input
    example carry no case summary or multi-word treatment name from the training letters."""
    import mlflow

    _, result, client, _ = trained
    run = client.get_run(result.run_id)
    texts = {
        "params": json.dumps(run.data.params),
        "tags": json.dumps(run.data.tags),
        "metric names": " ".join(run.data.metrics),
        "datasets": json.dumps(
            [[d.dataset.source, d.dataset.profile, d.dataset.schema] for d in run.inputs.dataset_inputs]
        ),
        "registry description": client.get_model_version(BASELINE_NAME, result.model_version).description or "",
        "input example": (model_folder / "input_example.json").read_text(),
        "MLmodel": (model_folder / "MLmodel").read_text(),
    }
    artifacts = Path(mlflow.artifacts.download_artifacts(run_id=result.run_id, dst_path=str(tmp_path)))
    for path in artifacts.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml", ".yml", ".md", ".txt", ".csv", ".html"):
            texts[str(path.relative_to(artifacts))] = path.read_text(errors="replace")
    assert "ingest_report.json" in texts and "config.yaml" in texts
    for where, text in texts.items():
        flat = re.sub(r"\s+", " ", text)
        leaked = [s for s in clinical_snippets if s in flat]
        assert not leaked, f"clinical text in {where}: {leaked[:3]}"


# --- determinism ---------------------------------------------------------------------------


def test_training_twice_gives_identical_metrics_and_scores(trained, tmp_path, capsys):
    """The same config trained again, this time through `imr train` into a store of its own, gives
    the same metrics and the same probabilities, and registers a version under the alias."""
    import pandas as pd
    from mlflow import MlflowClient

    from serving.predictor import load_predictor
    from training.imr import main

    cfg, first, _, _ = trained
    first_predictor = load_predictor(first.model_uri)
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(resolved_yaml(cfg))
    summary_path = tmp_path / "out" / "summary.json"
    (tmp_path / "again").mkdir()
    with tracking_store(tmp_path / "again"):
        assert main(["train", "--config", str(config_path), "--summary", str(summary_path)]) == 0
        summary = json.loads(summary_path.read_text())
        assert summary["model_uri"] in capsys.readouterr().out
        assert (
            str(MlflowClient().get_model_version_by_alias(BASELINE_NAME, cfg.mlflow.alias).version)
            == (summary["model_version"])
        )
        second_predictor = load_predictor(summary["model_uri"])

    assert same_metrics(summary["metrics"], first.metrics)
    assert summary["threshold"] == first.threshold

    requests = [
        {"treatment": "MRI of the lumbar spine"},
        {
            "treatment": "Norco 10/325mg #60",
            "case_summary": "Chronic low back pain, on opioids for two years.",
            "patient_age": 52,
            "patient_sex": "male",
            "days_since_injury": 800,
        },
        {
            "treatment": "Physical therapy 2x6 for the right knee",
            "partial_approval": True,
            "original_request": "Physical therapy 3x6",
            "authorized_portion": "Physical therapy 2x3",
        },
    ]
    a, b = first_predictor.predict(requests), second_predictor.predict(requests)
    assert [r["p_overturned"] for r in a] == [r["p_overturned"] for r in b]

    # the raw model scores, before calibration (on this tiny corpus the calibrator may be a
    # constant) and before serving's out-of-distribution cap
    def raw(predictor):
        return getattr(predictor.scorer, "inner", predictor.scorer).predict_proba(requests)

    scores = raw(first_predictor)
    assert scores.tolist() == raw(second_predictor).tolist()
    assert pd.Series(scores).nunique() == 3  # the inputs matter
