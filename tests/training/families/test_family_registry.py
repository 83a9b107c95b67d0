"""A model family is its module plus one registry entry on each side: training's FAMILIES and serving's
SCORERS name the same families, and each entry's config class selects it by its own name."""

from __future__ import annotations

from serving.scorers import SCORERS
from training.config_loading import validate_config
from training.families.family import RunFacts
from training.families.registry import DEFAULT_FAMILY, FAMILIES


def test_every_trained_family_can_be_served_and_every_scorer_trained():
    assert set(FAMILIES) == set(SCORERS)
    assert DEFAULT_FAMILY in FAMILIES


def test_each_entry_is_selected_by_its_name_and_describes_itself():
    for name, family in FAMILIES.items():
        assert family.name == name
        cfg = validate_config({"model": {"family": name}})
        assert isinstance(cfg.model, family.config) and cfg.model.family == name
        assert family.describe(cfg)  # one sentence, from the family's own module
        assert family.card_section(cfg, RunFacts()).startswith("## Model family")
