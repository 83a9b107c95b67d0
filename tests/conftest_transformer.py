"""The tiny transformer's fixtures: a pytest plugin (tests/conftest.py names it in pytest_plugins).

The small synthetic corpus (conftest.small_corpus), a tiny random BERT built from the train split's
text (tests/tiny_bert.py), and the transformer trained on them once per session, in a session
MLflow store: with the E2E config (`tf_trained`) and with domain adaptation (`tf_da_trained`).
Modules that read those runs use `tf_shared_env`; a module that trains transformers of its own
uses `tf_env`, a fresh store. Nothing is downloaded: HF_HUB_OFFLINE is on and every checkpoint is
a local folder.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from compose import compose
from conftest import tracking_store
from tiny_bert import build_tiny_bert

MODEL_NAME = "imr-test-transformer"
DA_MODEL_NAME = "imr-test-transformer-da"
EXPERIMENT = "imr-tests-transformer"
ALIAS = "testing"


@dataclass
class TinyBase:
    path: Path
    sha256: str


@contextmanager
def transformer_env(root: Path):
    """Offline Hugging Face, MLflow and the datasets cache in `root`, and no pip-requirement inference
    (MLflow runs a subprocess that re-imports the model only to list packages: ~15 s a model on a
    busy machine, and nothing here reads the list), until the block ends."""
    import datasets
    import huggingface_hub.constants as hf_constants
    import mlflow.models

    with pytest.MonkeyPatch.context() as mp, tracking_store(root):
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setattr(hf_constants, "HF_HUB_OFFLINE", True)
        # fine-tuning's token cache (model.tokenized_cache_dir unset) lives in the store's folder
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", root / "hf_datasets")
        mp.setenv("TOKENIZERS_PARALLELISM", "false")
        mp.delenv("DISABLE_MLFLOW_INTEGRATION", raising=False)
        mp.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
        mp.delenv("MLFLOW_RUN_ID", raising=False)
        mp.delenv("IMR_BACKEND", raising=False)
        mp.setattr(mlflow.models, "infer_pip_requirements", lambda *args, fallback=None, **kwargs: list(fallback or []))
        yield root


@pytest.fixture(scope="session")
def tf_store(tmp_path_factory) -> Path:
    """The session store that tf_trained and tf_da_trained are tracked in."""
    return tmp_path_factory.mktemp("tf_mlflow")


@pytest.fixture(scope="module")
def tf_shared_env(tf_store):
    """transformer_env at the session store, for a module that reads tf_trained's runs. Such a
    module may add runs under model names of its own, but never a version of MODEL_NAME or
    DA_MODEL_NAME (tf_model_folder, read by other modules, is that version)."""
    with transformer_env(tf_store) as root:
        yield root


@pytest.fixture(scope="module")
def tf_env(tmp_path_factory):
    """transformer_env at a fresh store, for a module that trains transformers of its own."""
    with transformer_env(tmp_path_factory.mktemp("tf_mlflow_module")) as root:
        yield root


@pytest.fixture(scope="session")
def tf_letters(small_corpus) -> Path:
    return small_corpus


@pytest.fixture(scope="session")
def tf_splits(tf_letters):
    """The DatasetDict that training builds from this corpus (same DataConfig, same split seed)."""
    from training.config import DataConfig
    from training.data.loading import load_splits

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
        # what these fixtures test; tests/training/families/transformer/test_encoder_head.py has the others
        "recipe": "fine_tune",
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
        # tests/training/families/transformer/test_transformer.py's CV test overrides it.
        evaluation={"mode": "split", "bootstrap_samples": 50},
        mlflow={"experiment": EXPERIMENT, "registered_model_name": name, "alias": ALIAS},
    )


@pytest.fixture(scope="session")
def tf_trained(tf_store, tf_letters, tiny_base):
    """(config, TrainResult) of the E2E config: no domain adaptation, ONNX export, baseline comparison."""
    from training.run.train import train

    cfg = tf_config(tf_letters, tiny_base)
    with transformer_env(tf_store):
        return cfg, train(cfg)


@pytest.fixture(scope="session")
def tf_model_folder(tf_store, tf_trained, tmp_path_factory) -> Path:
    """The registered model's MLflow folder, downloaded (MLmodel, code/, artifacts/model/...)."""
    import mlflow

    _, result = tf_trained
    dst = tmp_path_factory.mktemp("tf_logged_model")
    with transformer_env(tf_store):
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=result.model_uri, dst_path=str(dst)))


@pytest.fixture(scope="session")
def tf_da_trained(tf_store, tf_letters, tiny_base):
    """(config, TrainResult, adaptation_texts calls) with domain adaptation on (1 MLM epoch), then
    1 fine-tuning epoch, no ONNX export and no baseline comparison; every call of adaptation_texts
    during training is recorded as (letter ids of the rows, texts returned)."""
    import training.families.transformer.domain_adaptation as da
    from training.run.train import train

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

    with pytest.MonkeyPatch.context() as mp, transformer_env(tf_store):
        mp.setattr(da, "adaptation_texts", spy)
        result = train(cfg)
    return cfg, result, calls


FAMILIES_EXPERIMENT = "imr-tests-families"


@dataclass
class TwoFamilies:
    """A baseline and a tiny transformer cross-validated into one store (its folder `root`)."""

    root: Path
    experiment_id: str
    results: dict  # family -> TrainResult
    names: dict  # family -> registered model name


@pytest.fixture(scope="session")
def two_families(tmp_path_factory, tf_letters, tiny_base) -> TwoFamilies:
    """A baseline and a tiny transformer, each cross-validated on 3 folds with writer shift, in one
    experiment of one store, each under its own registered model with the alias `candidate`: what
    `imr promote` chooses among and the MLflow UI compares. Modules read it through `two_families_env`."""
    import mlflow

    from training.config_loading import validate_config
    from training.run.train import train

    names = {"baseline": "imr-test-families-baseline", "transformer": "imr-test-families-transformer"}
    baseline = validate_config(
        {
            "data": {"sources": [str(tf_letters)]},
            "model": {"family": "baseline", "text_tfidf": {"min_df": 1, "max_features": 2000}},
            "evaluation": {"folds": 3, "repeats": 1, "bootstrap_samples": 50},
            "mlflow": {"experiment": FAMILIES_EXPERIMENT, "registered_model_name": names["baseline"]},
        }
    )
    transformer = tf_config(tf_letters, tiny_base, name=names["transformer"], epochs=1, compare_with_baseline=False)
    transformer = transformer.model_copy(
        update={
            "evaluation": transformer.evaluation.model_copy(update={"mode": "cv", "folds": 3, "repeats": 1}),
            "mlflow": transformer.mlflow.model_copy(update={"experiment": FAMILIES_EXPERIMENT, "alias": "candidate"}),
        }
    )
    root = tmp_path_factory.mktemp("two_families")
    with transformer_env(root):
        results = {"baseline": train(baseline), "transformer": train(transformer)}
        experiment_id = mlflow.get_experiment_by_name(FAMILIES_EXPERIMENT).experiment_id
    return TwoFamilies(root, experiment_id, results, names)


@pytest.fixture(scope="module")
def two_families_env(two_families) -> TwoFamilies:
    """two_families, with MLflow (and offline Hugging Face) at its store for the requesting module."""
    with transformer_env(two_families.root):
        yield two_families
