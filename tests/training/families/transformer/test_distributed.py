"""Fine-tuning across processes (training/families/transformer/distributed.py, batching.py and the
rank-aware store in serving/store.py): `imr train` launched by torchrun as two CPU processes (DDP over
gloo) on the tiny random BERT gives the result of one process with the same optimizer steps, and only
the first process tracks and registers.

Tolerance: the two trainings add the same numbers in a different order (each process pads its half of
a batch to its own longest item and runs 1 thread instead of 2, and gloo sums the two halves'
gradients), so float32 rounding (1.2e-7 relative per operation) is the only difference. Seen: 1.5e-7
on weights, 3e-7 on probabilities; TOLERANCE = 1e-5 leaves a margin of ~50x and is still ~1000x below
what a different batch makes (the control). One kind of weight is left out: the attention key biases.
Softmax ignores a constant added to every logit of a query, so their true gradient is exactly 0 and
what they get is rounding noise, which Adam scales up to a full step of lr (a difference of ~1e-3 after
a few steps) while it changes no output: the probabilities, which they feed, are compared within the
tolerance."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest_transformer import TinyBase, tf_config, transformer_env

from training.config import PROJECT_ROOT, ConfigError, resolved_yaml

TOLERANCE = 1e-5
NO_GRADIENT = ".attention.self.key.bias"  # see the module docstring
GLOBAL_BATCH = 8
NAME = "imr-test-ddp"


@pytest.fixture(scope="module")
def still_base(tmp_path_factory, tf_splits) -> TinyBase:
    """The tiny BERT without dropout: each process draws its own masks, so with dropout two
    trainings could agree only in distribution."""
    from tiny_bert import build_tiny_bert

    from features.views import model_inputs
    from serving.model_dir import sha256_file

    texts = [model_inputs(row)["text"] for row in tf_splits["train"]]
    path = build_tiny_bert(tmp_path_factory.mktemp("still_bert") / "base", texts, dropout=0.0)
    return TinyBase(path, sha256_file(path / "model.safetensors"))


def cv_config(letters: Path, base: TinyBase, batch_size: int):
    """2-fold cross-validation and the refit: three fine-tunings of 2 epochs. The last incomplete
    batch of an epoch is dropped: accelerate would fill the second process's half with repeated items."""
    cfg = tf_config(
        letters,
        base,
        name=NAME,
        batch_size=batch_size,
        export_onnx=False,
        compare_with_baseline=False,
        trainer={"dataloader_drop_last": True},
    )
    evaluation = {"mode": "cv", "folds": 2, "repeats": 1, "writer_shift": False, "bootstrap_samples": 50}
    return cfg.model_copy(update={"evaluation": cfg.evaluation.model_copy(update=evaluation)})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_imr_train(cfg, store: Path, processes: int) -> dict:
    """`torchrun --nproc_per_node <processes> -m training.imr train --config <cfg>` against `store`."""
    from conftest import new_store_uri

    uri = new_store_uri(store)
    config = store / "config.yaml"
    config.write_text(resolved_yaml(cfg))
    summary = store / "summary.json"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(store / "hf_datasets"),
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]),
    }
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [
        str(torchrun),
        f"--nproc_per_node={processes}",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        "-m",
        "training.imr",
        "train",
        "--config",
        str(config),
        "--summary",
        str(summary),
    ]
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    (store / "torchrun.log").write_text(done.stderr)
    assert done.returncode == 0, f"torchrun failed; its output is in {store / 'torchrun.log'}: {done.stderr[-2000:]}"
    return json.loads(summary.read_text())


def run_outputs(store: Path, run_id: str, model_uri: str, dst: Path) -> dict:
    """The run's out-of-fold raw probabilities, its registered model's weights, the names of every
    run in the store, the registered versions, and the optimizer steps of each fine-tuning."""
    import mlflow
    from mlflow import MlflowClient
    from safetensors.numpy import load_file

    with transformer_env(store):
        client = MlflowClient()
        oof = client.download_artifacts(run_id, "oof_predictions.parquet", str(dst))
        model = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(dst / "model")))
        experiment = client.get_run(run_id).info.experiment_id
        runs = client.search_runs([experiment])
        steps = sorted(
            client.get_metric_history(r.info.run_id, "train_loss")[-1].step
            for r in runs
            if r.data.tags.get("stage") == "fine_tuning"
        )
        return {
            "p_raw": __import__("pandas").read_parquet(oof)["p_raw"].to_numpy(),
            "weights": load_file(str(next(model.rglob("model.safetensors")))),
            # nested runs by name (the top-level run's name holds the config's hash), top-level runs by count
            "runs": sorted(r.info.run_name for r in runs if "mlflow.parentRunId" in r.data.tags),
            "top_level_runs": sum("mlflow.parentRunId" not in r.data.tags for r in runs),
            "versions": len(client.search_model_versions(f"name='{NAME}'")),
            "steps": steps,
        }


def largest_difference(a: dict, b: dict) -> tuple[float, float]:
    """(largest |weight difference| but the key biases', largest |OOF probability difference|)."""
    kept = [k for k in a["weights"] if not k.endswith(NO_GRADIENT)]
    assert len(kept) > 10 and a["weights"].keys() == b["weights"].keys()
    weights = max(float(np.max(np.abs(a["weights"][k] - b["weights"][k]))) for k in kept)
    return weights, float(np.max(np.abs(a["p_raw"] - b["p_raw"])))


@pytest.mark.slow  # starts two training processes
def test_two_processes_train_as_one_and_only_the_first_tracks(tmp_path, tf_letters, still_base):
    from training.run.train import train

    one_store, two_store = tmp_path / "one", tmp_path / "two"
    with transformer_env(one_store):
        one = train(cv_config(tf_letters, still_base, GLOBAL_BATCH))
    two = torchrun_imr_train(cv_config(tf_letters, still_base, GLOBAL_BATCH // 2), two_store, processes=2)
    single = run_outputs(one_store, one.run_id, one.model_uri, tmp_path / "got1")
    ddp = run_outputs(two_store, two["run_id"], two["model_uri"], tmp_path / "got2")

    # the same optimizer steps (8 items each) in the same runs: folds, fine-tunings and the refit
    assert ddp["steps"] == single["steps"] and len(single["steps"]) == 3
    assert ddp["runs"] == single["runs"] and ddp["top_level_runs"] == single["top_level_runs"] == 1
    assert ddp["versions"] == single["versions"] == 1
    weights, p = largest_difference(single, ddp)
    assert weights < TOLERANCE and p < TOLERANCE, (weights, p)
    # the control: the refit on every letter by one process with half the batch (twice the steps)
    # lands far outside the tolerance
    control = refit_weights(cv_config(tf_letters, still_base, GLOBAL_BATCH // 2), tmp_path / "control")
    assert largest_difference(single, {"weights": control, "p_raw": single["p_raw"]})[0] > 100 * TOLERANCE


def refit_weights(cfg, folder: Path) -> dict:
    """The weights the transformer family fits on every item (what train_cv's refit fits), alone."""
    import mlflow
    from safetensors.numpy import load_file

    from serving.store import open_store
    from training.data.loading import load_splits
    from training.data.splits import Split, all_items
    from training.families.transformer import fit

    dsd, _ = load_splits(cfg.data)
    with transformer_env(folder):
        open_store("control")
        with mlflow.start_run():
            fit(cfg, Split.of(all_items(dsd), cfg.data.feature_view), None, folder / "model")
    return load_file(str(folder / "model" / "model.safetensors"))


def test_a_recipe_that_cannot_train_across_processes_is_refused(monkeypatch, tf_letters, tiny_base):
    from training.families.registry import family_of

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    for recipe in ("frozen_encoder", "setfit"):
        cfg = tf_config(tf_letters, tiny_base, recipe=recipe)
        with pytest.raises(ConfigError, match=f"model.recipe {recipe}: only fine_tune trains across processes"):
            family_of(cfg).check_data(cfg, 100)
    family_of(tf_config(tf_letters, tiny_base)).check_data(tf_config(tf_letters, tiny_base), 100)


def test_only_the_first_process_tracks_in_the_configured_store(monkeypatch, tmp_path):
    import serving.store as store

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    store._secondary_process_store.cache_clear()
    monkeypatch.setenv("RANK", "0")
    assert store.tracking_uri() == f"sqlite:///{tmp_path}/mlflow.db" and store.is_first_process()
    monkeypatch.setenv("RANK", "1")
    other = store.tracking_uri()
    assert not store.is_first_process()
    assert other.startswith("sqlite:///") and str(tmp_path) not in other and "imr-rank1-mlflow-" in other
    assert store.tracking_uri() == other  # one store for the whole process
    store._secondary_process_store.cache_clear()
