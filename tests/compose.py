"""Test configs are the shipped ones plus overrides, so tests train what users train."""

from __future__ import annotations

import json
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def compose(config: str, **sections: dict):
    """configs/<config>.yaml with overrides, applied as `imr train --config ... --set key=value`
    applies them: compose("baseline", evaluation={"folds": 3}) is `--set evaluation.folds=3`."""
    from training.config_loading import load_config

    def assignments(prefix: str, value) -> list[str]:
        if isinstance(value, dict):
            return [a for key, inner in value.items() for a in assignments(f"{prefix}.{key}", inner)]
        return [f"{prefix}={json.dumps(value)}"]  # JSON is YAML: the value is parsed as written

    return load_config(
        CONFIGS / f"{config}.yaml", [a for key, value in sections.items() for a in assignments(key, value)]
    )
