"""Serving's side of a model family: one scorer in serving.scorers.SCORERS. A packaged folder whose
imr_model.json names any other family is refused with the known families named, before any of its
files is opened."""

from __future__ import annotations

import pytest

from serving.model_dir import META_FILE, ModelIntegrityError, write_meta
from serving.scorers import SCORERS, load_scorer


def test_a_family_without_a_scorer_is_refused_naming_the_known_ones(tmp_path):
    write_meta(tmp_path, "forest", "pre_decision", 0.5, [])
    with pytest.raises(ModelIntegrityError) as err:
        load_scorer(tmp_path)
    message = str(err.value)
    assert str(tmp_path / META_FILE) in message and "'forest'" in message
    assert f"(known: {', '.join(sorted(SCORERS))})" in message
    assert {"baseline", "transformer", "ensemble"} <= set(SCORERS)


def test_the_family_name_is_a_plain_string_in_the_manifest(tmp_path):
    """imr_model.json does not spell the families again: any string is read, the scorer registry decides."""
    meta = write_meta(tmp_path, "baseline", "pre_decision", 0.5, [])
    assert meta.family == "baseline"
    assert (
        write_meta(tmp_path, "a_family_from_the_future", "pre_decision", 0.5, []).family == "a_family_from_the_future"
    )
