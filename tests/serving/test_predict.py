"""Scoring with a trained model: `load_predictor` on every kind of URI, the MLflow pyfunc
wrapper, `imr predict` on JSON Lines, CSV and letters, and its errors. It scores with the
session's uncalibrated baseline (conftest.shared_raw_baseline, trained on the small synthetic corpus)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import RAW_BASELINE_NAME

from training.imr import main

MODEL_NAME = RAW_BASELINE_NAME
ALIAS = "testing"
PREDICTION_KEYS = {
    "p_overturned",
    "base_rate",
    "band",
    "observed_rate_scored_alike",
    "answer",
    "in_distribution",
    "ood_reason",
    "model_name",
    "model_version",
}
SCORE_COLUMNS = [
    "p_overturned",
    "base_rate",
    "band",
    "observed_rate_scored_alike",
    "answer",
    "in_distribution",
    "ood_reason",
]
NONSENSE = "asdf qwerty"

REQUESTS = [
    {"treatment": "MRI of the lumbar spine without contrast"},
    {
        "treatment": "Norco 10/325mg #60",
        "case_summary": "The injured worker reports chronic low back pain on opioids.",
        "claims_administrator_guideline": "Decision based on MTUS Chronic Pain Medical Treatment Guidelines.",
        "patient_age": 52,
        "patient_sex": "male",
        "days_since_injury": 800,
        "partial_approval": False,
        "original_request": "",
        "authorized_portion": "",
    },
    {
        "treatment": "Physical therapy 2x6 for the right knee",
        "case_summary": "Right knee pain after a fall at work.",
        "claims_administrator_guideline": "",
        "patient_age": 38,
        "patient_sex": "female",
        "days_since_injury": 90,
        "partial_approval": True,
        "original_request": "Physical therapy 3x6",
        "authorized_portion": "Physical therapy 2x3",
    },
]


@pytest.fixture(scope="module")
def env(raw_baseline_store):
    """(TrainResult, letters folder, store folder) of the session's uncalibrated baseline (these
    tests exercise scoring itself, which needs scores that vary; calibration at serving is tested
    in tests/training/run/test_split_evaluation.py); MLFLOW_TRACKING_URI points at its store for the module."""
    return raw_baseline_store.result, raw_baseline_store.letters, raw_baseline_store.root


@pytest.fixture(scope="module")
def result(env):
    return env[0]


@pytest.fixture(scope="module")
def predictor(result):
    from serving.predictor import load_predictor

    return load_predictor(result.model_uri)


@pytest.fixture(scope="module")
def logged_folder(env) -> Path:
    """The registered model's MLflow folder, downloaded (MLmodel, code/, artifacts/model/...)."""
    import mlflow

    result, _, root = env
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=result.model_uri, dst_path=str(root / "download")))


@pytest.fixture(scope="module")
def splits(env):
    """The letters split as training split them (same default seed)."""
    from features.ingest import ingest

    _, letters, _ = env
    dsd, _ = ingest([letters])
    return dsd


@pytest.fixture(scope="module")
def dataset_rows(splits) -> list[dict]:
    """Every item of the training letters as a dataset row (case summaries, None ages/days of
    the header-less letters, and the post-decision fields included)."""
    return [row for split in splits.values() for row in split]


@pytest.fixture(scope="module")
def real_summary(splits) -> str:
    """A real case summary from a training letter (read, never printed)."""
    return max(splits["train"]["case_summary"], key=len)


def run_cli(args: list[str], capsys) -> tuple[int, list[dict], str]:
    code = main(["predict", *args])
    out = capsys.readouterr()
    rows = [json.loads(line) for line in out.out.splitlines() if line.strip()]
    return code, rows, out.err


def overturn_rate(splits) -> float:
    labels = [label for split in splits.values() for label in split["label"]]
    return sum(labels) / len(labels)


def probabilities(rows) -> list[float]:
    return [r["p_overturned"] for r in rows]


# --- load_predictor ------------------------------------------------------------------------


def test_predict_output(predictor, result, splits):
    out = predictor.predict(REQUESTS)
    assert len(out) == len(REQUESTS)
    base_rate = overturn_rate(splits)  # the shipped model is refitted on every letter
    for row in out:
        # no decision by default (`decision` is gone too: it read like the letter's own decision)
        assert set(row) == PREDICTION_KEYS
        assert type(row["p_overturned"]) is float and 0.0 <= row["p_overturned"] <= 1.0
        assert row["answer"].startswith(f"{100 * row['p_overturned']:.1f}% against a base rate of")
        assert row["model_name"] == MODEL_NAME
        assert row["model_version"] == result.model_version
        assert row["base_rate"] == pytest.approx(base_rate, abs=1e-12)
        assert isinstance(row["in_distribution"], bool)
    assert predictor.predict([]) == []
    info = predictor.info()
    assert "threshold" not in info and info["trust"].startswith("Tested on ")
    assert info["family"] == "baseline" and info["feature_view"] == "pre_decision"
    assert info["run_id"] == result.run_id and info["version"] == result.model_version
    assert info["base_rate"] == pytest.approx(base_rate, abs=1e-12)


def test_a_decision_only_at_a_threshold_the_caller_gives(predictor, dataset_rows):
    """Never the max-F1 threshold tuned at training (still in the manifest, for the record)."""
    items = dataset_rows[:30]
    plain = predictor.predict(items)
    assert all("predicted_decision" not in row for row in plain)
    distinct = sorted(set(probabilities(plain)))
    cut = distinct[len(distinct) // 2]
    decided = predictor.predict(items, threshold=cut)
    assert probabilities(decided) == probabilities(plain)
    assert [r["predicted_decision"] for r in decided] == [
        "Overturned" if r["p_overturned"] >= cut else "Upheld" for r in plain
    ]
    assert {r["predicted_decision"] for r in decided} == {"Overturned", "Upheld"}
    assert [r["predicted_decision"] for r in predictor.predict(items, threshold=0.0)] == ["Overturned"] * len(items)


def test_the_answer_comes_from_the_packaged_evaluation(predictor):
    """The band and the rate of items scored alike are the packaged bands' (serving.answer)."""
    from serving.answer import band_label, scored_alike

    bands = predictor.evaluation["bands"]
    for row in predictor.predict(REQUESTS):
        assert row["band"] == band_label(row["p_overturned"], row["base_rate"], bands)
        assert row["observed_rate_scored_alike"] == scored_alike(row["p_overturned"], bands)["observed_rate"]


def test_training_items_are_in_distribution(predictor, splits):
    # the train items themselves are in distribution (held-out ones may name a drug train never saw)
    assert all(r["in_distribution"] for r in predictor.predict(list(splits["train"])))


# --- out of distribution -------------------------------------------------------------------


def raw_probability(predictor, record) -> float:
    return float(predictor.scorer.predict_proba([record])[0])


def test_nonsense_treatment_is_flagged_and_capped_at_the_base_rate(predictor, real_summary):
    record = {"treatment": NONSENSE, "case_summary": real_summary}
    row = predictor.predict([record])[0]
    assert row["in_distribution"] is False
    assert row["ood_reason"].startswith("treatment:") and "case_summary" not in row["ood_reason"]
    assert not any(word in row["ood_reason"] for word in NONSENSE.split())  # never echoes the request
    assert row["p_overturned"] == min(raw_probability(predictor, record), row["base_rate"])
    assert row["p_overturned"] <= row["base_rate"]
    assert row["band"] != "higher than usual"


def test_flagged_items_the_model_scores_above_the_base_rate_are_capped(predictor, dataset_rows):
    """Real letters with the treatment replaced by nonsense: the model still scores some of them
    above the base rate (their summaries), and every one comes back capped, never higher than usual."""
    base_rate = predictor.info()["base_rate"]
    nonsense = [{**r, "treatment": NONSENSE} for r in dataset_rows]
    raw = [raw_probability(predictor, r) for r in nonsense]
    assert any(p > base_rate for p in raw)  # so the cap is really exercised
    rows = predictor.predict(nonsense)
    assert all(r["in_distribution"] is False for r in rows)
    assert probabilities(rows) == [min(p, base_rate) for p in raw]
    assert all(r["band"] != "higher than usual" for r in rows)


def test_real_treatment_with_a_real_summary_is_in_distribution(predictor, real_summary, splits):
    for treatment in (
        "MRI of the lumbar spine",
        "Physical therapy 2x6 for the right knee",
        splits["train"][0]["treatment"],
    ):
        record = {"treatment": treatment, "case_summary": real_summary}
        row = predictor.predict([record])[0]
        assert (row["in_distribution"], row["ood_reason"]) == (True, None), treatment
        assert row["p_overturned"] == raw_probability(predictor, record)  # not capped


@pytest.mark.parametrize("summary", [None, "", "Low back pain after lifting a box at work."])
def test_empty_or_short_case_summary_is_flagged(predictor, summary):
    record = {"treatment": "MRI of the lumbar spine"} | ({} if summary is None else {"case_summary": summary})
    row = predictor.predict([record])[0]
    assert row["in_distribution"] is False
    assert row["ood_reason"] == "case_summary: empty or shorter than 20 words"
    assert row["p_overturned"] <= row["base_rate"]


def test_both_checks_failing_give_both_reasons(predictor):
    row = predictor.predict([{"treatment": NONSENSE}])[0]
    assert row["in_distribution"] is False
    assert [r.split(":")[0] for r in row["ood_reason"].split("; ")] == ["treatment", "case_summary"]


def test_treatment_words_ignore_stop_words_numbers_and_units():
    from serving.ood import treatment_words

    assert treatment_words("Norco 10/325mg #60") == {"norco"}
    assert treatment_words("MRI of the lumbar spine") == {"mri", "lumbar", "spine"}
    assert treatment_words("MRIs") == treatment_words("MRI")
    assert treatment_words("2 times a week for 6 weeks, 500 mg, right") == set()
    assert treatment_words(NONSENSE) == {"asdf", "qwerty"}


def test_the_vocabulary_is_packaged_and_hash_checked(logged_folder, splits, tmp_path):
    import json

    from serving.model_dir import ModelIntegrityError, read_verified_meta
    from serving.ood import VOCAB_FILE
    from serving.predictor import load_predictor

    folder = logged_folder / "artifacts" / "model"
    meta = read_verified_meta(folder)
    assert VOCAB_FILE in meta.files
    assert meta.base_rate == pytest.approx(overturn_rate(splits), abs=1e-12)
    vocabulary = json.loads((folder / VOCAB_FILE).read_text())
    assert vocabulary["n_items"] == sum(split.num_rows for split in splits.values())  # refitted on every letter
    assert vocabulary["min_summary_words"] == 20  # the train summaries are all far longer

    copy = tmp_path / "tampered-vocabulary"
    shutil.copytree(folder, copy)
    with open(copy / VOCAB_FILE, "a") as fh:
        fh.write(" ")
    with pytest.raises(ModelIntegrityError, match=VOCAB_FILE):
        load_predictor(str(copy))


def test_a_model_packaged_before_the_check_still_predicts(logged_folder, predictor, tmp_path):
    """No vocabulary and no base rate in imr_model.json (as written before): scored unchecked."""
    import json

    from serving.model_dir import META_FILE
    from serving.ood import VOCAB_FILE
    from serving.predictor import load_predictor

    old = tmp_path / "old-model"
    shutil.copytree(logged_folder / "artifacts" / "model", old)
    meta = json.loads((old / META_FILE).read_text())
    del meta["files"][VOCAB_FILE], meta["base_rate"]
    (old / META_FILE).write_text(json.dumps(meta))
    (old / VOCAB_FILE).unlink()

    loaded = load_predictor(str(old))
    assert loaded.info()["base_rate"] is None
    records = [{"treatment": NONSENSE}, *REQUESTS]
    rows = loaded.predict(records)
    assert all((r["in_distribution"], r["ood_reason"], r["base_rate"]) == (None, None, None) for r in rows)
    assert probabilities(rows) == [raw_probability(predictor, r) for r in records]  # nothing capped


def test_every_uri_form_loads_the_same_model(env, predictor, logged_folder):
    from serving.predictor import load_predictor

    result, _, _ = env
    expected = probabilities(predictor.predict(REQUESTS))

    by_alias = load_predictor(f"models:/{MODEL_NAME}@{ALIAS}")
    assert (by_alias.model_name, by_alias.model_version) == (MODEL_NAME, result.model_version)
    assert probabilities(by_alias.predict(REQUESTS)) == expected

    for uri in (f"runs:/{result.run_id}/model", result.logged_model_uri):
        assert probabilities(load_predictor(uri).predict(REQUESTS)) == expected, uri

    for folder in (logged_folder, logged_folder / "artifacts" / "model"):
        local = load_predictor(str(folder))
        assert local.model_name == folder.resolve().name and local.model_version is None
        assert probabilities(local.predict(REQUESTS)) == expected, folder


def test_pre_decision_scores_ignore_post_decision_fields(predictor, dataset_rows):
    flipped = [
        {
            **row,
            "decision": "Upheld" if row["label"] else "Overturned",
            "label": 1 - row["label"],
            "rationale": "The request is medically necessary and is overturned.",
            "maximus_guideline": "Decision based on something else entirely.",
            "decision_date": "2030-01-01",
        }
        for row in dataset_rows
    ]
    assert probabilities(predictor.predict(flipped)) == probabilities(predictor.predict(dataset_rows))


def test_case_summary_changes_the_score(predictor):
    bare = raw_probability(predictor, {"treatment": "Norco 10/325mg #60"})
    full = raw_probability(predictor, REQUESTS[1] | {"treatment": "Norco 10/325mg #60"})
    assert bare != full


# --- MLflow pyfunc -------------------------------------------------------------------------


def test_pyfunc_gives_the_predictor_probabilities(result, predictor):
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model(result.model_uri)
    complete = REQUESTS[1:]  # every field given in every row
    out = model.predict(pd.DataFrame(complete))
    assert list(out.columns) == SCORE_COLUMNS  # no decision without a threshold
    expected = predictor.predict(complete)
    assert out["p_overturned"].tolist() == pytest.approx(probabilities(expected), abs=1e-12)
    for column in SCORE_COLUMNS[1:]:
        assert out[column].tolist() == [r[column] for r in expected], column
    signature = model.metadata.get_output_schema()
    assert signature.input_names() == list(out.columns)
    decided = model.predict(pd.DataFrame(complete), params={"threshold": 0.0})
    assert list(decided.columns) == [*SCORE_COLUMNS, "predicted_decision"]
    assert decided["predicted_decision"].tolist() == ["Overturned"] * len(complete)
    # only `treatment` is required
    only = model.predict(pd.DataFrame({"treatment": [r["treatment"] for r in REQUESTS]}))
    assert only["p_overturned"].tolist() == pytest.approx(
        probabilities(predictor.predict([{"treatment": r["treatment"]} for r in REQUESTS])), abs=1e-12
    )


def test_pyfunc_accepts_rows_with_missing_age_and_days(result, predictor, dataset_rows):
    """Corpus rows: the header-less letters have no days_since_injury, the PDFs do, so the
    integer columns of a mixed batch arrive as floats with NaN (as `mlflow models serve` builds
    them from JSON records with nulls)."""
    import mlflow.pyfunc
    import pandas as pd

    columns = [
        "treatment",
        "case_summary",
        "claims_administrator_guideline",
        "patient_age",
        "patient_sex",
        "days_since_injury",
        "partial_approval",
        "original_request",
        "authorized_portion",
    ]
    frame = pd.DataFrame(dataset_rows)[columns]
    assert frame["days_since_injury"].isna().any() and frame["days_since_injury"].notna().any()
    out = mlflow.pyfunc.load_model(result.model_uri).predict(frame)
    assert out["p_overturned"].tolist() == pytest.approx(probabilities(predictor.predict(dataset_rows)), abs=1e-12)


# --- imr predict --input -------------------------------------------------------------------


def test_cli_jsonl_scores_valid_lines_and_reports_bad_ones(result, predictor, tmp_path, capsys):
    lines = [
        json.dumps({"id": "a", **REQUESTS[0]}),
        '{"id": "b", "treatment": "MRI"',  # 2: bad JSON
        json.dumps({"id": "c", "case_summary": "no treatment"}),  # 3: missing treatment
        "",  # 4: blank, skipped
        json.dumps({"id": "d", "treatment": "TENS unit", "patient_age": "old"}),  # 5: wrong type
        json.dumps({"id": 6, **REQUESTS[1]}),
        json.dumps(["not", "an", "object"]),  # 7
        json.dumps(REQUESTS[2]),  # 8: valid, no id
    ]
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, rows, err = run_cli(["--model", result.model_uri, "--input", str(path)], capsys)
    assert code == 0
    assert [r["line"] for r in rows] == [1, 2, 3, 5, 6, 7, 8]
    assert [r.get("id") for r in rows] == ["a", None, "c", "d", 6, None, None]  # a bad JSON line has no id

    good = {1: REQUESTS[0], 6: REQUESTS[1], 8: REQUESTS[2]}
    expected = dict(zip(good, predictor.predict(list(good.values())), strict=True))
    for row in rows:
        if row["line"] in good:
            assert "error" not in row
            assert row["p_overturned"] == expected[row["line"]]["p_overturned"]
            assert row["answer"] == expected[row["line"]]["answer"] and "predicted_decision" not in row
            assert row["base_rate"] == expected[row["line"]]["base_rate"] and "decision" not in row
            assert (row["model_name"], row["model_version"]) == (MODEL_NAME, result.model_version)
        else:
            assert "p_overturned" not in row and row["error"]
    by_line = {r["line"]: r for r in rows}
    assert "JSON" in by_line[2]["error"]
    assert "treatment" in by_line[3]["error"]
    assert "patient_age" in by_line[5]["error"]
    assert "object" in by_line[7]["error"]
    for number, field in ((2, "JSON"), (3, "treatment"), (5, "patient_age")):
        assert re.search(rf"{re.escape(str(path))}:{number}: .*{field}", err), (number, err)
    assert "scored 3 of 7" in err

    # --strict: same output, exit 1; --output writes the file
    out_path = tmp_path / "scores.jsonl"
    args = ["predict", "--model", result.model_uri, "--input", str(path), "--output", str(out_path), "--strict"]
    assert main(args) == 1
    capsys.readouterr()
    assert [json.loads(x) for x in out_path.read_text().splitlines()] == rows


def test_cli_csv(result, predictor, tmp_path, capsys):
    path = tmp_path / "requests.csv"
    path.write_text(
        "id,treatment,patient_age,patient_sex,days_since_injury,partial_approval,case_summary\n"
        "r1,MRI of the lumbar spine without contrast,,,,,\n"  # line 2
        "r2,,45,male,10,false,no treatment given\n"  # line 3
        "r3,TENS unit,old,female,10,false,\n"  # line 4
        'r4,Norco 10/325mg #60,52,male,800,false,"The injured worker reports chronic low back pain on opioids."\n'
        "r5,Physical therapy,38,unknown,90,false,\n"  # line 6: bad sex
    )
    code, rows, err = run_cli(["--model", result.model_uri, "--input", str(path)], capsys)
    assert code == 0
    assert [r["id"] for r in rows] == ["r1", "r2", "r3", "r4", "r5"]
    assert [r["line"] for r in rows] == [2, 3, 4, 5, 6]
    assert "treatment" in rows[1]["error"] and "patient_age" in rows[2]["error"] and "patient_sex" in rows[4]["error"]
    expected = predictor.predict(
        [
            {"treatment": "MRI of the lumbar spine without contrast"},
            {
                "treatment": "Norco 10/325mg #60",
                "patient_age": 52,
                "patient_sex": "male",
                "days_since_injury": 800,
                "partial_approval": False,
                "case_summary": "The injured worker reports chronic low back pain on opioids.",
            },
        ]
    )
    assert [rows[0]["p_overturned"], rows[3]["p_overturned"]] == probabilities(expected)
    assert f"{path}:4:" in err and "patient_age" in err


def test_cli_csv_without_treatment_column_exits_2(result, tmp_path, capsys):
    path = tmp_path / "no_treatment.csv"
    path.write_text("id,case_summary\n1,hello\n")
    code, rows, err = run_cli(["--model", result.model_uri, "--input", str(path)], capsys)
    assert code == 2 and rows == []
    assert "no_treatment.csv" in err and "treatment" in err


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_cli_unreadable_input_exits_2_naming_the_file(result, tmp_path, capsys, kind):
    path = tmp_path / f"input_{kind}.jsonl"
    if kind == "directory":
        path.mkdir()
    code, rows, err = run_cli(["--model", result.model_uri, "--input", str(path)], capsys)
    assert code == 2
    assert rows == []
    assert f"input_{kind}.jsonl" in err
    assert "Traceback" not in err


# Stands in for clinical text: it must never appear in an error row or on stderr.
SECRET = "Zqxj-sentinel-clinical-text"


def test_cli_validates_each_line_as_the_service_does(result, predictor, tmp_path, capsys):
    """The item model of /v1/predict: each refused line is an error row naming the line and the
    field, the others are scored, and nothing of a refused line's text is echoed."""
    from serving.http_models import PredictRequest

    bad = [
        {"id": "blank", "treatment": "   ", "case_summary": SECRET},
        {"id": "typo", "treatment": "MRI", "pateint_age": 52, "case_summary": SECRET},
        {"id": "bool", "treatment": "MRI", "patient_age": True, "case_summary": SECRET},
        {"id": {"x": SECRET}, "treatment": "MRI"},
        {"id": "secret-key", "treatment": "MRI", SECRET: 1},
    ]
    lines = [
        json.dumps(REQUESTS[0]).encode(),
        *(json.dumps(r).encode() for r in bad),
        f'{{"treatment": "Caf\u00e9 {SECRET}"}}'.encode("latin-1"),  # 7: one byte that is not UTF-8
        b'{"treatment": "MRI", "patient_age": ' + b"7" * 5000 + b"}",  # 8: json.loads refuses it
        b"[" * 100_000 + b"]" * 100_000,  # 9
        json.dumps(REQUESTS[1]).encode(),
    ]
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")  # a UTF-8 byte-order mark before line 1
    code, rows, err = run_cli(["--model", result.model_uri, "--input", str(path)], capsys)
    assert code == 0 and [r["line"] for r in rows] == list(range(1, 11))
    assert "error" not in rows[0] and "error" not in rows[9]
    assert [rows[0]["p_overturned"], rows[9]["p_overturned"]] == probabilities(predictor.predict(REQUESTS[:2]))
    errors = {r["line"]: r["error"] for r in rows if "error" in r}
    assert sorted(errors) == list(range(2, 10))
    assert "'treatment'" in errors[2] and "'<unknown field>'" in errors[3] and "'patient_age'" in errors[4]
    assert "'id'" in errors[5] and "'<unknown field>'" in errors[6]
    assert "UTF-8" in errors[7] and "JSON" in errors[8] and "JSON" in errors[9]
    for number in errors:
        assert f"{path}:{number}: " in err
    assert SECRET not in err and SECRET not in json.dumps(rows) and "pateint_age" not in err
    assert [r.get("id") for r in rows[1:6]] == ["blank", "typo", "bool", None, "secret-key"]  # an invalid id is not
    for record in bad:  # the service refuses the same items
        with pytest.raises(ValueError):
            PredictRequest.model_validate({"items": [record]})


def test_cli_csv_bom_bad_bytes_and_huge_fields_fail_their_row_only(result, predictor, tmp_path, capsys):
    path = tmp_path / "requests.csv"
    path.write_bytes(
        b"\xef\xbb\xbfid,treatment,case_summary\n"  # BOM before the header
        b"r1,MRI of the lumbar spine without contrast,\n"  # line 2
        b"r2,Caf\xe9 therapy," + SECRET.encode() + b"\n"  # line 3: not UTF-8
        b'r3,MRI,"' + SECRET.encode() * 10_000 + b'"\n'  # line 4: a field over 128 KB
        b"r4,MRI,,extra\n"  # line 5: more fields than the header
        b"r5,Norco 10/325mg #60,\n"  # line 6
    )
    code, rows, err = run_cli(["--model", result.model_uri, "--input", str(path)], capsys)
    assert code == 0 and "Traceback" not in err
    assert [r["line"] for r in rows] == [2, 3, 4, 5, 6]
    assert rows[0]["id"] == "r1" and rows[4]["id"] == "r5" and "error" not in rows[0] and "error" not in rows[4]
    assert "UTF-8" in rows[1]["error"] and "field limit" in rows[2]["error"] and "fields" in rows[3]["error"]
    for number in (3, 4, 5):
        assert f"{path}:{number}: " in err
    assert SECRET not in err and SECRET not in json.dumps(rows)
    expected = predictor.predict(
        [{"treatment": "MRI of the lumbar spine without contrast"}, {"treatment": "Norco 10/325mg #60"}]
    )
    assert [rows[0]["p_overturned"], rows[4]["p_overturned"]] == probabilities(expected)


# --- imr predict --letters -----------------------------------------------------------------


def flip_letter(text: str) -> str:
    """Every decision line says Overturned and every rationale opens with a different sentence."""
    flipped = re.sub(r"(?m)^(.*\S):\s*Upheld\s*$", r"\1: Overturned", text)
    return flipped.replace(
        "Decision rationale:", "Decision rationale: The reviewer finds that the request is medically necessary."
    )


def test_cli_letters(result, predictor, seed_paths, tmp_path, capsys):
    from features.dataset import item_rows
    from features.extract import read_letter_text
    from features.parser import parse_letter

    seeds = seed_paths[:3]
    code, rows, err = run_cli(["--model", result.model_uri, "--letters", *map(str, seeds)], capsys)
    assert code == 0
    letters = [parse_letter(read_letter_text(p)) for p in seeds]
    assert len(rows) == sum(len(letter.items) for letter in letters)
    k = 0
    for path, letter in zip(seeds, letters, strict=True):
        items = item_rows(letter, "x", str(path))
        expected = predictor.predict(items)
        for index, (item, pred) in enumerate(zip(items, expected, strict=True)):
            row = rows[k]
            k += 1
            assert row["source"] == str(path)
            assert row["case_number"] == letter.case_number
            assert row["item_index"] == index
            assert row["treatment"] == item["treatment"]
            assert row["p_overturned"] == pred["p_overturned"]
            assert row["band"] == pred["band"] and "decision" not in row and "predicted_decision" not in row
            assert row["letter_decision"] == letter.items[index].decision  # the letter's own, beside it
            assert (row["in_distribution"], row["ood_reason"]) == (pred["in_distribution"], pred["ood_reason"])
            assert row["base_rate"] == pred["base_rate"] == predictor.info()["base_rate"]
            assert (row["model_name"], row["model_version"]) == (MODEL_NAME, result.model_version)
    assert {r["letter_decision"] for r in rows} == {"Upheld", "Overturned"}


def test_cli_letter_scores_do_not_depend_on_its_decisions(result, seed_paths, tmp_path, capsys):
    from features.extract import read_letter_text
    from features.parser import parse_letter

    original = next(p for p in seed_paths if p.name.startswith("002_"))
    flipped = tmp_path / "flipped.txt"
    flipped.write_text(flip_letter(original.read_text()))
    a, b = parse_letter(read_letter_text(original)), parse_letter(read_letter_text(flipped))
    # the copy really differs where it should, and only there
    assert [i.decision for i in a.items] == ["Upheld"] * 3 and [i.decision for i in b.items] == ["Overturned"] * 3
    assert all(x.rationale != y.rationale for x, y in zip(a.items, b.items, strict=True))
    assert a.case_summary == b.case_summary
    assert [i.treatment for i in a.items] == [i.treatment for i in b.items]

    _, rows_a, _ = run_cli(["--model", result.model_uri, "--letters", str(original)], capsys)
    _, rows_b, _ = run_cli(["--model", result.model_uri, "--letters", str(flipped)], capsys)
    assert len(rows_a) == 3
    # each row shows its letter's decision; everything the model says is the same
    assert [r["letter_decision"] for r in rows_a] == ["Upheld"] * 3
    assert [r["letter_decision"] for r in rows_b] == ["Overturned"] * 3
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("source", "letter_decision")} for r in rows]
    assert strip(rows_a) == strip(rows_b)


def test_cli_rejected_letter_is_reported_and_others_scored(result, seed_paths, tmp_path, capsys):
    bad = tmp_path / "minutes.txt"
    bad.write_text("Minutes of the March meeting.\n")
    code, rows, err = run_cli(
        ["--model", result.model_uri, "--letters", str(bad), str(seed_paths[0]), "--strict"], capsys
    )
    assert code == 1
    assert rows[0]["source"] == str(bad) and "error" in rows[0]
    assert all("p_overturned" in r for r in rows[1:]) and len(rows) > 1
    assert "minutes.txt" in err


# --- model errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "models:/no-such-model/1",
        f"models:/{MODEL_NAME}/999",
        f"models:/{MODEL_NAME}@no-such-alias",
        f"models:/{MODEL_NAME}",
        "runs:/0123456789abcdef0123456789abcdef/model",
        "no/such/folder",
    ],
)
def test_unknown_model_exits_2_with_a_clear_message(result, tmp_path, capsys, uri):
    from serving.predictor import ModelNotFoundError, load_predictor

    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"treatment": "MRI"}) + "\n")
    code, rows, err = run_cli(["--model", uri, "--input", str(path)], capsys)
    assert code == 2 and rows == []
    assert err.startswith("imr predict: ")
    assert uri in err
    assert "Traceback" not in err
    with pytest.raises(ModelNotFoundError):
        load_predictor(uri)


def test_a_missing_alias_names_the_aliases_that_exist(result, tmp_path, capsys):
    """`@champion` before `imr promote` set it: the message lists the model's own aliases (and no
    traceback); an unknown model lists the registered ones."""
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"treatment": "MRI"}) + "\n")
    code, rows, err = run_cli(["--model", f"models:/{MODEL_NAME}@champion", "--input", str(path)], capsys)
    assert code == 2 and rows == [] and "Traceback" not in err
    assert f"{MODEL_NAME} has no alias 'champion'; its aliases: @{ALIAS} (version {result.model_version})" in err
    assert "`imr promote` sets @champion" in err
    code, _, err = run_cli(["--model", "models:/imr-no-such-model@champion", "--input", str(path)], capsys)
    assert code == 2 and "no registered model 'imr-no-such-model'" in err and MODEL_NAME in err


def test_cli_decides_only_at_a_given_threshold_and_says_how_far_to_trust_it(result, predictor, tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in REQUESTS))
    code, rows, err = run_cli(["--model", result.model_uri, "--input", str(path)], capsys)
    assert code == 0 and all("predicted_decision" not in r for r in rows)
    assert [r["answer"] for r in rows] == [p["answer"] for p in predictor.predict(REQUESTS)]
    assert f"how far to trust it: {predictor.info()['trust']}" in err
    code, rows, _ = run_cli(["--model", result.model_uri, "--input", str(path), "--threshold", "0"], capsys)
    assert code == 0 and [r["predicted_decision"] for r in rows] == ["Overturned"] * len(REQUESTS)
    with pytest.raises(SystemExit):
        main(["predict", "--model", result.model_uri, "--input", str(path), "--threshold", "1.5"])
    assert "1.5 is not a probability" in capsys.readouterr().err


def test_folder_that_is_not_a_model_exits_2(result, tmp_path, capsys):
    folder = tmp_path / "empty_model"
    folder.mkdir()
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"treatment": "MRI"}) + "\n")
    code, _, err = run_cli(["--model", str(folder), "--input", str(path)], capsys)
    assert code == 2 and "imr_model.json" in err


@pytest.mark.parametrize("layout", ["model_dir", "logged"])
def test_modified_model_file_is_refused(logged_folder, tmp_path, capsys, layout):
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    copy = tmp_path / "tampered"
    shutil.copytree(logged_folder, copy)
    inner = copy / "artifacts" / "model"
    with open(inner / "pipeline.skops", "ab") as fh:
        fh.write(b"\0")
    target = inner if layout == "model_dir" else copy
    with pytest.raises(ModelIntegrityError, match=r"pipeline\.skops"):
        load_predictor(str(target))

    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"treatment": "MRI"}) + "\n")
    code, rows, err = run_cli(["--model", str(target), "--input", str(path)], capsys)
    assert code == 2 and rows == []
    assert "pipeline.skops" in err and "sha256" in err


def test_missing_model_file_is_refused(logged_folder, tmp_path):
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    copy = tmp_path / "incomplete"
    shutil.copytree(logged_folder / "artifacts" / "model", copy)
    (copy / "pipeline.skops").unlink()
    with pytest.raises(ModelIntegrityError, match=r"pipeline\.skops: model file missing"):
        load_predictor(str(copy))


def edited_manifest(logged_folder: Path, tmp_path: Path, edit) -> Path:
    """A copy of the model folder whose imr_model.json is `edit(text)`."""
    copy = tmp_path / "edited"
    shutil.copytree(logged_folder / "artifacts" / "model", copy)
    manifest = copy / "imr_model.json"
    manifest.write_text(edit(manifest.read_text()))
    return copy


def unlisted(field: str):
    def edit(text: str) -> str:
        meta = json.loads(text)
        del meta["files"][field]
        return json.dumps(meta)

    return edit


def listing(name: str):
    def edit(text: str) -> str:
        meta = json.loads(text)
        meta["files"][name] = "0" * 64
        return json.dumps(meta)

    return edit


MANIFEST_FAULTS = [
    ("unlisted", unlisted("pipeline.skops"), r"pipeline\.skops: not listed in imr_model\.json"),
    ("dotdot", listing("../outside.json"), r"'\.\./outside\.json', which is not a relative path inside"),
    ("absolute", listing("/etc/passwd"), r"'/etc/passwd', which is not a relative path inside"),
    ("windows", listing("C:\\model\\x.bin"), r"which is not a relative path inside"),
    ("not json", lambda text: text[:-5], r"imr_model\.json: not a valid model manifest \(the file: Invalid JSON"),
    (
        "bad field",
        lambda text: text.replace('"threshold": ', '"threshold": "high", "x": '),
        r"imr_model\.json: not a valid model manifest \(threshold: Input should be a valid number",
    ),
]


@pytest.mark.parametrize("case,edit,message", MANIFEST_FAULTS, ids=[c[0] for c in MANIFEST_FAULTS])
def test_manifest_faults_are_refused_with_the_path_named(logged_folder, tmp_path, capsys, case, edit, message):
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    folder = edited_manifest(logged_folder, tmp_path, edit)
    with pytest.raises(ModelIntegrityError, match=message):
        load_predictor(str(folder))
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"treatment": "MRI"}) + "\n")
    code, rows, err = run_cli(["--model", str(folder), "--input", str(path)], capsys)
    assert code == 2 and rows == [] and "Traceback" not in err
    assert err.startswith(f"imr predict: {folder}") and re.search(message, err)


def test_loaders_that_read_a_folder_see_only_the_listed_files(logged_folder, tmp_path):
    from serving.model_dir import listed_files_only, read_verified_meta

    copy = tmp_path / "extra"
    shutil.copytree(logged_folder / "artifacts" / "model", copy)
    (copy / "tokenizer_config.json").write_text("{}")  # dropped in, not in the manifest
    (copy / "sub").mkdir()
    meta = read_verified_meta(copy)
    with listed_files_only(copy, meta) as folder:
        seen = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())
        assert seen == sorted(meta.files) and "tokenizer_config.json" not in seen
        assert all((folder / name).read_bytes() == (copy / name).read_bytes() for name in meta.files)
    assert not folder.exists()


@pytest.mark.parametrize(
    "flag, text, said",
    [
        ("--threshold", "nan", "nan is not a probability"),
        ("--threshold", "-0.1", "-0.1 is not a probability"),
        ("--field-length-factor", "inf", "inf is outside 1-1000"),
        ("--field-length-factor", "0.5", "0.5 is outside 1-1000"),
        ("--threshold", "half", "not a number: 'half'"),
    ],
)
def test_cli_number_options_are_refused_outside_their_range(flag, text, said, capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--model", "unused", "--input", "unused.jsonl", flag, text])
    assert said in capsys.readouterr().err
