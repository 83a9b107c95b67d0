"""What training and predicting print: a bar with an ETA and numeric logs for a Trainer
(training.families.transformer.trainer_progress); the known-harmless loader, ONNX-export and quantisation messages
silenced at their source while real ones still show (training.families.transformer.checkpoint_loading,
training.families.transformer.onnx_export); no artifact-download bar for a local store (serving.store)."""

from __future__ import annotations

import io
import logging
import warnings
from types import SimpleNamespace

import pytest

# --- Trainer progress -----------------------------------------------------------------------------


def test_trainer_logs_are_numbers():
    from training.families.transformer.trainer_progress import format_log

    line = format_log(
        {
            "eval_loss": 0.75994,
            "eval_pr_auc": 0.5,
            "epoch": 1.0,
            "learning_rate": 4e-05,
            "eval_runtime": 0.15,
            "total_flos": 12.0,
            "note": "text",
        }
    )
    assert line == "eval_loss 0.7599  eval_pr_auc 0.5  epoch 1  learning_rate 4.0e-05"
    assert "'" not in line


def test_trainer_progress_draws_one_bar_with_an_eta_and_writes_evaluations():
    from training.families.transformer.trainer_progress import TrainerProgress

    out = io.StringIO()
    progress = TrainerProgress("fine-tuning", file=out)
    state = SimpleNamespace(is_world_process_zero=True, max_steps=4, global_step=0)
    progress.on_train_begin(None, state, None)
    for step in range(1, 5):
        state.global_step = step
        progress.on_step_end(None, state, None)
        progress.on_log(None, state, None, logs={"loss": 0.69, "grad_norm": 1.0, "learning_rate": 1e-4, "epoch": 0.5})
    progress.on_log(None, state, None, logs={"eval_loss": 0.5, "eval_pr_auc": 0.25, "epoch": 1.0})
    progress.on_train_end(None, state, None)
    text = out.getvalue()
    assert "fine-tuning:" in text and "4/4" in text and "step" in text
    assert "<" in text  # tqdm's [elapsed<remaining] ETA
    assert "fine-tuning: eval_loss 0.5  eval_pr_auc 0.25  epoch 1" in text
    assert "{" not in text  # no dict of strings


def test_use_progress_replaces_the_trainers_printer():
    from transformers import PrinterCallback, ProgressCallback

    from training.families.transformer.trainer_progress import TrainerProgress, use_progress

    removed, added = [], []
    trainer = SimpleNamespace(remove_callback=removed.append, add_callback=added.append)
    use_progress(trainer, "domain adaptation")
    assert set(removed) == {PrinterCallback, ProgressCallback}
    (callback,) = added
    assert isinstance(callback, TrainerProgress) and callback.desc == "domain adaptation"


# --- loading a checkpoint with a new head ------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def loader_messages():
    handler = Records()
    logger = logging.getLogger("transformers.modeling_utils")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def test_a_new_head_loads_without_a_report_or_warning(tiny_base, loader_messages):
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    from training.families.transformer.checkpoint_loading import load_with_new_head

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        load_with_new_head(
            AutoModelForSequenceClassification,
            tiny_base.path,
            new=("classifier.",),
            num_labels=2,
            local_files_only=True,
            use_safetensors=True,
        )
        load_with_new_head(
            AutoModelForMaskedLM,
            tiny_base.path,
            new=("cls.predictions.",),
            dropped=("pooler.",),
            local_files_only=True,
            use_safetensors=True,
        )
    assert not [m for m in loader_messages if "LOAD REPORT" in m or "seem corrupted" in m], loader_messages


def test_unexpected_missing_weights_are_still_reported(tiny_base, loader_messages):
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    from training.families.transformer.checkpoint_loading import load_with_new_head

    with pytest.warns(RuntimeWarning, match=r"missing: \['classifier\.bias', 'classifier\.weight'\]"):
        load_with_new_head(
            AutoModelForSequenceClassification,
            tiny_base.path,
            num_labels=2,
            local_files_only=True,
            use_safetensors=True,
        )
    # a tied pair outside the expected new head is still logged by transformers
    with pytest.warns(RuntimeWarning, match="cls.predictions"):
        load_with_new_head(
            AutoModelForMaskedLM, tiny_base.path, dropped=("pooler.",), local_files_only=True, use_safetensors=True
        )
    assert any("seem corrupted" in m for m in loader_messages), loader_messages


def test_without_the_filter_transformers_reports_those_loads(tiny_base, loader_messages):
    """The messages the loader filters exist: otherwise the tests above would prove nothing."""
    from transformers import AutoModelForMaskedLM

    AutoModelForMaskedLM.from_pretrained(tiny_base.path, local_files_only=True, use_safetensors=True)
    assert any("LOAD REPORT" in m for m in loader_messages)
    assert any("seem corrupted" in m for m in loader_messages)


# --- ONNX export --------------------------------------------------------------------------------------


def test_onnx_export_shows_none_of_the_known_tracer_messages(tiny_base, tmp_path, caplog):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.families.transformer.onnx_export import export_int8

    model = AutoModelForSequenceClassification.from_pretrained(tiny_base.path, num_labels=2, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(tiny_base.path, local_files_only=True)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        export_int8(model, tokenizer, tmp_path / "model.int8.onnx")
    assert (tmp_path / "model.int8.onnx").is_file()
    shown = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert not [s for s in shown if "TracerWarning" in s or "aten::index" in s or "legacy TorchScript" in s], shown
    assert not [r for r in caplog.records if "pre-processing before quantization" in r.getMessage()]
    assert torch.jit.TracerWarning  # the category filtered exists in this torch


# --- artifact bars ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "local"),
    [
        ("sqlite:////tmp/x/mlflow.db", True),
        ("file:///tmp/mlruns", True),
        ("/tmp/mlruns", True),
        ("http://127.0.0.1:5000", False),
        ("https://mlflow.example.org", False),
        ("databricks", False),
    ],
)
def test_local_store(uri, local):
    from serving.store import is_local_store

    assert is_local_store(uri) is local


def test_artifact_bars_go_for_a_local_store_only(monkeypatch):
    import os

    from serving.store import ARTIFACT_BARS_ENV, quiet_local_artifact_bars

    monkeypatch.delenv(ARTIFACT_BARS_ENV, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    quiet_local_artifact_bars()
    assert ARTIFACT_BARS_ENV not in os.environ
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////tmp/x/mlflow.db")
    quiet_local_artifact_bars()
    assert os.environ[ARTIFACT_BARS_ENV] == "false"
    monkeypatch.setenv(ARTIFACT_BARS_ENV, "true")  # a user's own choice wins
    quiet_local_artifact_bars()
    assert os.environ[ARTIFACT_BARS_ENV] == "true"
