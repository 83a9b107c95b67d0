"""The model cache (serving/model_cache.py) and the registry read without MLflow
(serving/registry_lookup.py): a registered version is kept once it has loaded and read from the cache
at the next load, with the same checks as a download; a tampered copy is refused; versions without a
manifest tag are never cached; and the SQLite registry read answers as MlflowClient does.

The module registers the session's raw baseline in a store of its own (it registers versions and moves
aliases, which the shared stores forbid): version 1 and 2 with the manifest tag, version 3 without."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import downloaded_model_folder, tracking_store

from training.imr import main

NAME = "imr-test-cache"
REQUESTS = [{"treatment": "MRI of the lumbar spine"}, {"treatment": "Physical therapy 2x6 for the right knee"}]


@pytest.fixture(scope="module")
def registry(raw_baseline_store, tmp_path_factory):
    """(store root, {version: tagged?}) with MLFLOW_TRACKING_URI at a store of this module's own."""
    import mlflow

    from serving.model_dir import MANIFEST_SHA256_TAG, manifest_sha256
    from serving.pyfunc_model import log_packaged_model

    folder = downloaded_model_folder(raw_baseline_store.result.model_uri, tmp_path_factory.mktemp("cache-src"))
    with tracking_store(tmp_path_factory.mktemp("cache-registry")) as root:
        experiment = mlflow.create_experiment("imr-tests-cache", artifact_location=(root / "mlartifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            info = log_packaged_model(folder)
        tag = {MANIFEST_SHA256_TAG: manifest_sha256(folder)}
        versions = {
            str(mlflow.register_model(info.model_uri, NAME, tags=tags).version): bool(tags) for tags in (tag, tag, {})
        }
        mlflow.MlflowClient().set_registered_model_alias(NAME, "testing", "1")
        yield root, versions


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "model-cache"
    monkeypatch.setenv("IMR_MODEL_CACHE", str(folder))
    return folder


def cached_entries(cache: Path) -> list[Path]:
    return sorted(p.parent.relative_to(cache) for p in cache.glob("*/*/*/imr_model.json"))


def probabilities(predictor) -> list[float]:
    return [row["p_overturned"] for row in predictor.predict(REQUESTS)]


def no_downloads(monkeypatch) -> None:
    """Any download from the artifact store fails from here on."""
    import mlflow

    def refuse(*args, **kwargs):
        raise AssertionError("downloaded from the artifact store")

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", refuse)


# --- the registry read -------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["@testing", "/1", "/2", "/3"])
def test_the_registry_read_answers_as_mlflow_does(registry, ref):
    from mlflow import MlflowClient

    from serving.model_dir import MANIFEST_SHA256_TAG
    from serving.registry_lookup import read_registered_version

    found = read_registered_version(f"models:/{NAME}{ref}", MANIFEST_SHA256_TAG)
    client = MlflowClient()
    expected = (
        client.get_model_version_by_alias(NAME, "testing")
        if ref.startswith("@")
        else client.get_model_version(NAME, ref[1:])
    )
    assert (found.name, found.version, found.run_id) == (expected.name, str(expected.version), expected.run_id)
    assert found.tags == {k: v for k, v in expected.tags.items() if k == MANIFEST_SHA256_TAG}


@pytest.mark.parametrize(
    "uri",
    [
        f"models:/{NAME}@no-such-alias",
        f"models:/{NAME}/99",
        "models:/no-such-model/1",
        f"models:/{NAME}@latest",  # MLflow's own rule (the highest version), not an alias row
        f"models:/{NAME}",
        "models:/m-0123456789abcdef",
        "runs:/0123456789abcdef/model",
    ],
)
def test_the_registry_read_leaves_to_mlflow_what_it_cannot_answer(registry, uri):
    from serving.registry_lookup import read_registered_version

    assert read_registered_version(uri, "manifest_sha256") is None


def test_the_registry_read_leaves_other_stores_and_workspaces_to_mlflow(registry, monkeypatch):
    from serving.registry_lookup import read_registered_version

    uri = f"models:/{NAME}@testing"
    assert read_registered_version(uri, "manifest_sha256") is not None
    monkeypatch.setenv("MLFLOW_WORKSPACE", "team-a")
    assert read_registered_version(uri, "manifest_sha256") is None
    monkeypatch.delenv("MLFLOW_WORKSPACE")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert read_registered_version(uri, "manifest_sha256") is None


def test_a_deleted_version_is_not_read(registry, tmp_path):
    """MLflow keeps a deleted version's row (stage Deleted_Internal); the read must not return it.
    Checked on a copy of the store, so the module's versions stay."""
    import shutil

    from serving.registry_lookup import read_registered_version

    root, _ = registry
    copy = tmp_path / "store"
    shutil.copytree(root, copy)
    with tracking_store(copy):
        from mlflow import MlflowClient

        assert read_registered_version(f"models:/{NAME}/2", "manifest_sha256") is not None
        MlflowClient().delete_model_version(NAME, "2")
        assert read_registered_version(f"models:/{NAME}/2", "manifest_sha256") is None


# --- the cache ---------------------------------------------------------------------------------------


def test_a_registered_version_is_kept_and_then_read_from_the_cache(registry, cache, monkeypatch):
    from serving.model_dir import MANIFEST_SHA256_TAG
    from serving.predictor import load_predictor
    from serving.registry_lookup import read_registered_version

    first = load_predictor(f"models:/{NAME}@testing")
    manifest = read_registered_version(f"models:/{NAME}/1", MANIFEST_SHA256_TAG).tags[MANIFEST_SHA256_TAG]
    assert cached_entries(cache) == [Path(NAME) / "1" / manifest]
    assert not any((cache / ".downloads").iterdir())  # the download was moved, or deleted

    no_downloads(monkeypatch)
    again = load_predictor(f"models:/{NAME}@testing")
    by_number = load_predictor(f"models:/{NAME}/1")
    assert (again.model_name, again.model_version, again.run_id) == (NAME, "1", first.run_id)
    assert probabilities(again) == probabilities(by_number) == probabilities(first)


def test_an_alias_moved_to_another_version_loads_that_version(registry, cache):
    from mlflow import MlflowClient

    from serving.predictor import load_predictor

    assert load_predictor(f"models:/{NAME}@testing").model_version == "1"
    MlflowClient().set_registered_model_alias(NAME, "testing", "2")
    try:
        assert load_predictor(f"models:/{NAME}@testing").model_version == "2"
    finally:
        MlflowClient().set_registered_model_alias(NAME, "testing", "1")
    assert [entry.parts[1] for entry in cached_entries(cache)] == ["1", "2"]


def test_a_version_registered_without_the_manifest_tag_is_not_cached(registry, cache):
    from serving.predictor import load_predictor

    _, versions = registry
    untagged = next(v for v, tagged in versions.items() if not tagged)
    assert load_predictor(f"models:/{NAME}/{untagged}").model_version == untagged
    assert cached_entries(cache) == []


def test_no_cache_when_it_is_off(registry, cache, monkeypatch):
    from serving.predictor import load_predictor

    monkeypatch.setenv("IMR_MODEL_CACHE", "off")
    assert load_predictor(f"models:/{NAME}@testing").model_version == "1"
    assert not cache.exists()


def test_a_tampered_file_in_the_cache_is_refused(registry, cache, tmp_path, monkeypatch, capsys):
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    load_predictor(f"models:/{NAME}@testing")
    [entry] = cached_entries(cache)
    with open(cache / entry / "pipeline.skops", "ab") as fh:
        fh.write(b"\0")
    no_downloads(monkeypatch)  # the copy is refused, not silently replaced
    with pytest.raises(ModelIntegrityError, match=r"pipeline\.skops: sha256 .* does not match") as refused:
        load_predictor(f"models:/{NAME}@testing")
    assert f"delete {cache / entry}" in str(refused.value)

    requests = tmp_path / "r.jsonl"
    requests.write_text(json.dumps(REQUESTS[0]) + "\n")
    assert main(["predict", "--model", f"models:/{NAME}@testing", "--input", str(requests)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("imr predict: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "pipeline.skops" in err and "model cache" in err


def test_a_cached_manifest_rewritten_to_match_its_files_is_refused(registry, cache, monkeypatch):
    """The threshold edited and the manifest left self-consistent: its own hashes verify, the
    registry's record of it does not, exactly as for a download."""
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    load_predictor(f"models:/{NAME}@testing")
    [entry] = cached_entries(cache)
    manifest = cache / entry / "imr_model.json"
    meta = json.loads(manifest.read_text())
    meta["threshold"] = 0.99
    manifest.write_text(json.dumps(meta, indent=2))
    no_downloads(monkeypatch)
    with pytest.raises(ModelIntegrityError, match=rf"registered as {NAME} version 1 .*model cache"):
        load_predictor(f"models:/{NAME}@testing")


@pytest.mark.parametrize(
    ("name", "version", "manifest"),
    [
        ("..", "1", "a" * 64),
        (".", "1", "a" * 64),
        ("model", "../1", "a" * 64),
        ("model", "1", "../" + "a" * 61),
        ("model", "1", None),
    ],
)
def test_a_version_that_cannot_be_named_safely_is_not_cached(cache, name, version, manifest):
    from serving.model_cache import entry

    assert entry(name, version, manifest) is None


def test_a_name_with_a_slash_stays_one_folder(cache):
    from serving.model_cache import entry

    assert entry("team/model", "3", "b" * 64) == cache / "team%2Fmodel" / "3" / ("b" * 64)
