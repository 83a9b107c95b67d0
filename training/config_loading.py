"""Read a YAML config, apply `--set key=<YAML value>` overrides, and validate it as the TrainConfig
of the family that `model.family` names (the baseline when it names none).

Errors are ConfigErrors naming the file and the key path. This is yaml.safe_load + pydantic, not
pydantic-settings: its CLI source parses `--model.classifier.C 0.5` flags, while the documented
interface is `--set key=<YAML value>` (lists such as `data.sources=[a,b]` included), and nothing
here is read from the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from training.config import ConfigError, TrainConfig
from training.families.registry import DEFAULT_FAMILY, FAMILIES


def load_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys, got {type(raw).__name__}")
    for assignment in overrides:
        apply_override(raw, assignment)
    return validate_config(raw, str(path))


def validate_config(raw: dict[str, Any], source: str = "config") -> TrainConfig:
    """raw (a parsed YAML mapping) as the TrainConfig of its family; errors name `source`."""
    model = raw.get("model")
    if model is None:
        model = {}
    if not isinstance(model, dict):
        raise ConfigError(f"{source}: model: must be a mapping of keys, got {type(model).__name__}")
    family = model.get("family", DEFAULT_FAMILY)
    if not isinstance(family, str) or family not in FAMILIES:
        known = ", ".join(sorted(FAMILIES))
        raise ConfigError(f"{source}: model.family: {family!r} is not a model family (known: {known})")
    try:
        return TrainConfig[FAMILIES[family].config].model_validate({**raw, "model": model})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or '<top>'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from exc


def default_config() -> TrainConfig:
    """The config of an empty YAML file: every default, the default family."""
    return validate_config({})


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    key, sep, value = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {assignment!r}: expected key=value, e.g. model.classifier.C=0.5")
    node = raw
    parts = key.split(".")
    for part in parts[:-1]:
        if node.get(part) is None:  # absent, or `section: null` in the YAML
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"--set {assignment!r}: {part!r} is not a section")
    try:
        node[parts[-1]] = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(f"--set {key}: the value is not valid YAML ({problem})") from exc
