"""The predict API: `load_predictor(model_uri).predict(items)`.

`model_uri` is anything MLflow resolves (models:/name/3, models:/name@alias, runs:/<id>/model,
models:/m-<id>) or a local folder holding a logged model or an imr_model.json model folder.
A registered version (models:/name/3, models:/name@alias) is downloaded by its number, and its
manifest must have the sha256 the registry recorded for it (serving.model_dir.MANIFEST_SHA256_TAG);
any other URI or a folder has no registry entry, so only its own manifest's hashes apply. A
registered version is kept in a local model cache once it has loaded, and read from there at the
next load, with the same checks (serving/model_cache.py).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.model_dir import MANIFEST_SHA256_TAG, META_FILE, ModelIntegrityError, verify_registered_manifest
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
    # False: loaded without its precedents and criteria (load_predictor(evidence=False)), so it
    # cannot explain; a model packaged without them can, with none to show.
    with_evidence: bool = True

    def info(self) -> dict[str, Any]:
        """The model's name, version, run, family, feature view, base rate and how far to trust it
        (serving.answer.trust_sentence; null for a model packaged without its evaluation)."""
        from serving.answer import trust_sentence

        meta = self.scorer.meta
        return {
            "name": self.model_name,
            "version": self.model_version,
            "run_id": self.run_id,
            "family": meta.family,
            "feature_view": meta.feature_view,
            "base_rate": meta.base_rate,
            "trust": trust_sentence(self.evaluation),
        }

    def predict(
        self, items: Sequence[Mapping[str, Any]], explain: bool = False, threshold: float | None = None
    ) -> list[dict[str, Any]]:
        """Per item, the fields of serving.prediction.ModelPrediction: p_overturned, base_rate,
        band, observed_rate_scored_alike, answer, in_distribution, ood_reason, model_name,
        model_version; `predicted_decision` only at a `threshold` the caller gives; with `explain`,
        also `reasons`, `precedents`, `criteria` and `what_if` (see `evidence`)."""
        from serving.prediction import score_items, with_decisions

        if explain and not self.with_evidence:
            raise ValueError(f"{self.model_name} was loaded without its evidence (evidence=False): it cannot explain")
        if not items:
            return []
        model = {"model_name": self.model_name, "model_version": self.model_version}
        rows = [row | model for row in score_items(self.scorer, self.check, items, self.evaluation)]
        rows = with_decisions(rows, threshold, self.scorer.meta)
        return self.evidence(items, rows) if explain else rows

    def evidence(self, items: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]], k: int = 5) -> list[dict]:
        """`rows` (the items' predictions) with each item's `reasons` (serving.reasons, the same for every family),
        its k `precedents` (decided items of other cases, none unlike it) and `precedents_note`
        and the `criteria` reviewers cite for its treatment category (serving/criteria.py; a scored
        letter's own items never counted; [] for a model packaged without the table) and `what_if`, the
        probability with each of those criteria it does not document documented (serving/what_if.py).
        Computed only when asked for: never part of a plain prediction."""
        from serving.reasons import phrase_reasons  # the phrase machinery loads only for an explanation

        criteria = self.criteria.for_records(items) if self.criteria is not None else [[] for _ in items]
        # the criteria its category calls for, documented or not, are scored as reasons too; a model packaged
        # without the table knows no category's criteria, so every criterion a summary documents is looked for
        called_for = (
            None if self.criteria is None else [{c["criterion"]: c["in_request"] for c in cited} for cited in criteria]
        )
        reasons = phrase_reasons(self.scorer.predict_proba, items, criteria=called_for)
        changes = self.what_if(items, rows, criteria)
        return [
            row | {"reasons": why, "criteria": cited, "what_if": change} | self.precedents_of(item, k)
            for item, row, why, cited, change in zip(items, rows, reasons, criteria, changes, strict=True)
        ]

    def what_if(self, items: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]], criteria: list) -> list[dict]:
        """serving.what_if for the items: variants scored exactly as `rows` were (calibrated, capped)."""
        from serving.prediction import score_items
        from serving.what_if import what_if

        return what_if(
            lambda v: [r["p_overturned"] for r in score_items(self.scorer, self.check, v)], items, rows, criteria
        )

    def precedents_of(self, item: Mapping[str, Any], k: int = 5) -> dict[str, Any]:
        """`precedents` (serving.precedents.PrecedentIndex.close_precedents: one item per case, none under
        the similarity cut-off) and `precedents_note`, which says why fewer than k are shown."""
        if self.precedents is None:
            return {"precedents": [], "precedents_note": "this model has no precedents index"}
        found = self.precedents.close_precedents(item, k, case_number=item.get("case_number"))
        return {"precedents": found.rows, "precedents_note": found.note}

    def search(self, record: Mapping[str, Any], k: int = 5, filters=None, case_number: str | None = None) -> list:
        """The k decided items most like `record` (serving.precedents.PrecedentIndex.search)."""
        return self.precedents.search(record, k, filters, case_number) if self.precedents is not None else []


def load_predictor(model_uri: str, backend: str | None = None, evidence: bool = True) -> Predictor:
    """backend selects the transformer runtime: "torch" (default) or "onnx" (int8). evidence=False
    leaves out the precedents and criteria (what `explain` adds): loading them costs more than a
    plain prediction, and the precedents' index needs pandas and scikit-learn, which a transformer
    does not. A registered version already in the model cache (serving.model_cache) is read from
    there, checked as a download is; one downloaded is kept there once it has loaded."""
    from serving import model_cache

    with ExitStack() as downloads:  # a download is deleted on the way out unless the cache kept it
        found = _locate(model_uri, downloads)
        model_dir = _find_model_dir(found.folder, model_uri)
        try:
            predictor = _open(model_dir, backend, found, evidence)
        except ModelIntegrityError as exc:
            if not found.cached:
                raise
            raise ModelIntegrityError(
                f"{exc} (the model cache's copy of {found.name} version {found.version}: delete {model_dir} "
                "to download it again)"
            ) from None
        if found.downloaded and found.registered_manifest is not None:
            model_cache.keep(model_dir, found.name, found.version, found.registered_manifest)
        return predictor


@dataclass
class _Located:
    """Where a model URI's files are, and what the registry says about them."""

    folder: Path  # the model folder, or a logged model holding it (artifacts/<name>/)
    name: str
    version: str | None = None
    run_id: str | None = None
    registered_manifest: str | None = None  # the manifest sha256 the registry recorded
    cached: bool = False  # the model cache's copy (serving.model_cache)
    downloaded: bool = False  # a download of this load's own


def _open(model_dir: Path, backend: str | None, found: _Located, evidence: bool) -> Predictor:
    from serving.model_evaluation import read_evaluation
    from serving.ood import load_distribution_check
    from serving.scorers import load_scorer

    if found.registered_manifest is not None:
        verify_registered_manifest(model_dir, found.registered_manifest, f"{found.name} version {found.version}")
    scorer = load_scorer(model_dir, backend)  # verifies every listed file's sha256, the index's too
    # Scorers read their files into memory at load, so a downloaded copy can go afterwards.
    files = scorer.meta.files
    precedents, criteria = _evidence(model_dir, files) if evidence else (None, None)
    return Predictor(
        scorer,
        found.name,
        found.version,
        found.run_id,
        load_distribution_check(model_dir, scorer.meta),
        precedents,
        read_evaluation(model_dir, files),
        criteria,
        with_evidence=evidence,
    )


def _evidence(model_dir: Path, files: Mapping[str, str]) -> tuple[Any, Any]:
    """(precedents, criteria) of a verified model folder; None for each it was packaged without."""
    from serving.criteria import load_criteria
    from serving.precedents import load_precedents

    return load_precedents(model_dir, files), load_criteria(model_dir, files)


def _locate(model_uri: str, downloads: ExitStack) -> _Located:
    """A folder as it is; a registered version from the model cache when it holds it (found in a
    SQLite registry without importing MLflow: serving.registry_lookup); anything else downloaded."""
    from serving import model_cache
    from serving.registry_lookup import read_registered_version

    path = Path(model_uri)
    if path.exists():
        return _Located(path, path.resolve().name)
    if "://" not in model_uri and not model_uri.startswith(("models:/", "runs:/")):
        raise ModelNotFoundError(f"model {model_uri!r}: no such folder, and not an MLflow URI (models:/NAME/VERSION)")
    found = read_registered_version(model_uri, MANIFEST_SHA256_TAG)
    if found is not None:
        manifest = found.tags.get(MANIFEST_SHA256_TAG)
        copy = model_cache.cached(found.name, found.version, manifest)
        if copy is not None:
            return _Located(copy, found.name, found.version, found.run_id, manifest, cached=True)
    download = downloads.enter_context(
        tempfile.TemporaryDirectory(prefix="imr-model-", dir=model_cache.download_folder())
    )
    return _resolve(model_uri, Path(download))


def _resolve(model_uri: str, download: Path) -> _Located:
    """The model URI resolved by MLflow: a registered version from the model cache when it holds
    it, else downloaded into `download`."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from serving import model_cache
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
            copy = model_cache.cached(name, version, manifest)
            if copy is not None:
                return _Located(copy, name, version, run_id, manifest, cached=True)
            # by number, so an alias moved meanwhile cannot swap in another version's files
            source = f"models:/{name}/{version}"
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(download)))
    except MlflowException as exc:
        raise ModelNotFoundError(f"model {model_uri!r} not found: {exc.message}") from exc
    return _Located(local, name, version, run_id, manifest, downloaded=True)


def _registered_version(ref: str):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    if "@" in ref:
        name, alias = ref.split("@", 1)
        try:
            return client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            raise ModelNotFoundError(missing_alias_message(client, name, alias)) from exc
    name, _, version = ref.rpartition("/")
    if not name:
        raise ModelNotFoundError(
            f"models:/{ref}: give a version or alias, e.g. models:/{ref}/1 or models:/{ref}@candidate"
        )
    return client.get_model_version(name, version)


def missing_alias_message(client, name: str, alias: str) -> str:
    """Why models:/NAME@ALIAS does not resolve, naming the aliases that do exist: NAME's own, and
    the registered models that hold ALIAS (e.g. `champion`, which `imr promote` sets on one model)."""
    from mlflow.exceptions import MlflowException

    def listed(aliases: dict) -> str:
        return ", ".join(f"@{a} (version {v})" for a, v in sorted(aliases.items())) or "none"

    try:
        models = {m.name: m.aliases for m in client.search_registered_models(max_results=1000)}
    except MlflowException:
        models = {}
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        return f"models:/{name}@{alias}: no registered model {name!r} (registered models: {known})"
    holders = [f"models:/{other}@{alias}" for other, aliases in sorted(models.items()) if alias in aliases]
    elsewhere = f"; {alias} is held by {', '.join(holders)}" if holders else ""
    hint = "; `imr promote` sets @champion" if alias == "champion" and not holders else ""
    own = listed(models[name])
    return f"models:/{name}@{alias}: {name} has no alias {alias!r}; its aliases: {own}{elsewhere}{hint}"


def _find_model_dir(local: Path, model_uri: str) -> Path:
    if (local / META_FILE).is_file():
        return local
    for candidate in sorted(local.glob(f"artifacts/*/{META_FILE}")):
        return candidate.parent
    raise ModelNotFoundError(f"model {model_uri!r}: {local} holds no imr-outcome model ({META_FILE} not found)")
