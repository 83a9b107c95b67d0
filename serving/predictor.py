"""The predict API: `load_predictor(model_uri).predict(items)`.

`model_uri` is anything MLflow resolves (models:/name/3, models:/name@alias, runs:/<id>/model,
models:/m-<id>) or a local folder holding a logged model or an imr_model.json model folder.
A registered version (models:/name/3, models:/name@alias) is downloaded by its number, and its
manifest must have the sha256 the registry recorded for it (serving.model_dir.MANIFEST_SHA256_TAG);
any other URI or a folder has no registry entry, so only its own manifest's hashes apply.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.model_dir import MANIFEST_SHA256_TAG, META_FILE, verify_registered_manifest
from serving.ood import DistributionCheck

log = logging.getLogger(__name__)


class ModelNotFoundError(LookupError):
    """The model URI does not resolve to a logged imr-outcome model."""


@dataclass
class Predictor:
    scorer: Any
    model_name: str
    model_version: str | None
    run_id: str | None = None
    check: DistributionCheck | None = None  # None: a model packaged before the check existed
    precedents: Any = None  # serving.precedents.PrecedentIndex; None: a model packaged without one
    evaluation: dict | None = None  # serving.model_evaluation: the headline metrics shipped with the model
    criteria: Any = None  # serving.criteria.CriteriaTable; None: a model packaged without one

    @property
    def threshold(self) -> float:
        return self.scorer.meta.threshold

    def info(self) -> dict[str, Any]:
        meta = self.scorer.meta
        return {
            "name": self.model_name,
            "version": self.model_version,
            "run_id": self.run_id,
            "family": meta.family,
            "feature_view": meta.feature_view,
            "threshold": meta.threshold,
            "base_rate": meta.base_rate,
        }

    def predict(self, items: Sequence[Mapping[str, Any]], explain: bool = False) -> list[dict[str, Any]]:
        """Per item, the fields of serving.prediction.ModelPrediction: p_overturned,
        predicted_decision, in_distribution, ood_reason, base_rate, model_name, model_version;
        with `explain`, also `reasons`, `precedents` and `criteria` (see `evidence`)."""
        from serving.prediction import score_items

        if not items:
            return []
        model = {"model_name": self.model_name, "model_version": self.model_version}
        rows = [row | model for row in score_items(self.scorer, self.check, items)]
        return self.evidence(items, rows) if explain else rows

    def evidence(self, items: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]], k: int = 5) -> list[dict]:
        """`rows` (the items' predictions) with each item's `reasons` (the scorer's, per family),
        its k `precedents` (decided items of other letters; [] for a model packaged without an index)
        and the `criteria` reviewers cite for its treatment category (serving/criteria.py; a scored
        letter's own items never counted; [] for a model packaged without the table).
        Computed only when asked for: never part of a plain prediction."""
        reasons = self.scorer.reasons(items)
        criteria = self.criteria.for_records(items) if self.criteria is not None else [[] for _ in items]
        return [
            row
            | {
                "reasons": why,
                "precedents": self.search(item, k, case_number=item.get("case_number")),
                "criteria": cited,
            }
            for item, row, why, cited in zip(items, rows, reasons, criteria, strict=True)
        ]

    def search(self, record: Mapping[str, Any], k: int = 5, filters=None, case_number: str | None = None) -> list:
        """The k decided items most like `record` (serving.precedents.PrecedentIndex.search)."""
        return self.precedents.search(record, k, filters, case_number) if self.precedents is not None else []


def load_predictor(model_uri: str, backend: str | None = None) -> Predictor:
    """backend selects the transformer runtime: "torch" (default) or "onnx" (int8)."""
    from serving.criteria import load_criteria
    from serving.model_evaluation import read_evaluation
    from serving.ood import load_distribution_check
    from serving.precedents import load_precedents
    from serving.scorers import load_scorer

    with tempfile.TemporaryDirectory(prefix="imr-model-") as download:
        # Scorers read their files into memory at load, so the downloaded copy can go afterwards.
        local, name, version, run_id, registered_manifest = _resolve(model_uri, Path(download))
        model_dir = _find_model_dir(local, model_uri)
        if registered_manifest is not None:
            verify_registered_manifest(model_dir, registered_manifest, f"{name} version {version}")
        scorer = load_scorer(model_dir, backend)  # verifies every listed file's sha256, the index's too
        return Predictor(
            scorer,
            name,
            version,
            run_id,
            load_distribution_check(model_dir, scorer.meta),
            load_precedents(model_dir, scorer.meta.files),
            read_evaluation(model_dir, scorer.meta.files),
            load_criteria(model_dir, scorer.meta.files),
        )


def _resolve(model_uri: str, download: Path) -> tuple[Path, str, str | None, str | None, str | None]:
    """(local folder, model name, version, run id, the manifest sha256 the registry recorded)."""
    path = Path(model_uri)
    if path.exists():
        return path, path.resolve().name, None, None, None
    if "://" not in model_uri and not model_uri.startswith(("models:/", "runs:/")):
        raise ModelNotFoundError(f"model {model_uri!r}: no such folder, and not an MLflow URI (models:/NAME/VERSION)")
    import mlflow
    from mlflow.exceptions import MlflowException

    from serving.store import open_store, quiet_local_artifact_bars

    quiet_local_artifact_bars()
    open_store()
    name, version, run_id, manifest, source = model_uri, None, None, None, model_uri
    try:
        if model_uri.startswith("models:/") and not model_uri.startswith("models:/m-"):
            version_info = _registered_version(model_uri.removeprefix("models:/"))
            name, version, run_id = version_info.name, str(version_info.version), version_info.run_id
            manifest = version_info.tags.get(MANIFEST_SHA256_TAG)
            if manifest is None:
                log.warning(
                    "%s version %s has no %s tag (registered before versions carried one): only its own "
                    "manifest's hashes are checked",
                    name,
                    version,
                    MANIFEST_SHA256_TAG,
                )
            # by number, so an alias moved meanwhile cannot swap in another version's files
            source = f"models:/{name}/{version}"
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(download)))
    except MlflowException as exc:
        raise ModelNotFoundError(f"model {model_uri!r} not found: {exc.message}") from exc
    return local, name, version, run_id, manifest


def _registered_version(ref: str):
    from mlflow import MlflowClient

    client = MlflowClient()
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return client.get_model_version_by_alias(name, alias)
    name, _, version = ref.rpartition("/")
    if not name:
        raise ModelNotFoundError(
            f"models:/{ref}: give a version or alias, e.g. models:/{ref}/1 or models:/{ref}@candidate"
        )
    return client.get_model_version(name, version)


def _find_model_dir(local: Path, model_uri: str) -> Path:
    if (local / META_FILE).is_file():
        return local
    for candidate in sorted(local.glob(f"artifacts/*/{META_FILE}")):
        return candidate.parent
    raise ModelNotFoundError(f"model {model_uri!r}: {local} holds no imr-outcome model ({META_FILE} not found)")
