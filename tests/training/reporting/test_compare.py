"""`imr compare` (training.reporting.compare_table) and `imr ui` on a temp MLflow store filled by hand with runs
named and tagged as training/run/train.py and training/run/cross_validation.py do: finished top-level runs
only (cv fold runs are nested), best AUROC first, cv runs read through their cv_* metrics, as a
table (by run name), CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from conftest import tracking_store

from training.imr import main
from training.reporting.compare_table import COLUMNS, render, run_rows

EXPERIMENT = "imr-tests-compare"
CV_EXPERIMENT = "imr-tests-compare-cv"


def split_metrics(auroc: float, **extra) -> dict[str, float]:
    m = {
        "test_roc_auc": auroc,
        "test_roc_auc_ci_low": auroc - 0.15,
        "test_roc_auc_ci_high": auroc + 0.1,
        "test_pr_auc": auroc - 0.3,
        "test_pr_auc_ci_low": auroc - 0.5,
        "test_pr_auc_ci_high": auroc - 0.1,
        "test_f1": 0.4,
        "test_brier": 0.12,
        "test_ece": 0.05,
        "ref_category_test_roc_auc": 0.6,
    }
    m.update(extra)
    return m


def cv_metrics(auroc: float) -> dict[str, float]:
    """Metric names of a cv run (training.metrics.out_of_fold), plus a split-mode name that must not be read."""
    return {
        "cv_roc_auc": auroc,
        "cv_roc_auc_ci_low": auroc - 0.15,
        "cv_roc_auc_ci_high": auroc + 0.1,
        "cv_pr_auc": 0.4,
        "cv_pr_auc_ci_low": 0.2,
        "cv_pr_auc_ci_high": 0.55,
        "cv_f1": 0.33,
        "cv_brier": 0.11,
        "cv_brier_skill": 0.08,
        "cv_ece": 0.07,
        "ref_category_cv_roc_auc": 0.58,
        "ref_base_rate_cv_roc_auc": 0.5,
        "test_roc_auc": 0.01,
        "test_f1": 0.99,
        "test_brier": 0.99,
        "test_ece": 0.99,
    }


def log_run(name: str, tags: dict, params: dict, metrics: dict, status: str = "FINISHED", nested: bool = False) -> str:
    import mlflow

    run = mlflow.start_run(run_name=name, nested=nested)
    mlflow.set_tags(tags)
    mlflow.log_params(params)
    mlflow.log_metrics(metrics)
    if not nested:
        mlflow.end_run(status=status)
    return run.info.run_id


SPLIT_TAGS = {"model_family": "baseline", "feature_view": "pre_decision", "evaluation_mode": "split"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Run ids by role, logged into a temp store that MLFLOW_TRACKING_URI points at."""
    import mlflow

    from training.reporting.experiment import open_experiment

    with tracking_store(tmp_path_factory.mktemp("compare")):
        open_experiment(EXPERIMENT)
        ids = {}
        ids["weaker"] = log_run(
            "weaker",
            SPLIT_TAGS,
            {
                "model.classifier.C": "1.0",
                "model.text_tfidf.ngram_range": "[1, 2]",
                "evaluation.calibration": "none",
                "seed": "0",
            },
            split_metrics(0.70, ref_category_test_roc_auc=math.nan),
        )
        # A fold-like nested run (better AUROC) under a finished parent that has no model_family
        # tag, so neither may appear.
        mlflow.start_run(run_name="parent-without-family")
        ids["nested_parent"] = mlflow.active_run().info.run_id
        ids["nested"] = log_run(
            "repeat0-fold0", {**SPLIT_TAGS, "cv_fold": "0", "cv_repeat": "0"}, {}, split_metrics(0.99), nested=True
        )
        mlflow.end_run()  # the nested run
        mlflow.end_run()  # its parent
        ids["failed"] = log_run(
            "failed", SPLIT_TAGS, {"model.classifier.C": "9.0"}, split_metrics(0.95), status="FAILED"
        )
        ids["killed"] = log_run("killed", SPLIT_TAGS, {}, split_metrics(0.97), status="KILLED")
        ids["stronger"] = log_run(
            "stronger",
            SPLIT_TAGS,
            {
                "model.classifier.C": "0.5",
                "model.text_tfidf.ngram_range": "[1, 2]",
                "evaluation.calibration": "sigmoid",
            },
            split_metrics(0.80),
        )
        ids["untagged"] = log_run("not-a-training-run", {}, {}, {"test_roc_auc": 0.98})
        # still running (never ended)
        client = mlflow.MlflowClient()
        exp = mlflow.get_experiment_by_name(EXPERIMENT)
        running = client.create_run(exp.experiment_id, tags=SPLIT_TAGS, run_name="running")
        client.log_metric(running.info.run_id, "test_roc_auc", 0.96)
        ids["running"] = running.info.run_id

        open_experiment(CV_EXPERIMENT)
        ids["cv"] = log_run(
            "baseline-cv-sigmoid-ab12",
            {**SPLIT_TAGS, "evaluation_mode": "cv"},
            {"model.classifier.C": "2.0"},
            cv_metrics(0.75),
        )
        # its fold runs carry better numbers under the same names and must not appear
        mlflow.start_run(run_name="baseline-cv-sigmoid-cd34")
        ids["cv_parent"] = mlflow.active_run().info.run_id
        mlflow.set_tags({**SPLIT_TAGS, "evaluation_mode": "cv"})
        mlflow.log_metrics(cv_metrics(0.65))
        ids["cv_fold"] = log_run(
            "baseline-repeat0-fold0",
            {**SPLIT_TAGS, "evaluation_mode": "cv", "cv_fold": "0", "cv_repeat": "0", "stage": "cv_fold"},
            {},
            cv_metrics(0.99),
            nested=True,
        )
        mlflow.end_run()  # the fold run
        mlflow.end_run()  # its parent
        ids["no_auroc"] = log_run(
            "no-auroc",
            {"model_family": "transformer", "feature_view": "pre_decision"},
            {"model.max_length": "128", "model.epochs": "1.0"},
            {"test_f1": 0.2},
        )
        ids["single_class"] = log_run("single-class-test", SPLIT_TAGS, {}, split_metrics(math.nan))
        yield ids


def test_run_rows_finished_top_level_best_first(store):
    rows = run_rows(EXPERIMENT)
    assert [r["run_id"] for r in rows] == [store["stronger"], store["weaker"]]
    assert [r["run_name"] for r in rows] == ["stronger", "weaker"]
    best, other = rows
    assert set(best) == set(COLUMNS)
    assert best["auroc"] == pytest.approx(0.80) and other["auroc"] == pytest.approx(0.70)
    assert best["auroc_ci"] == "0.650-0.900"
    assert best["pr_auc"] == pytest.approx(0.50) and best["pr_auc_ci"] == "0.300-0.700"
    assert best["f1"] == pytest.approx(0.4) and best["brier"] == pytest.approx(0.12)
    assert best["ece"] == pytest.approx(0.05)
    assert best["ref_category_auroc"] == pytest.approx(0.6)
    assert math.isnan(other["ref_category_auroc"])
    assert (best["family"], best["view"], best["mode"]) == ("baseline", "pre_decision", "split")
    assert best["params"] == "classifier.C=0.5 text_tfidf.ngram_range=[1, 2] evaluation.calibration=sigmoid"
    assert "seed" not in other["params"]


def test_run_rows_cv_metrics_and_missing_auroc_last(store):
    rows = run_rows(CV_EXPERIMENT)
    assert [r["run_id"] for r in rows][:2] == [store["cv"], store["cv_parent"]]
    assert store["cv_fold"] not in {r["run_id"] for r in rows}  # fold runs are nested
    assert {r["run_id"] for r in rows[2:]} == {store["no_auroc"], store["single_class"]}
    cv = rows[0]
    assert cv["run_name"] == "baseline-cv-sigmoid-ab12"
    assert cv["mode"] == "cv"
    # the cv_* names are read, never the split-mode test_* names a cv run might also carry
    assert cv["auroc"] == pytest.approx(0.75) and cv["auroc_ci"] == "0.600-0.850"
    assert cv["pr_auc"] == pytest.approx(0.4) and cv["pr_auc_ci"] == "0.200-0.550"
    assert cv["f1"] == pytest.approx(0.33) and cv["brier"] == pytest.approx(0.11) and cv["ece"] == pytest.approx(0.07)
    assert cv["brier_skill"] == pytest.approx(0.08)
    assert cv["ref_category_auroc"] == pytest.approx(0.58)
    assert cv["params"] == "classifier.C=2.0"
    assert all(math.isnan(r["auroc"]) for r in rows[2:])
    transformer = next(r for r in rows if r["run_id"] == store["no_auroc"])
    assert transformer["mode"] == "split"  # runs before the evaluation_mode tag count as split
    assert transformer["params"] == "max_length=128 epochs=1.0"
    assert transformer["auroc_ci"] == "" and transformer["pr_auc_ci"] == ""
    # split runs have no Brier skill
    assert math.isnan(next(r for r in rows if r["run_id"] == store["single_class"])["brier_skill"])


def test_columns():
    assert COLUMNS[:2] == ["run_id", "run_name"]
    assert {
        "family",
        "view",
        "mode",
        "params",
        "auroc",
        "auroc_ci",
        "pr_auc",
        "pr_auc_ci",
        "f1",
        "brier",
        "brier_skill",
        "ece",
        "ref_category_auroc",
    } <= set(COLUMNS)


def test_render_table(store):
    text = render(run_rows(EXPERIMENT), "table")
    lines = text.splitlines()
    header = lines[0].split()
    assert header[0] == "run_name"
    for column in (
        "family",
        "mode",
        "auroc",
        "auroc_ci",
        "pr_auc",
        "pr_auc_ci",
        "f1",
        "brier",
        "brier_skill",
        "ece",
        "ref_category_auroc",
        "params",
    ):
        assert column in header, column
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert len(lines) == 4
    assert lines[2].startswith("stronger ") and lines[3].startswith("weaker ")
    assert "0.800" in lines[2] and "0.650-0.900" in lines[2] and "classifier.C=0.5" in lines[2]
    assert "0.700" in lines[3] and "nan" not in text.lower()
    # columns line up under their headers
    start = lines[0].index("auroc_ci")
    assert lines[2][start:].startswith("0.650-0.900")


def test_render_table_of_cv_runs_shows_run_names_and_brier_skill(store):
    lines = render(run_rows(CV_EXPERIMENT), "table").splitlines()
    assert lines[2].startswith("baseline-cv-sigmoid-ab12 ") and lines[3].startswith("baseline-cv-sigmoid-cd34 ")
    assert "baseline-repeat0-fold0" not in "\n".join(lines)
    start = lines[0].index("brier_skill")
    assert lines[2][start:].startswith("0.080")
    assert " cv " in lines[2]


def test_render_table_with_no_runs():
    lines = render([], "table").splitlines()
    assert lines[0].split()[0] == "run_name" and len(lines) == 2


def test_render_csv(store):
    rows = list(csv.DictReader(io.StringIO(render(run_rows(EXPERIMENT), "csv"))))
    assert len(rows) == 2
    assert list(rows[0]) == COLUMNS
    assert [r["run_id"] for r in rows] == [store["stronger"], store["weaker"]]
    assert float(rows[0]["auroc"]) == pytest.approx(0.8)
    assert rows[0]["params"] == "classifier.C=0.5 text_tfidf.ngram_range=[1, 2] evaluation.calibration=sigmoid"


def test_render_json_turns_nan_into_null(store):
    text = render(run_rows(EXPERIMENT), "json")
    assert "NaN" not in text
    data = json.loads(text)
    assert [r["run_id"] for r in data] == [store["stronger"], store["weaker"]]
    assert data[1]["ref_category_auroc"] is None
    assert data[0]["ref_category_auroc"] == pytest.approx(0.6)
    assert set(data[0]) == set(COLUMNS)
    cv = json.loads(render(run_rows(CV_EXPERIMENT), "json"))
    assert [r["auroc"] for r in cv[2:]] == [None, None]
    assert cv[0]["run_name"] == "baseline-cv-sigmoid-ab12" and cv[0]["brier_skill"] == pytest.approx(0.08)


def test_cli_compare(store, capsys):
    assert main(["compare", "--experiment", EXPERIMENT, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in data] == [store["stronger"], store["weaker"]]
    assert main(["compare", "--experiment", EXPERIMENT]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("run_name") and out.splitlines()[2].startswith("stronger")


def test_cli_compare_names_a_missing_experiment(store, capsys):
    assert main(["compare", "--experiment", "nope"]) == 2
    captured = capsys.readouterr()
    assert "'nope'" in captured.err and captured.err.startswith("imr compare:")
    assert captured.out == ""
    with pytest.raises(LookupError, match="nope"):
        run_rows("nope")


def test_cli_ui_starts_mlflow_on_the_tracking_store(store, monkeypatch, capsys):
    import os

    from training.reporting import ui_process

    calls = []

    def fake_run(command):
        calls.append(command)
        return 0

    monkeypatch.setattr(ui_process, "run_until_signalled", fake_run)
    assert main(["ui", "--port", "5055", "--experiment", CV_EXPERIMENT]) == 0
    (command,) = calls
    uri = os.environ["MLFLOW_TRACKING_URI"]
    assert command[0].endswith("mlflow") and command[1] == "ui"
    assert command[command.index("--backend-store-uri") + 1] == uri
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "5055"
    err = capsys.readouterr().err
    assert uri in err
    # the link to the experiment's training runs with the headline columns (training.reporting.ui_views)
    import mlflow

    experiment_id = mlflow.get_experiment_by_name(CV_EXPERIMENT).experiment_id
    assert (
        f"http://127.0.0.1:5055/#/experiments/{experiment_id}/runs?viewStateShareKey=imr-headline"
        "&workflowType=machine_learning"
    ) in err


def test_cli_ui_names_a_missing_experiment(store, monkeypatch, capsys):
    from training.reporting import ui_process

    monkeypatch.setattr(ui_process, "run_until_signalled", lambda command: 0)
    assert main(["ui", "--experiment", "nope"]) == 0
    assert "no experiment 'nope' yet" in capsys.readouterr().err
