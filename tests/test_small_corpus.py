"""The suite's small synthetic corpus (tests/synthetic_corpus.py, conftest.small_corpus) has what
the training and serving tests lean on; a change to the generator that loses it fails here,
naming what is gone, instead of somewhere downstream."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def splits(small_corpus):
    from training.config import DataConfig
    from training.data.loading import load_splits

    dsd, report = load_splits(DataConfig(sources=[str(small_corpus)]))
    return dsd, report


def test_every_letter_parses_and_both_formats_are_there(small_corpus, splits):
    _, report = splits
    files = list(small_corpus.iterdir())
    assert report["total_files"] == report["parsed"] == len(files) == 36
    assert {p.suffix for p in files} == {".pdf", ".txt"}


def test_each_split_has_overturned_items(splits):
    dsd, _ = splits
    for name, split in dsd.items():
        assert sum(split["label"]) >= 2, f"{name} split has fewer than 2 overturned items"


def test_the_test_split_has_a_header_less_letter_and_a_long_summary(splits):
    """The transformer tests score test rows without days_since_injury, and truncate a summary
    longer than three times their longest max_length (101 tokens)."""
    test = splits[0]["test"]
    assert any(d is None for d in test["days_since_injury"]) and any(d is not None for d in test["days_since_injury"])
    assert max(len(s.split()) for s in test["case_summary"]) > 300


def test_the_variety_the_serving_tests_filter_on(splits):
    rows = [row for split in splits[0].values() for row in split]
    assert {"opioids", "physical_medicine", "imaging_diagnostics"} <= {r["treatment_category"] for r in rows}
    months = {r["decision_date"][:7] for r in rows if r["decision_date"]}
    assert {"2016-12", "2017-01", "2017-02"} <= months
    assert any(r["case_number"] is None for r in rows) and any(r["patient_age"] is None for r in rows)
    # base rate well under one half: the base-rate reference never predicts Overturned
    assert 0.1 < sum(r["label"] for r in rows) / len(rows) < 0.35
