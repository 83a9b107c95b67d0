"""The transformer family's encoder + linear head recipes (frozen_encoder, setfit;
training.families.transformer.encoder_head) on the tiny random BERT (tests/conftest_transformer.py).
Nothing is downloaded (HF_HUB_OFFLINE=1). The study that compared the recipes is tested in
tests/research/test_transformer_recipes.py."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from conftest_transformer import tf_config

from serving.reasons import phrase_reasons
from training.data.splits import Split

POOLED = ("frozen_encoder", "setfit")


def recipe_config(letters, base, recipe: str, **model):
    # setfit: one iteration of pairs at batch 8 moves the tiny encoder in a few seconds
    return tf_config(letters, base, recipe=recipe, setfit={"num_iterations": 1, "batch_size": 8}, **model)


@pytest.fixture(scope="module")
def train_split(tf_splits) -> Split:
    return Split.of(tf_splits["train"], "pre_decision")


@pytest.fixture(scope="module")
def packaged(tf_env, tf_letters, tiny_base, train_split, tmp_path_factory) -> dict:
    """Each pooled recipe fitted by the family's own fit into a packaged folder (serving layout)."""
    from training.families.packaging import fit_packaged
    from training.families.registry import FAMILIES

    out = {}
    # An experiment of this store's own: the process-wide active one may be another module's store's.
    mlflow.set_experiment("imr-tests-recipes")
    for recipe in POOLED:
        cfg = recipe_config(tf_letters, tiny_base, recipe)
        with mlflow.start_run(run_name=f"test-{recipe}"):
            out[recipe] = fit_packaged(
                cfg, FAMILIES["transformer"], train_split, None, tmp_path_factory.mktemp(recipe) / "model"
            )
    return out


@pytest.mark.slow
@pytest.mark.parametrize("recipe", POOLED)
def test_pooled_recipe_packages_an_encoder_and_a_hashed_head(packaged, recipe):
    from serving.model_dir import read_verified_meta
    from serving.transformer_scorer import HEAD_FILE, ONNX_FILE

    model = packaged[recipe]
    meta = read_verified_meta(model.model_dir)
    for name in ("config.json", "model.safetensors", HEAD_FILE, "tokenizer.json"):
        assert name in meta.files, name
    # export_onnx is on in the test config: skipped for these recipes, never half-written
    assert ONNX_FILE not in meta.files and not (model.model_dir / ONNX_FILE).exists()
    assert {k: meta.options[k] for k in ("recipe", "pooling", "normalize", "max_length")} == {
        "recipe": recipe,
        "pooling": "mean",
        "normalize": True,
        "max_length": 64,
    }
    assert float(meta.options["head_C"]) in (0.1, 1.0, 10.0, 100.0)
    assert not any(Path(f).suffix in (".pkl", ".pickle", ".joblib", ".pt", ".bin") for f in meta.files)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", POOLED)
def test_pooled_recipe_scores_and_gives_sentence_reasons(packaged, recipe, tf_splits):
    from serving.scorers import load_scorer

    scorer = load_scorer(packaged[recipe].model_dir)
    rows = list(tf_splits["test"])
    p = scorer.predict_proba(rows)
    assert p.shape == (len(rows),) and np.all((p > 0) & (p < 1))
    assert np.ptp(p) > 1e-4  # the head reads the text: items get different scores
    assert scorer.predict_proba(rows[:3]).tolist() == pytest.approx(p[:3].tolist(), abs=1e-6)  # batch-independent
    reasons = phrase_reasons(scorer.predict_proba, rows[:2], top=3)
    assert len(reasons) == 2 and all(1 <= len(r) <= 3 for r in reasons)
    with pytest.raises(ValueError, match=r"(?i)no ONNX export.*torch"):
        load_scorer(packaged[recipe].model_dir, backend="onnx")


@pytest.mark.slow
def test_frozen_encoder_serves_what_training_fitted_the_head_on(packaged, tiny_base, tf_splits):
    """The scorer's probabilities are the saved head applied to training's (cached) embeddings."""
    from safetensors.numpy import load_file
    from scipy.special import expit

    from serving.scorers import load_scorer
    from training.data.loading import inputs_frame
    from training.families.transformer.embeddings import embed_head_tail

    model = packaged["frozen_encoder"]
    rows = list(tf_splits["test"])
    head = load_file(str(model.model_dir / "head.safetensors"))
    X = embed_head_tail(tiny_base.path, list(inputs_frame(rows, "pre_decision")["text"]), 64, 0.75)
    expected = expit(X @ head["coef"] + head["intercept"][0])
    assert load_scorer(model.model_dir).predict_proba(rows) == pytest.approx(expected, abs=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("tampered", ["head.safetensors", "model.safetensors"])
def test_tampered_head_or_encoder_is_refused(packaged, tampered, tmp_path):
    import shutil

    from serving.model_dir import ModelIntegrityError
    from serving.scorers import load_scorer

    folder = tmp_path / "model"
    shutil.copytree(packaged["frozen_encoder"].model_dir, folder)
    path = folder / tampered
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=tampered):
        load_scorer(folder)


@pytest.mark.slow
def test_head_missing_from_the_manifest_is_refused(packaged, tmp_path):
    import json
    import shutil

    from serving.model_dir import META_FILE, ModelIntegrityError
    from serving.scorers import load_scorer

    folder = tmp_path / "model"
    shutil.copytree(packaged["setfit"].model_dir, folder)
    meta = json.loads((folder / META_FILE).read_text())
    del meta["files"]["head.safetensors"]
    (folder / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelIntegrityError, match="head.safetensors.*not listed"):
        load_scorer(folder)


@pytest.mark.slow
def test_frozen_embeddings_are_computed_once_per_text(tiny_base, train_split, monkeypatch):
    import training.families.transformer.embeddings as emb

    calls = []
    real = emb.mean_pooled
    monkeypatch.setattr(emb, "mean_pooled", lambda *a, **k: calls.append(len(a[2]["input_ids"])) or real(*a, **k))
    texts = list(train_split.frame["text"])[:6]
    first = emb.embed_head_tail(tiny_base.path, texts, 48, 0.5)  # settings no other test uses: not yet cached
    again = emb.embed_head_tail(tiny_base.path, texts[::-1], 48, 0.5)
    assert calls == [len(set(texts))]
    assert np.array_equal(first[::-1], again)
    assert np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)


@pytest.mark.parametrize(
    "model, message",
    [
        ({"recipe": "setfit", "head_c_grid": [1.0, 0.0]}, "head_c_grid"),
        ({"recipe": "frozen_encoder", "head_c_grid": []}, "head_c_grid"),
        ({"recipe": "fine_tuned"}, "recipe"),
        ({"recipe": "setfit", "setfit": {"num_iterations": 0}}, "setfit.num_iterations"),
        ({"recipe": "setfit", "setfit": {"iterations": 5}}, "setfit.iterations"),
    ],
)
def test_bad_recipe_settings_are_config_errors_naming_the_key(model, message):
    from training.config import ConfigError
    from training.config_loading import validate_config

    with pytest.raises(ConfigError, match=message):
        validate_config({"model": {"family": "transformer", "export_onnx": False, **model}})


def test_head_c_is_chosen_by_inner_cv_from_the_grid_or_fixed():
    from training.families.transformer.encoder_head import fit_head

    rng = np.random.default_rng(0)
    y = np.tile([0, 0, 0, 1], 30)
    X = rng.normal(size=(len(y), 8)) + y[:, None] * 0.8
    groups = [f"letter{i // 2}" for i in range(len(y))]  # two items per letter
    head, c = fit_head(X, y, groups, [0.01, 1.0, 100.0], "balanced", seed=0)
    assert c in (0.01, 1.0, 100.0) and head.C == c
    assert fit_head(X, y, groups, [0.01, 1.0, 100.0], "balanced", seed=0)[1] == c  # deterministic
    head, c = fit_head(X, y, groups, [3.0], "balanced", seed=0)
    assert c == 3.0 and head.C == 3.0


@pytest.mark.parametrize("recipe", POOLED)
def test_description_and_card_name_the_recipe_and_its_head(recipe):
    from training.config_loading import validate_config
    from training.families.family import RunFacts
    from training.families.transformer.card import card_section, describe

    cfg = validate_config({"model": {"family": "transformer", "recipe": recipe, "max_length": 128}})
    described = describe(cfg)
    assert ("SetFit" in described) == (recipe == "setfit") and "128 tokens" in described
    card = card_section(cfg, RunFacts())
    assert f"## Model family: transformer ({recipe})" in card and f"Recipe `{recipe}`" in card
    assert "head.safetensors" in card and "0.1/1/10/100" in card
    assert "ONNX: not exported" in card  # export_onnx defaults to true: skipped for this recipe
