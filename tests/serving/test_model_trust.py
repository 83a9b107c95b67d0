"""A packaged model folder is data, never code (issue 24).

Whoever can write the model folder (or the artifact store it is downloaded from) can also rewrite
the hash manifest beside it, so the manifest alone cannot stop a hostile `pipeline.skops`: skops
must be told exactly which types the project's families save (serving/skops_trust.py), and refuse
everything else in one line, in `imr predict`, `imr serve` and the Python API. A registered version
also carries its manifest's hash as a tag, so a folder rewritten in the artifact store no longer
matches what was registered.

Every model here is a copy of the session's uncalibrated baseline (conftest.shared_raw_baseline)."""

from __future__ import annotations

import importlib.util
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import downloaded_model_folder, tracking_store

from training.imr import main

# A callable that runs its argument as a shell command, under the `numpy.` prefix that serving
# trusted before this fix; numpy.distutils is gone from newer NumPy, so the attack list says
# which of these this NumPy still has.
HAS_NUMPY_DISTUTILS = importlib.util.find_spec("numpy.distutils") is not None
ATTACKS = [
    *(["numpy.distutils.exec_command.exec_command"] if HAS_NUMPY_DISTUTILS else []),
    "numpy.save",  # writes a file wherever its first argument says: not a type the project saves
    "scipy.io.matlab._mio.savemat",  # likewise
]
IMR = Path(sys.executable).with_name("imr")


@pytest.fixture(scope="module")
def logged(raw_baseline_store, tmp_path_factory) -> Path:
    """The registered baseline's MLflow folder (MLmodel, code/, artifacts/model/)."""
    folder = downloaded_model_folder(raw_baseline_store.result.model_uri, tmp_path_factory.mktemp("trust"))
    return folder.parents[1]


def _callable(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def rehashed(folder: Path) -> None:
    """Rewrite imr_model.json's hashes to match the files, as anyone who can write the folder can."""
    from serving.model_dir import sha256_file

    manifest = folder / "imr_model.json"
    meta = json.loads(manifest.read_text())
    meta["files"] = {name: sha256_file(folder / name) for name in meta["files"]}
    manifest.write_text(json.dumps(meta, indent=2))


def hostile_copy(logged: Path, tmp_path: Path, write_pipeline) -> Path:
    """A copy of the logged model whose pipeline.skops is `write_pipeline(pipeline, path)`, manifest
    re-hashed. Returns the packaged folder (artifacts/model)."""
    import skops.io as sio

    copy = tmp_path / "hostile"
    shutil.copytree(logged, copy)
    folder = copy / "artifacts" / "model"
    path = folder / "pipeline.skops"
    pipeline = sio.load(path, trusted=sio.get_untrusted_types(file=path))  # the project's own file
    write_pipeline(pipeline, path)
    rehashed(folder)
    return folder


def with_analyzer(dotted: str):
    def write(pipeline, path: Path) -> None:
        import skops.io as sio

        pipeline.named_steps["features"].named_transformers_["text"].analyzer = _callable(dotted)
        sio.dump(pipeline, path)

    return write


def as_pickle(pipeline, path: Path) -> None:
    path.write_bytes(pickle.dumps(pipeline))


def predict_cli(model: Path | str, tmp_path: Path, capsys) -> tuple[int, str, str]:
    requests = tmp_path / "r.jsonl"
    requests.write_text(json.dumps({"treatment": "MRI of the lumbar spine"}) + "\n")
    code = main(["predict", "--model", str(model), "--input", str(requests)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("dotted", ATTACKS)
def test_a_pipeline_holding_a_callable_the_project_never_saves_is_refused(logged, tmp_path, capsys, dotted):
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    folder = hostile_copy(logged, tmp_path, with_analyzer(dotted))
    with pytest.raises(ModelIntegrityError, match=rf"pipeline\.skops: .*'{dotted}'"):
        load_predictor(str(folder))

    code, out, err = predict_cli(folder, tmp_path, capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"imr predict: {folder / 'pipeline.skops'}: ") and f"'{dotted}'" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_pickle_renamed_to_pipeline_skops_is_refused_in_one_line(logged, tmp_path, capsys):
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    folder = hostile_copy(logged, tmp_path, as_pickle)
    with pytest.raises(ModelIntegrityError, match=r"pipeline\.skops: not a skops file \(BadZipFile\)"):
        load_predictor(str(folder))
    code, out, err = predict_cli(folder, tmp_path, capsys)
    assert code == 2 and out == ""
    assert err == f"imr predict: {folder / 'pipeline.skops'}: not a skops file (BadZipFile); refusing to load it\n"


def test_a_skops_file_that_is_not_the_baseline_pipeline_is_refused(logged, tmp_path, capsys):
    """Types skops trusts by default (any scikit-learn estimator) in a shape the baseline never has."""
    import skops.io as sio

    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    folder = hostile_copy(logged, tmp_path, lambda p, path: sio.dump(p.named_steps["classifier"], path))
    with pytest.raises(ModelIntegrityError, match=r"pipeline\.skops: holds a LogisticRegression, not the baseline"):
        load_predictor(str(folder))
    code, _, err = predict_cli(folder, tmp_path, capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_the_pyfunc_wrapper_refuses_it_too(logged, tmp_path):
    """mlflow.pyfunc.load_model on the logged folder reaches the same scorer (serving/pyfunc_model.py)."""
    import mlflow.pyfunc

    from serving.model_dir import ModelIntegrityError

    hostile_copy(logged, tmp_path, with_analyzer(ATTACKS[0]))
    with pytest.raises(ModelIntegrityError, match=ATTACKS[0].replace(".", r"\.")):
        mlflow.pyfunc.load_model(str(tmp_path / "hostile"))


@pytest.mark.slow  # starts imr serve
def test_imr_serve_refuses_it_in_one_line(logged, tmp_path):
    folder = hostile_copy(logged, tmp_path, with_analyzer(ATTACKS[0]))
    command = [str(IMR)] if IMR.exists() else [sys.executable, "-m", "training.imr"]
    proc = subprocess.run(
        [*command, "serve", "--model", str(folder), "--port", "0"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"imr serve: model '{folder}' not loaded: ModelIntegrityError: ") and ATTACKS[0] in last


# --- the allowlist is what training writes, no more and no less --------------------------------

# Every option of the baseline's `model:` section that changes what its pipeline holds, one at a
# time and all together (training.families.baseline.build_pipeline); the other options are numbers, saved as
# numbers. An option added to the config fails test_the_variants_cover_every_baseline_option until
# it is considered here.
TFIDF_VARIANTS = {"analyzer": "char_wb", "stop_words": None, "max_features": None, "sublinear_tf": False}
CLASSIFIER_VARIANTS = {"class_weight": None}
MODEL_VARIANTS = {
    "metadata_columns": True,
    "treatment_tfidf": {"analyzer": "char_wb", "ngram_range": [2, 3], "min_df": 1},
    "normalise_style": False,
    "classifier": CLASSIFIER_VARIANTS,
}
# The streamed pipeline (model.features: streamed) holds other scikit-learn types (a HashingVectorizer,
# an SGDClassifier and its loss), all of them types skops vouches for; its options are tried apart,
# since it fits the text block only. streamed_from_letters and compare_with_exact choose what runs.
STREAMED_VARIANTS = [{"features": "streamed"}, {"features": "streamed", "streamed": {"average": True}}]
STREAMED_KEYS = {"features", "streamed", "streamed_from_letters", "compare_with_exact"}


def variants() -> list[dict]:
    singles = [{k: v} for k, v in MODEL_VARIANTS.items()]
    singles += [{"text_tfidf": {k: v, "min_df": 1}} for k, v in TFIDF_VARIANTS.items()]
    everything = {**MODEL_VARIANTS, "text_tfidf": {**TFIDF_VARIANTS, "min_df": 1}}
    return [{"text_tfidf": {"min_df": 1}}, *singles, everything, *STREAMED_VARIANTS]


def test_the_variants_cover_every_baseline_option():
    from training.families.baseline import BaselineModelConfig, LogisticRegressionConfig, TfidfConfig

    assert set(BaselineModelConfig.model_fields) - {"family", "text_tfidf"} == set(MODEL_VARIANTS) | STREAMED_KEYS
    assert set(TfidfConfig.model_fields) == set(TFIDF_VARIANTS) | {"ngram_range", "min_df"}
    assert set(LogisticRegressionConfig.model_fields) == set(CLASSIFIER_VARIANTS) | {"C", "max_iter"}


@pytest.fixture(scope="module")
def items(small_corpus):
    """Every item of the small corpus, as the training run sees them."""
    from features.ingest import ingest
    from training.data.splits import Split, all_items

    dsd, _ = ingest([small_corpus])
    return Split.of(all_items(dsd), "pre_decision")


def test_training_saves_exactly_the_trusted_types(items, logged, tmp_path):
    """training.families.baseline.fit (what every baseline run, fold model and ensemble member writes), under
    each variant: every type skops reports is trusted, every trusted type is written by some variant,
    and serving's shape check (serving.scorers) accepts what each variant saves. The session baseline's
    registered file is one of them."""
    import skops.io as sio
    from compose import compose

    from serving.scorers import _baseline_pipeline
    from serving.skops_trust import TRUSTED_SKOPS_TYPES, load_trusted_skops
    from training.families.baseline import PIPELINE_FILE, fit

    written = {"registered": set(sio.get_untrusted_types(file=logged / "artifacts" / "model" / PIPELINE_FILE))}
    for i, model in enumerate(variants()):
        folder = tmp_path / str(i)
        folder.mkdir()
        files, _ = fit(compose("baseline", model=model), items, None, folder)
        assert files[0] == PIPELINE_FILE
        written[json.dumps(model)] = set(sio.get_untrusted_types(file=folder / PIPELINE_FILE))
        _baseline_pipeline(folder / PIPELINE_FILE, load_trusted_skops(folder / PIPELINE_FILE))
    outside = {variant: types - TRUSTED_SKOPS_TYPES for variant, types in written.items()}
    assert {variant: types for variant, types in outside.items() if types} == {}
    assert set().union(*written.values()) == TRUSTED_SKOPS_TYPES


# --- the registry's record of a version's manifest ----------------------------------------------

REGISTERED = "imr-test-trust"


@pytest.fixture(scope="module")
def registry(logged, tmp_path_factory):
    """The session baseline's packaged folder, logged and registered in a store of this module's own
    as training registers it (its manifest's sha256 as a version tag), alias `testing`; and a second
    version registered without the tag, as versions registered before it existed are."""
    import mlflow

    from serving.model_dir import MANIFEST_SHA256_TAG, manifest_sha256
    from serving.pyfunc_model import log_packaged_model

    folder = logged / "artifacts" / "model"
    with tracking_store(tmp_path_factory.mktemp("trust-registry")) as root:
        experiment = mlflow.create_experiment("imr-tests-trust", artifact_location=(root / "mlartifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            info = log_packaged_model(folder)
        tagged = mlflow.register_model(info.model_uri, REGISTERED, tags={MANIFEST_SHA256_TAG: manifest_sha256(folder)})
        untagged = mlflow.register_model(info.model_uri, REGISTERED)
        mlflow.MlflowClient().set_registered_model_alias(REGISTERED, "testing", tagged.version)
        yield str(tagged.version), str(untagged.version)


def stored_manifest(version: str) -> Path:
    """The version's imr_model.json in the artifact store (what models:/ downloads)."""
    from urllib.parse import urlparse

    import mlflow

    uri = mlflow.MlflowClient().get_model_version_download_uri(REGISTERED, version)
    return Path(urlparse(uri).path) / "artifacts" / "model" / "imr_model.json"


def test_a_folder_rewritten_in_the_artifact_store_no_longer_matches_its_registration(registry, tmp_path, capsys):
    """The threshold edited and the manifest left self-consistent (no listed file changed): its own
    hashes verify, the registry's record of it does not."""
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import load_predictor

    tagged, _ = registry
    assert load_predictor(f"models:/{REGISTERED}@testing").model_version == tagged
    manifest = stored_manifest(tagged)
    original = manifest.read_text()
    try:
        meta = json.loads(original)
        meta["threshold"] = 0.99
        manifest.write_text(json.dumps(meta, indent=2))
        for uri in (f"models:/{REGISTERED}@testing", f"models:/{REGISTERED}/{tagged}"):
            with pytest.raises(ModelIntegrityError, match=rf"registered as {REGISTERED} version {tagged} "):
                load_predictor(uri)
            code, out, err = predict_cli(uri, tmp_path, capsys)
            assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
            assert err.startswith("imr predict: ") and "changed after registration" in err
        # the same folder given as a path has no registry entry: only its own manifest applies
        copy = downloaded_model_folder(f"models:/{REGISTERED}/{tagged}", tmp_path / "copy")
        assert load_predictor(str(copy)).scorer.meta.threshold == 0.99
    finally:
        manifest.write_text(original)
    assert load_predictor(f"models:/{REGISTERED}@testing").scorer.meta.threshold != 0.99


def test_a_version_registered_without_the_tag_loads_on_its_own_manifest_with_a_warning(registry, caplog):
    from serving.model_dir import MANIFEST_SHA256_TAG
    from serving.predictor import load_predictor

    _, untagged = registry
    with caplog.at_level("WARNING", logger="serving.predictor"):
        assert load_predictor(f"models:/{REGISTERED}/{untagged}").model_version == untagged
    assert f"{REGISTERED} version {untagged} has no {MANIFEST_SHA256_TAG} tag" in caplog.text
