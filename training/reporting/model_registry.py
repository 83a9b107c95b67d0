"""What the model registry says about a registered model and each of its versions: the model's
description (what it predicts, how to use and promote it) and per-version tags (family, headline
metrics, data digest, git commit, the run, the manifest's sha256), so versions can be compared in
the registry UI and searched (`tags.family = 'transformer'`); and `VersionRegistration`, which
registers a run's version last and rolls the registry back if the run does not finish."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from serving.model_dir import MANIFEST_SHA256_TAG
from training.config import TrainConfig
from training.reporting.headline import point_estimates
from training.reporting.provenance import GIT_COMMIT_TAG

REGISTERED_MODEL_TAG = "registered_model"  # the run's tag naming the version it registered


def model_description(name: str, family, cfg: TrainConfig) -> str:
    return f"""Forecasts P(IMR overturns the utilization-review denial) for one disputed treatment item of a \
California workers' compensation Independent Medical Review, from the request's pre-decision text.

- Family: **{family.name}** ({family.describe(cfg)}).
- Each version's description is its model card; its tags give the family, headline metrics (out-of-fold, \
or on the test split), data digest, git commit and training run.
- Aliases: `{cfg.mlflow.alias}` is the newest trained version; `champion` is the one promoted by hand \
(`MlflowClient().set_registered_model_alias("{name}", "champion", <version>)`).
- Score: `imr predict --model models:/{name}@{cfg.mlflow.alias} --input requests.jsonl`, or \
`imr serve --model models:/{name}@champion`.
"""


def version_tags(cfg: TrainConfig, family, metrics: dict[str, float], run, manifest_sha256: str) -> dict[str, str]:
    tags = {
        "family": family.name,
        "feature_view": cfg.data.feature_view,
        "evaluation_mode": cfg.evaluation.mode,
        "run_name": run.info.run_name,
        "data_digest": run.data.tags.get("data_digest", ""),
        MANIFEST_SHA256_TAG: manifest_sha256,  # serving.predictor checks the downloaded folder against it
    }
    tags.update({k: f"{v:.4f}" for k, v in point_estimates(metrics, cfg.evaluation.mode).items()})
    commit = run.data.tags.get(GIT_COMMIT_TAG)
    if commit:
        tags["git_commit"] = commit
    return tags


class VersionRegistration:
    """One run's version of a registered model, made in the order that keeps every alias valid:
    `create` registers the version with all its tags once everything it needs is logged, the caller
    completes it (model card, the model's description), and `move_alias`, last, points the alias at
    it. Used as a context manager around the whole run: if anything raises or the process is
    interrupted before the block ends (the run ended), the registry is put back as it was: the alias
    to the version it named (or removed, if it named none), every version of this run deleted, the
    model's description restored, and the registered model removed if this run created it. The
    outcome is noted on the exception for `imr train` to report."""

    def __init__(self, name: str, alias: str):
        self.name, self.alias = name, alias
        self.run_id: str | None = None
        self.version: str | None = None
        self._model_existed = True
        self._description: str | None = None
        self._alias_was: str | None = None  # the version the alias named before this run moved it
        self._alias_moved = False

    def __enter__(self) -> VersionRegistration:
        return self

    def create(self, logged_model_uri: str, run_id: str, tags: dict[str, str]) -> str:
        client = MlflowClient()
        self.run_id = run_id  # set first: a version created before register_model returns is found by it
        model = _registered_model(client, self.name)
        self._model_existed = model is not None
        self._description = model.description if model else None
        self.version = str(mlflow.register_model(logged_model_uri, self.name, tags=tags).version)
        return self.version

    def move_alias(self) -> None:
        client = MlflowClient()
        model = _registered_model(client, self.name)
        self._alias_was = model.aliases.get(self.alias) if model else None
        self._alias_moved = True  # set first: if the call below is interrupted, the rollback still resets it
        client.set_registered_model_alias(self.name, self.alias, self.version)

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None:
            exc.add_note(self._roll_back())
        return False

    def _roll_back(self) -> str:
        if self.run_id is None:
            return "nothing was registered"
        with _interrupts_ignored():
            try:
                deleted = self._undo(MlflowClient())
            except Exception as exc:  # the original failure still propagates; this says what is left
                return (
                    f"the registry could not be put back ({type(exc).__name__}): check the versions of "
                    f"{self.name!r} from run {self.run_id} and its alias {self.alias!r}"
                )
        kept = f"alias {self.alias!r} left as it was"
        return (
            f"version {', '.join(deleted)} of {self.name!r} deleted, {kept}"
            if deleted
            else f"nothing was registered, {kept}"
        )

    def _undo(self, client: MlflowClient) -> list[str]:
        """Alias back, this run's versions deleted, the model as it was; the versions deleted."""
        if self._alias_moved:
            if self._alias_was is None:
                if self.alias in _registered_model(client, self.name).aliases:
                    client.delete_registered_model_alias(self.name, self.alias)
            else:
                client.set_registered_model_alias(self.name, self.alias, self._alias_was)
        ours = [
            str(v.version) for v in client.search_model_versions(f"name = '{self.name}' and run_id = '{self.run_id}'")
        ]
        for version in ours:
            client.delete_model_version(self.name, version)
        self._restore_model(client)
        if REGISTERED_MODEL_TAG in client.get_run(self.run_id).data.tags:
            client.delete_tag(self.run_id, REGISTERED_MODEL_TAG)
        return ours

    def _restore_model(self, client: MlflowClient) -> None:
        model = _registered_model(client, self.name)
        if model is None:
            return
        if not self._model_existed and not client.search_model_versions(f"name = '{self.name}'"):
            client.delete_registered_model(self.name)
        elif model.description != self._description:
            client.update_registered_model(self.name, description=self._description or "")


def _registered_model(client: MlflowClient, name: str):
    """The registered model, or None if there is none by that name."""
    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """A second Ctrl-C while the registry is being put back would leave it half done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def describe_model(cfg: TrainConfig, family) -> None:
    """The registered model's description (the same for every version of a config's family)."""
    name = cfg.mlflow.registered_model_name
    MlflowClient().update_registered_model(name, description=model_description(name, family, cfg))
