"""Writer-shift evaluation: the case summary's writer template (features/writer.py), folds that hold
out one template each (training.data.folds.writer_folds), and the `cv_writer_*` metrics a cv run logs
beside its letter folds' `cv_*` (training.run.train), read on the session's shared baseline (its config
is the default, writer_shift on; the small corpus has four writer templates)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from compose import compose
from conftest import tracking_store
from synthetic_corpus import WRITER_OPENINGS, write_small_corpus

from features.writer import OTHER, writer_template
from training.data.folds import MIN_WRITER_LETTERS, FoldError, writer_folds, writer_groups


@pytest.mark.parametrize(
    ("summary", "template"),
    [
        ("The injured worker is a 48 year old male who sustained an industrial injury.", "injured_worker"),
        ("This is a 78 year old male with a date of injury on 10-20-2016. The injured worker is", "injured_worker"),
        ("The 58 year old female injured employee suffered an industrial injury.", "injured_worker"),
        ("This case involves a now 52-year-old female. The injured worker", "this_case_involves"),
        ("The applicant is a 48-year-old male who has filed a claim.", "applicant"),
        ("The patient is a 55 year old male.", "patient"),
        ("A 40 year old man fell.", OTHER),
        ("", OTHER),
        (None, OTHER),
    ],
)
def test_writer_template(summary, template):
    assert writer_template(summary) == template


def test_only_the_opening_names_the_template():
    assert writer_template("A 40 year old man fell. " + "x " * 200 + "the applicant") == OTHER


def letters(spec: dict[str, list[int]]) -> tuple[list[str], list[str], list[int]]:
    """Items (template, letter key, label) from {template: [overturned items of each letter]}, two
    items per letter."""
    rows = [
        (template, f"{template}-{i}", int(j < positives))
        for template, per_letter in spec.items()
        for i, positives in enumerate(per_letter)
        for j in range(2)
    ]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def test_every_template_is_one_fold_and_every_fold_has_an_overturn():
    templates, keys, y = letters({"a": [1, 0, 0, 0, 0, 0], "b": [0, 2, 0, 0, 0], "c": [1, 1, 0, 0, 0, 0, 0]})
    folds = writer_folds(templates, keys, y)
    assert [f.index for f in folds] == [0, 1, 2] and {f.repeat for f in folds} == {0}
    t, yy = np.array(templates), np.array(y)
    for fold, name in zip(folds, ["a", "b", "c"], strict=True):
        assert set(t[fold.test]) == {name} and name not in set(t[fold.train])
        assert yy[fold.test].sum() > 0 and yy[fold.train].sum() > 0
        assert sorted([*fold.train, *fold.test]) == list(range(len(templates)))


def test_small_templates_and_those_without_an_overturn_join_the_largest():
    spec = {"big": [1] + [0] * 9, "mid": [1, 0, 0, 0, 0], "tiny": [1, 1], "none": [0] * 6}
    templates, keys, y = letters(spec)
    assert MIN_WRITER_LETTERS > len(spec["tiny"])
    assert writer_groups(templates, keys, y) == {"big": "big", "mid": "mid", "tiny": "big", "none": "big"}
    folds = writer_folds(templates, keys, y)
    t = np.array(templates)
    assert [sorted(set(t[f.test])) for f in folds] == [["big", "none", "tiny"], ["mid"]]


def test_fewer_than_two_usable_templates_is_a_clear_error():
    templates, keys, y = letters({"injured_worker": [1, 0, 0, 0, 0, 0], "applicant": [1, 0], "patient": [0] * 6})
    with pytest.raises(FoldError) as error:
        writer_folds(templates, keys, y)
    message = str(error.value)
    assert "applicant: 2 letters, 1 overturned" in message and "patient: 6 letters, 0 overturned" in message
    assert "evaluation.writer_shift: false" in message


def test_a_corpus_of_one_writer_is_refused_before_any_run(tmp_path):
    """Every letter rewritten to open as the injured-worker template (PDFs left out)."""
    from mlflow import MlflowClient

    from training.run.train import train

    folder = tmp_path / "letters"
    write_small_corpus(folder)
    openings = [re.escape(o.split("{who}")[0]) for o in WRITER_OPENINGS]
    for path in folder.iterdir():
        if path.suffix == ".pdf":
            path.unlink()
        else:
            path.write_text(re.sub("|".join(openings), "The injured worker is a ", path.read_text()))
    cfg = compose(
        "baseline",
        data={"sources": [str(folder)]},
        evaluation={"folds": 2, "repeats": 1},  # the letter folds are fine: 6 letters with an overturn
        mlflow={"experiment": "imr-tests-one-writer", "registered_model_name": "imr-test-one-writer"},
    )
    with tracking_store(tmp_path):
        with pytest.raises(FoldError, match="evaluation.writer_shift: false"):
            train(cfg)
        client = MlflowClient()
        experiment = client.get_experiment_by_name("imr-tests-one-writer")
        assert experiment is None or client.search_runs([experiment.experiment_id]) == []


# --- the cv_writer_* metrics of a cv run (the session's shared baseline) ------------------------


@pytest.fixture(scope="module")
def run(baseline_store):
    from mlflow import MlflowClient

    client = MlflowClient()
    return baseline_store, client, client.get_run(baseline_store.result.run_id)


def test_the_run_logs_writer_shift_metrics_beside_the_letter_folds(run):
    trained, _, parent = run
    assert trained.config.evaluation.writer_shift is True
    m, logged = trained.result.metrics, parent.data.metrics
    for name in ("roc_auc", "pr_auc", "brier_skill", "ece", "within_fold_roc_auc"):
        key = f"cv_writer_{name}"
        assert math.isfinite(m[key]) and logged[key] == pytest.approx(m[key]), key
    for name in ("roc_auc", "brier_skill", "within_fold_roc_auc"):
        low, high = m[f"cv_writer_{name}_ci_low"], m[f"cv_writer_{name}_ci_high"]
        assert low <= m[f"cv_writer_{name}"] <= high
        assert logged[f"Headline/cv_writer_{name}"] == round(m[f"cv_writer_{name}"], 3)  # rounded to read
    assert "under writer shift" in parent.data.tags["mlflow.note.content"]


def test_the_writer_folds_nest_in_one_run_with_their_make_up(run):
    trained, client, parent = run
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    (writer,) = [c for c in children if c.data.tags.get("stage") == "writer_shift"]
    folds = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{writer.info.run_id}'"
    )
    assert sorted(f.info.run_name for f in folds) == [f"writer-shift-repeat0-fold{k}" for k in range(4)]
    made_of = json.loads(Path(client.download_artifacts(writer.info.run_id, "writer_folds.json")).read_text())
    assert sorted(t for fold in made_of.values() for t in fold["templates"]) == sorted(
        ["applicant", "injured_worker", "patient", "this_case_involves"]
    )
    assert all(fold["overturned"] > 0 for fold in made_of.values())
    assert {k: fold["items"] for k, fold in made_of.items()} == {
        f.data.tags["cv_fold"]: int(f.data.metrics["fold_test_items"]) for f in folds
    }


def test_the_model_card_and_compare_show_the_writer_shift(run):
    from training.reporting.compare_table import run_rows

    trained, client, parent = run
    card = Path(client.download_artifacts(parent.info.run_id, "MODEL_CARD.md")).read_text()
    assert "| this model, writer shift |" in card and "Writer shift:" in card
    (row,) = [r for r in run_rows(trained.config.mlflow.experiment) if r["run_id"] == parent.info.run_id]
    assert row["writer_auroc"] == pytest.approx(trained.result.metrics["cv_writer_roc_auc"])
    assert row["writer_auroc_ci"] and math.isfinite(row["writer_brier_skill"])
