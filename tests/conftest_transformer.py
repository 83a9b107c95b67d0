"""The tiny transformer's fixtures: a pytest plugin (tests/conftest.py names it in pytest_plugins).

A small corpus of real letters (the 5 seed letters and 16 bundled PDFs, 8 of them with an
overturned item, copied into a temp folder), a tiny random BERT built from the train split's
text (tests/tiny_bert.py), a temp MLflow store, and the transformer trained on them: once with
the E2E config, once more with the same config (determinism), and once with domain adaptation.
Nothing is downloaded: HF_HUB_OFFLINE is on and every checkpoint is a local folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from compose import compose
from tiny_bert import build_tiny_bert

MODEL_NAME = "imr-test-transformer"
DA_MODEL_NAME = "imr-test-transformer-da"
EXPERIMENT = "imr-tests-transformer"
ALIAS = "testing"


@dataclass
class TinyBase:
    path: Path
    sha256: str


@pytest.fixture(scope="module")
def tf_env(tmp_path_factory):
    """Offline Hugging Face, a temp MLflow store and no pip-requirement inference (MLflow runs a
    subprocess that re-imports the model only to list packages: ~15 s a model on a busy machine,
    and nothing here reads the list). Restored when the module ends."""
    import huggingface_hub.constants as hf_constants
    import mlflow.models

    root = tmp_path_factory.mktemp("tf_mlflow")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setattr(hf_constants, "HF_HUB_OFFLINE", True)
        mp.setenv("TOKENIZERS_PARALLELISM", "false")
        mp.delenv("DISABLE_MLFLOW_INTEGRATION", raising=False)
        mp.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
        mp.delenv("MLFLOW_RUN_ID", raising=False)
        mp.delenv("IMR_BACKEND", raising=False)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
        mp.setattr(mlflow.models, "infer_pip_requirements", lambda *args, fallback=None, **kwargs: list(fallback or []))
        yield root


@pytest.fixture(scope="session")
def tf_letters(small_corpus) -> Path:
    return small_corpus


@pytest.fixture(scope="session")
def tf_splits(tf_letters):
    """The DatasetDict that training builds from this corpus (same DataConfig, same split seed)."""
    from training.config import DataConfig
    from training.data import load_splits

    dsd, _ = load_splits(DataConfig(sources=[str(tf_letters)]))
    return dsd


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, tf_splits) -> TinyBase:
    """Built once, its vocabulary from the train split's model inputs only."""
    from features.views import model_inputs
    from serving.model_dir import sha256_file

    texts = [model_inputs(row)["text"] for row in tf_splits["train"]]
    path = build_tiny_bert(tmp_path_factory.mktemp("tiny_bert") / "base", texts)
    return TinyBase(path, sha256_file(path / "model.safetensors"))


def tf_config(letters: Path, base: TinyBase, *, name: str = MODEL_NAME, **model):
    """configs/transformer.yaml made small and fast: the tiny base, 2 epochs, 64 tokens, batch 8,
    no frozen layers (it has 2), 50 bootstrap samples; learning rate 1e-3 for every layer, since at
    the default 5e-5 a random tiny encoder does not move in 6 steps."""
    settings = {
        "base_model": str(base.path),
        "base_sha256": base.sha256,
        "max_length": 64,
        "epochs": 2,
        "batch_size": 8,
        "learning_rate": 1e-3,
        "head_learning_rate": None,
        "freeze_layers": 0,
        "export_onnx": True,
        "compare_with_baseline": True,
        "domain_adaptation": {"enabled": False, "epochs": 1, "max_length": 64, "batch_size": 8},
    }
    settings.update(model)
    return compose(
        "transformer",
        data={"sources": [str(letters)]},
        model=settings,
        # One split: these tests check the split-mode path, test metrics against test rows;
        # tests/training/test_transformer.py's CV test overrides it.
        evaluation={"mode": "split", "bootstrap_samples": 50},
        mlflow={"experiment": EXPERIMENT, "registered_model_name": name, "alias": ALIAS},
    )


@pytest.fixture(scope="module")
def tf_trained(tf_env, tf_letters, tiny_base):
    """(config, TrainResult) of the E2E config: no domain adaptation, ONNX export, baseline comparison."""
    from training.run import train

    cfg = tf_config(tf_letters, tiny_base)
    return cfg, train(cfg)


@pytest.fixture(scope="module")
def tf_model_folder(tf_trained, tmp_path_factory) -> Path:
    """The registered model's MLflow folder, downloaded (MLmodel, code/, artifacts/model/...)."""
    import mlflow

    _, result = tf_trained
    dst = tmp_path_factory.mktemp("tf_logged_model")
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=result.model_uri, dst_path=str(dst)))


@pytest.fixture(scope="module")
def tf_da_trained(tf_env, tf_letters, tiny_base):
    """(config, TrainResult, adaptation_texts calls) with domain adaptation on (1 MLM epoch), then
    1 fine-tuning epoch, no ONNX export and no baseline comparison; every call of adaptation_texts during training is
    recorded as (letter ids of the rows, texts returned)."""
    import training.domain_adaptation as da
    from training.run import train

    cfg = tf_config(
        tf_letters,
        tiny_base,
        name=DA_MODEL_NAME,
        epochs=1,
        export_onnx=False,
        compare_with_baseline=False,
        domain_adaptation={"enabled": True, "epochs": 1, "max_length": 64, "batch_size": 8},
    )
    calls = []
    real = da.adaptation_texts

    def spy(rows):
        texts = real(rows)
        calls.append(([r["letter_id"] for r in rows], texts))
        return texts

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(da, "adaptation_texts", spy)
        result = train(cfg)
    return cfg, result, calls
