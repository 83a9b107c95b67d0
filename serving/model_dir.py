"""The packaged model folder shared by every model family.

    model_dir/
      imr_model.json    family, feature view, threshold, labels, sha256 of every file below
      pipeline.skops    (baseline) or config.json, model.safetensors, tokenizer files (transformer)
      training_vocabulary.json   what the out-of-distribution check compares against (serving/ood.py)

Every file's hash is checked before anything is deserialised.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from features.letter import ID2LABEL
from features.views import View

META_FILE = "imr_model.json"


class ModelIntegrityError(RuntimeError):
    """A model file is missing or its hash does not match the one recorded at training time."""


class ModelMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    family: Literal["baseline", "transformer"]
    feature_view: View
    threshold: float
    id2label: dict[int, str] = ID2LABEL
    files: dict[str, str]  # relative path -> sha256
    options: dict = {}  # family-specific settings (e.g. the transformer's max_length)
    calibration: dict | None = None  # see serving.calibration; applied after the raw model output
    # Overturn rate of the training items; None in models packaged before it was recorded.
    base_rate: float | None = None


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_meta(model_dir: Path, family: str, feature_view: str, threshold: float, files: list[str],
               options: dict | None = None, calibration: dict | None = None,
               base_rate: float | None = None) -> ModelMeta:
    meta = ModelMeta(
        family=family, feature_view=feature_view, threshold=threshold,
        files={name: sha256_file(model_dir / name) for name in sorted(files)}, options=options or {},
        calibration=calibration, base_rate=base_rate,
    )
    (model_dir / META_FILE).write_text(meta.model_dump_json(indent=2))
    return meta


def read_verified_meta(model_dir: Path) -> ModelMeta:
    meta_path = model_dir / META_FILE
    if not meta_path.is_file():
        raise ModelIntegrityError(f"{model_dir}: no {META_FILE}; not an imr-outcome model folder")
    meta = ModelMeta.model_validate_json(meta_path.read_text())
    for name, expected in meta.files.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelIntegrityError(f"{path}: model file missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(f"{path}: sha256 {actual} does not match {expected} recorded at training")
    return meta
