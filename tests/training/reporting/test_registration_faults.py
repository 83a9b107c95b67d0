"""A run that fails or is interrupted leaves every alias where it was (issue 24): the version is
registered last, with all its tags, the alias moved only once the version is complete, and any
failure or interrupt before the run ends deletes the version and puts the alias back
(training.reporting.model_registry.VersionRegistration). `imr train` stopped by Ctrl-C says so in one line, exits
130 and ends the run KILLED.

One store per module: a first complete version (alias `testing`, and `champion` set by hand), then
runs that fail at each step after registration begins, in this process and, for SIGINT, in an
`imr train` child process interrupted by a real signal at the chosen call."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from compose import compose
from conftest import ROOT_DIR, tracking_store

from training.imr import main

NAME = "imr-test-registration"
EXPERIMENT = "imr-tests-registration"
ALIAS = "testing"
OVERRIDES = {
    "model": {"text_tfidf": {"min_df": 1, "max_features": 500}},
    "evaluation": {"folds": 3, "repeats": 1, "bootstrap_samples": 10, "writer_shift": False},
    "mlflow": {"experiment": EXPERIMENT, "registered_model_name": NAME, "alias": ALIAS},
}


def config(letters: Path):
    return compose("baseline", data={"sources": [str(letters)]}, **OVERRIDES)


def cli_overrides(letters: Path) -> list[str]:
    """OVERRIDES as `imr train --set` arguments (JSON values are YAML)."""
    import json

    sets = {"data.sources": [str(letters)]}

    def flat(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                flat(f"{prefix}.{key}" if prefix else key, inner)
        else:
            sets[prefix] = value

    flat("", OVERRIDES)
    return [arg for key, value in sets.items() for arg in ("--set", f"{key}={json.dumps(value)}")]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with tracking_store(tmp_path_factory.mktemp("registration")) as root:
        yield root


@pytest.fixture(scope="module")
def first(store, small_corpus):
    """A complete version 1: alias `testing` from training, `champion` set by hand."""
    from mlflow import MlflowClient

    from training.run.train import train

    result = train(config(small_corpus))
    MlflowClient().set_registered_model_alias(NAME, "champion", result.model_version)
    return result


def registry_state() -> dict:
    """Every alias, every live version with its status and tags, and the model's description."""
    from mlflow import MlflowClient

    client = MlflowClient()
    model = client.get_registered_model(NAME)
    versions = {v.version: (v.status, dict(v.tags)) for v in client.search_model_versions(f"name = '{NAME}'")}
    aliases = {alias: str(version) for alias, version in model.aliases.items()}
    return {"aliases": aliases, "versions": versions, "description": model.description}


def latest_run():
    import mlflow

    (run,) = mlflow.search_runs(
        experiment_names=[EXPERIMENT],
        filter_string="attributes.run_name != '' and tags.`mlflow.parentRunId` IS NULL",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    return run


def test_a_complete_version_carries_its_manifest_hash(first, tmp_path):
    """What serving.predictor checks a downloaded models:/ folder against (tests/serving/test_model_trust.py)."""
    from conftest import downloaded_model_folder
    from mlflow import MlflowClient

    from serving.model_dir import MANIFEST_SHA256_TAG, manifest_sha256

    state = registry_state()
    assert state["aliases"] == {ALIAS: first.model_version, "champion": first.model_version}
    tags = MlflowClient().get_model_version(NAME, first.model_version).tags
    folder = downloaded_model_folder(first.model_uri, tmp_path)
    assert tags[MANIFEST_SHA256_TAG] == manifest_sha256(folder)
    assert {"family", "run_name", "data_digest", "cv_roc_auc"} <= set(tags)
    assert latest_run().data.tags["registered_model"] == first.model_uri


# Calls of training.run.train._register after registration has begun, in order: inside register_model once
# the version row exists (MLflow links it to the logged model), the model card (the version's
# description), the registered model's description, and the run's note once the alias has moved.
FAULTS = {
    "inside register_model": "mlflow.MlflowClient.set_logged_model_tags",
    "model card": "training.run.train.write_model_card",
    "model description": "training.run.train.describe_model",
    "after the alias moved": "training.run.train.append_note",
}


@pytest.mark.parametrize("step", list(FAULTS))
def test_a_failure_after_registration_began_leaves_the_registry_as_it_was(first, small_corpus, monkeypatch, step):
    from training.run.train import train

    before = registry_state()

    def fail(*args, **kwargs):
        raise RuntimeError(f"injected at {step}")

    monkeypatch.setattr(FAULTS[step], fail)
    with pytest.raises(RuntimeError, match="injected") as info:
        train(config(small_corpus))
    assert registry_state() == before
    note = " ".join(getattr(info.value, "__notes__", []))
    assert re.search(rf"version \d+ of '{NAME}' deleted, alias '{ALIAS}' left as it was", note), note
    run = latest_run()
    assert run.info.status == "FAILED" and "registered_model" not in run.data.tags


def test_an_interrupt_before_registration_is_one_line_exit_130_and_a_killed_run(
    first, small_corpus, monkeypatch, capsys
):
    """Ctrl-C during cross-validation (KeyboardInterrupt raised at the fold loop's call)."""
    import training.run.train

    before = registry_state()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training.run.train, "out_of_fold", interrupt)
    code = main(["train", "--config", str(ROOT_DIR / "configs" / "baseline.yaml"), *cli_overrides(small_corpus)])
    err = capsys.readouterr().err
    run = latest_run()
    assert code == 130
    assert err.endswith(f"imr train: interrupted; run {run.info.run_id} ended as KILLED; nothing was registered\n")
    assert "Traceback" not in err
    assert run.info.status == "KILLED"
    assert registry_state() == before


CHILD = textwrap.dedent(
    """
    import importlib
    import sys
    import time

    from training.imr import main


    def pause(*args, **kwargs):
        print("PAUSED", flush=True)
        time.sleep(300)  # until the parent's SIGINT


    if __name__ == "__main__":
        module, _, name = sys.argv[1].rpartition(".")
        setattr(importlib.import_module(module), name, pause)
        sys.exit(main(sys.argv[2:]))
    """
)
# Where the child waits for its SIGINT: once the version exists, before it is complete; and once the
# alias has moved, before the run has ended.
SIGINT_AT = {"version created": "training.run.train.write_model_card", "alias moved": "training.run.train.append_note"}


def wait_for_line(proc: subprocess.Popen, line: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            got = proc.stdout.readline()
            if got.strip() == line:
                return
            assert got, f"the child exited before {line}"
    raise AssertionError(f"no {line} within {timeout} s")


@pytest.mark.slow  # starts an imr train process
@pytest.mark.parametrize("point", list(SIGINT_AT))
def test_sigint_during_registration_leaves_every_alias_unchanged(first, small_corpus, tmp_path, point):
    before = registry_state()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    stderr = tmp_path / "stderr.txt"
    command = [
        sys.executable,
        str(script),
        SIGINT_AT[point],
        "train",
        "--config",
        str(ROOT_DIR / "configs" / "baseline.yaml"),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT_DIR), os.environ.get("PYTHONPATH", "")])}
    with open(stderr, "w") as err:
        proc = subprocess.Popen(
            [*command, *cli_overrides(small_corpus)], stdout=subprocess.PIPE, stderr=err, text=True, env=env
        )
        try:
            wait_for_line(proc, "PAUSED", timeout=300)
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = stderr.read_text()
    last = text.strip().splitlines()[-1]
    run = latest_run()
    assert code == 130, text[-2000:]
    assert "Traceback" not in text
    assert re.fullmatch(
        rf"imr train: interrupted; run {run.info.run_id} ended as KILLED; version \d+ of '{NAME}' deleted, "
        rf"alias '{ALIAS}' left as it was",
        last,
    ), last
    assert run.info.status == "KILLED"
    assert registry_state() == before
