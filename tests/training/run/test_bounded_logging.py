"""What a run logs to MLflow does not grow with the corpus, except the model itself: two streamed
runs (`imr train --set data.dataset=DIR`, the documented way to train on a large corpus) on
synthetic corpora three times apart, with the caps (tracking.OOF_ITEMS_LOGGED,
loading.REPORT_FILES_KEPT) set below both corpora, log every artifact and dataset at about the
same size; the capped ones say what they left out. The runs print one progress line per stage
(stderr is not a terminal here)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from compose import compose
from conftest import tracking_store
from synthetic_corpus import write_corpus

from training.imr import main

OOF_CAP, REPORT_CAP = 30, 10
SIZES = {"small": 40, "large": 120}  # letters


def artifact_sizes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{size: (TrainResult, downloaded run artifacts, the MLflow run, stderr)}."""
    import mlflow

    import training.data.loading as loading
    import training.tracking as tracking
    from training.run.train import train

    root = tmp_path_factory.mktemp("bounded")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tracking, "OOF_ITEMS_LOGGED", OOF_CAP)
        mp.setattr(loading, "REPORT_FILES_KEPT", REPORT_CAP)
        for size, letters in SIZES.items():
            write_corpus(root / size / "letters", n_letters=letters, seed=letters)
            ingest = root / size / "ingest"
            assert main(["ingest", str(root / size / "letters"), "--out", str(ingest), "--progress", "off"]) == 0
            cfg = compose(
                "baseline",
                data={"dataset": str(ingest)},
                model={"features": "streamed", "streamed": {"n_features": 2**16}},
                evaluation={"folds": 3, "repeats": 1, "bootstrap_samples": 50, "writer_shift": False},
                mlflow={"experiment": "imr-tests-bounded", "registered_model_name": f"imr-bounded-{size}"},
            )
            with tracking_store(root / size / "store"):
                stderr = _stderr_of(lambda: train(cfg))  # noqa: B023
                result = stderr.result
                artifacts = Path(
                    mlflow.artifacts.download_artifacts(run_id=result.run_id, dst_path=str(root / size / "artifacts"))
                )
                logged = mlflow.MlflowClient().get_run(result.run_id)
            out[size] = (result, artifacts, logged, stderr.text)
    return out


class _Captured:
    result = None
    text = ""


def _stderr_of(fn) -> _Captured:
    import contextlib
    import io

    captured, buffer = _Captured(), io.StringIO()
    with contextlib.redirect_stderr(buffer):
        captured.result = fn()
    captured.text = buffer.getvalue()
    return captured


def test_the_corpora_differ_in_size(runs):
    small, large = (runs[s][0].metrics for s in SIZES)
    assert small["cv_roc_auc"] > 0.5 and large["cv_roc_auc"] > 0.5
    items = {s: len(pd.read_parquet(runs[s][1] / "oof_predictions.parquet")) for s in SIZES}
    assert items["small"] <= OOF_CAP and items["large"] <= OOF_CAP


def test_no_logged_artifact_grows_with_the_corpus(runs):
    small, large = (artifact_sizes(runs[s][1]) for s in SIZES)
    assert set(small) == set(large)
    assert {"oof_predictions.parquet", "ingest_report.json", "MODEL_CARD.md", "top_terms.md"} <= set(small)
    for name, size in small.items():
        # three times the letters: a growing artifact would be about three times as large
        assert large[name] <= 1.5 * size + 4096, (name, size, large[name])


def test_capped_artifacts_say_what_they_left_out(runs):
    for size, letters in SIZES.items():
        _, artifacts, logged, _ = runs[size]
        report = json.loads((artifacts / "ingest_report.json").read_text())
        assert report["total_files"] == letters and len(report["files"]) == 0  # every letter parsed: none listed
        assert report["files_not_listed"] == letters and report["data_digest"]
        tags = logged.data.tags
        oof = pd.read_parquet(artifacts / "oof_predictions.parquet")
        assert tags["oof_predictions_letters"] == f"sample of {oof['letter_id'].nunique()}"
        assert tags["data_digest"] == report["data_digest"]


def test_logged_datasets_are_described_not_copied(runs):
    small, large = ({d.dataset.name: d.dataset for d in runs[s][2].inputs.dataset_inputs} for s in SIZES)
    assert set(small) == set(large) == {f"imr-letters-{split}" for split in ("train", "validation", "test")}
    for name, dataset in small.items():
        for field in ("schema", "profile", "source"):
            assert len(getattr(large[name], field)) <= 1.5 * len(getattr(dataset, field)) + 64, (name, field)
        assert json.loads(large[name].profile)["num_rows"] > json.loads(dataset.profile)["num_rows"]


def test_each_stage_prints_one_progress_line(runs):
    lines = runs["large"][3].splitlines()
    for stage in (
        "features (hashed term counts): ",
        "baseline cross-validation: 3 fold in ",
        "precedents and criteria (pass 1 of 2): ",
        "precedents index (pass 2 of 2): ",
    ):
        assert sum(line.startswith(stage) for line in lines) == 1, (stage, lines)
    assert (
        sum(line.startswith("fit (SGD epochs over the blocks): ") for line in lines) == 1
    )  # the refit; folds are quiet
