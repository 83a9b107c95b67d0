"""The packaged model folder shared by every model family.

    model_dir/
      imr_model.json    family, feature view, threshold, labels, sha256 of every file below
      pipeline.skops    (baseline) or config.json, model.safetensors, tokenizer files (transformer)
                        or combiner.json and members/<family>/ (ensemble: serving/ensemble_scorer.py)
      training_vocabulary.json   what the out-of-distribution check compares against (serving/ood.py)

Every file's hash is checked before anything is deserialised, and a scorer opens only files
the manifest lists: one it needs but that is not listed is refused (`require_listed`), and
libraries that pick their own files from a folder (transformers) are given a folder holding
only the listed ones (`listed_files_only`). Listed paths are relative and stay inside the folder.

The manifest sits beside the files it protects, so whoever can rewrite them can rewrite it too. A
registered version therefore also carries the manifest's sha256 in the registry, as the version tag
MANIFEST_SHA256_TAG (set by training.reporting.model_registry when the version is created), which
`verify_registered_manifest` checks when a models:/NAME/VERSION or models:/NAME@ALIAS is loaded.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath

from pydantic import BaseModel, ConfigDict, ValidationError

from features.letter import ID2LABEL
from features.views import View

META_FILE = "imr_model.json"
MANIFEST_SHA256_TAG = "manifest_sha256"  # registry tag of a model version: sha256 of its META_FILE


class ModelIntegrityError(RuntimeError):
    """A model file is missing or its hash does not match the one recorded at training time."""


class ModelMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    family: str  # a key of serving.scorers.SCORERS, checked when the folder is loaded (load_scorer)
    feature_view: View
    threshold: float
    id2label: dict[int, str] = ID2LABEL
    files: dict[str, str]  # relative path -> sha256
    options: dict = {}  # family-specific settings (e.g. the transformer's max_length)
    calibration: dict | None = None  # see serving.calibration; applied after the raw model output
    # Overturn rate of the training items; None in models packaged before it was recorded.
    base_rate: float | None = None
    # Longest text per request field in the training items (serving/field_limits.py bounds requests
    # by it); None in models packaged before it was recorded.
    field_lengths: dict[str, int] | None = None


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_meta(
    model_dir: Path,
    family: str,
    feature_view: str,
    threshold: float,
    files: list[str],
    options: dict | None = None,
    calibration: dict | None = None,
    base_rate: float | None = None,
    field_lengths: dict[str, int] | None = None,
) -> ModelMeta:
    meta = ModelMeta(
        family=family,
        feature_view=feature_view,
        threshold=threshold,
        files={name: sha256_file(model_dir / name) for name in sorted(files)},
        options=options or {},
        calibration=calibration,
        base_rate=base_rate,
        field_lengths=field_lengths,
    )
    (model_dir / META_FILE).write_text(meta.model_dump_json(indent=2))
    return meta


def read_verified_meta(model_dir: Path) -> ModelMeta:
    meta_path = model_dir / META_FILE
    if not meta_path.is_file():
        raise ModelIntegrityError(f"{model_dir}: no {META_FILE}; not an imr-outcome model folder")
    meta = _read_meta(meta_path)
    for name in meta.files:
        if not _inside(name):
            raise ModelIntegrityError(
                f"{meta_path}: lists {name!r}, which is not a relative path inside the "
                "model folder; refusing to load it"
            )
    for name, expected in meta.files.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelIntegrityError(f"{path}: model file missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(f"{path}: sha256 {actual} does not match {expected} recorded at training")
    return meta


def manifest_sha256(model_dir: Path) -> str:
    """What a registered version records in MANIFEST_SHA256_TAG: the manifest names every file's sha256."""
    return sha256_file(model_dir / META_FILE)


def verify_registered_manifest(model_dir: Path, registered: str, version: str) -> None:
    """Refuse a downloaded model folder whose manifest is not the one `version` (NAME version N) was
    registered with: the folder was rewritten in the artifact store after registration."""
    actual = manifest_sha256(model_dir)
    if actual != registered:
        raise ModelIntegrityError(
            f"{model_dir / META_FILE}: sha256 {actual} does not match {registered} registered as {version} "
            f"(version tag {MANIFEST_SHA256_TAG}); the model folder was changed after registration"
        )


def require_listed(model_dir: Path, meta: ModelMeta, *names: str) -> None:
    """Refuse to open a file the manifest does not list: its hash was never checked."""
    for name in names:
        if name not in meta.files:
            raise ModelIntegrityError(
                f"{model_dir / name}: not listed in {META_FILE}, so its sha256 is unknown; refusing to load it"
            )


@contextmanager
def listed_files_only(model_dir: Path, meta: ModelMeta) -> Iterator[Path]:
    """A temporary folder with a link to each listed (hash-checked) file and nothing else, for a
    loader that opens whatever it finds in a folder: an extra file dropped into the model folder
    is never read."""
    with tempfile.TemporaryDirectory(prefix="imr-listed-") as tmp:
        for name in meta.files:
            link = Path(tmp) / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to((model_dir / name).resolve())
        yield Path(tmp)


def _read_meta(meta_path: Path) -> ModelMeta:
    try:
        return ModelMeta.model_validate_json(meta_path.read_bytes())
    except ValidationError as exc:
        # loc and msg only: pydantic's `input` would print the manifest's values
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'the file'}: {e['msg']}" for e in exc.errors())
        raise ModelIntegrityError(f"{meta_path}: not a valid model manifest ({problems})") from None
    except OSError as exc:
        raise ModelIntegrityError(f"{meta_path}: cannot read the model manifest ({exc.strerror})") from None


def _inside(name: str) -> bool:
    """A relative path with no `..`, in POSIX or Windows spelling."""
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    return bool(name) and not (
        posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in posix.parts or ".." in windows.parts
    )
