"""Run names that say what was trained: `<family>-<key choices>-<mode>-<calibration>-<config hash>`,
e.g. `baseline-C1-tfidf12-mindf2-cv-sigmoid-3f2a`. The key choices are the family registry's
key_params with their short labels, so two configs a reader would tell apart get names that differ
at a glance, and the 4-hex hash of the resolved config keeps any two configs apart."""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath
from typing import Any

from training.config import TrainConfig, resolved_yaml


def config_hash(cfg: TrainConfig) -> str:
    return hashlib.sha256(resolved_yaml(cfg).encode()).hexdigest()[:4]


def _lookup(tree: dict, dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _compact(value: Any) -> str:
    """1.0 -> 1, 5e-05 -> 5e-05, [1, 2] -> 12, a path or package:<module> -> its last part."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "".join(_compact(v) for v in value)
    if isinstance(value, str):
        value = PurePosixPath(value.removeprefix("package:").rstrip("/")).name or value
    # MLflow accepts most characters in run names, but a name is also read in URLs and shells.
    return re.sub(r"[^A-Za-z0-9._]+", "_", str(value))


def name_part(label: str, value: Any) -> str | None:
    """A boolean choice is named by its label when on and left out when off; None is `<label>none`."""
    if isinstance(value, bool):
        return label if value else None
    return f"{label}{'none' if value is None else _compact(value)}"


def run_name(cfg: TrainConfig) -> str:
    if cfg.mlflow.run_name:
        return cfg.mlflow.run_name
    from training.families.registry import family_of

    tree = cfg.model_dump(mode="json")
    parts = [name_part(label, _lookup(tree, key)) for key, label in family_of(cfg).key_params.items()]
    if cfg.data.feature_view != "pre_decision":  # a research view must never pass for the default one
        parts.append(cfg.data.feature_view)
    return "-".join(
        [cfg.model.family, *(p for p in parts if p), cfg.evaluation.mode, cfg.evaluation.calibration, config_hash(cfg)]
    )
