"""What the model registry says about a registered model and each of its versions: the model's
description (what it predicts, how to use and promote it) and per-version tags (family, headline
metrics, data digest, git commit, the run), so versions can be compared in the registry UI and
searched (`tags.family = 'transformer'`)."""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient

from training.config import TrainConfig
from training.reporting.headline import point_estimates
from training.reporting.provenance import GIT_COMMIT_TAG
from training.reporting.run_info import append_note


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


def version_tags(cfg: TrainConfig, family, metrics: dict[str, float], run) -> dict[str, str]:
    tags = {
        "family": family.name,
        "feature_view": cfg.data.feature_view,
        "evaluation_mode": cfg.evaluation.mode,
        "run_name": run.info.run_name,
        "data_digest": run.data.tags.get("data_digest", ""),
    }
    tags.update({k: f"{v:.4f}" for k, v in point_estimates(metrics, cfg.evaluation.mode).items()})
    commit = run.data.tags.get(GIT_COMMIT_TAG)
    if commit:
        tags["git_commit"] = commit
    return tags


def describe_version(cfg: TrainConfig, family, metrics: dict[str, float], version: str, model_uri: str) -> None:
    """After registration, inside the run that registered the version."""
    client = MlflowClient()
    name = cfg.mlflow.registered_model_name
    run = client.get_run(mlflow.active_run().info.run_id)
    for key, value in version_tags(cfg, family, metrics, run).items():
        client.set_model_version_tag(name, version, key, value)
    client.update_registered_model(name, description=model_description(name, family, cfg))
    append_note(f"**Registered** as `{model_uri}` (alias `{cfg.mlflow.alias}`).\n")
