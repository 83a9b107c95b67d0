"""PrecedentIndex.search (serving/precedents.py) filters on integer codes and date ranks for speed;
here it must return exactly what a plain loop over the items returns: the same items, in the same
order (ties by index), with the same shown fields and similarity, for whole requests and free-text
queries, with every filter, boundary dates, missing dates and case numbers, and k beyond the
candidates. The index is built from synthetic letters parsed in-process (no model, no process)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pandas as pd
import pytest
from synthetic_corpus import synthetic_letter

from features.dataset import item_rows
from features.letter import LABEL_NAMES
from features.parser import parse_letter
from serving.precedents import ITEMS_FILE, SHOWN, Filters, PrecedentIndex, build_index, summary_digest

DATES = ["2015-03-02", "2016-06-01", "2016-06-01", "2017-01-15", "2017-12-31", "2018-07-04", None]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    """Items of 40 letters; every fifth letter has no case number, one in seven no decision date,
    and letters 10 and 11 share a case summary."""
    rng = random.Random(7)
    out = []
    for k in range(40):
        text, _ = synthetic_letter(f"CM16-{k:07d}", rng)
        letter = parse_letter(text)
        for row in item_rows(letter, f"letter-{k}", "synthetic"):
            row["decision_date"] = DATES[k % len(DATES)]
            row["case_number"] = None if k % 5 == 4 else row["case_number"]
            out.append(row)
    shared = next(r["case_summary"] for r in out if r["letter_id"] == "letter-10")
    for row in out:
        if row["letter_id"] == "letter-11":
            row["case_summary"] = shared
    return out


@pytest.fixture(scope="module")
def folder(rows, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("precedents")
    build_index(rows, folder)
    return folder


def reference_search(items, scores, record, k, filters, case_number) -> list[dict]:
    """The straightforward computation: every item checked one by one, then sorted by `scores`
    (PrecedentIndex.scores, the similarity of every item to `record`)."""
    digest = summary_digest(record.get("case_summary"))
    kept = []
    for i, item in enumerate(items):
        date = item["decision_date"] or ""
        if (case_number and (item["case_number"] or "") == case_number) or (
            digest and item["summary_digest"] == digest
        ):
            continue
        if (filters.decision and item["decision"] != filters.decision) or (
            filters.category and item["treatment_category"] != filters.category
        ):
            continue
        if (filters.since or filters.until) and not date:
            continue
        if (filters.since and date < filters.since) or (filters.until and date > filters.until):
            continue
        kept.append(i)
    kept.sort(key=lambda i: (-scores[i], i))
    return [{f: items[i][f] for f in SHOWN} | {"similarity": round(float(scores[i]), 4)} for i in kept[: max(k, 0)]]


def test_search_returns_what_the_plain_loop_returns(folder, rows):
    index = PrecedentIndex(folder)
    table = pd.read_parquet(folder / ITEMS_FILE).astype(object)
    items = table.where(table.notna(), None).to_dict("records")  # missing as None, as search shows them
    categories = sorted(index.category_names)
    filters = [
        Filters(),
        *(Filters(decision=d) for d in LABEL_NAMES),
        Filters(category=categories[0]),
        Filters(decision=LABEL_NAMES[0], category=categories[-1]),
        Filters(since="2016-06-01"),  # a date that items have: the bound is inclusive
        Filters(until="2016-06-01"),
        Filters(since="2016-06-01", until="2017-12-31"),
        Filters(since="2016-06-02", until="2017-01-14"),  # between two dates: nothing
        Filters(since="1990-01-01"),  # every dated item, none of the undated
        Filters(until="2099-12-31", decision=LABEL_NAMES[1]),
    ]
    requests = [
        {k: r[k] for k in ("treatment", "case_summary", "claims_administrator_guideline", "patient_age")}
        for r in rows[::6]
    ]
    queries = [
        *((q, r["case_number"]) for q, r in zip(requests, rows[::6])),
        ({"treatment": "MRI of the lumbar spine"}, None),
        ({"treatment": "asdf qwerty"}, None),  # no term in the index: every score 0, ties by index
        ({"treatment": rows[0]["treatment"]}, "CM99-0000000"),  # a case number that is not there
    ]
    checked = nonempty = 0
    for record, case_number in queries:
        scores = index.scores(record)
        for f, k in itertools.product(filters, (1, 5, 1000)):
            expected = reference_search(items, scores, record, k, f, case_number)
            got = index.search(record, k, f, case_number)
            assert got == expected, (record.get("treatment"), case_number, f, k)
            assert [list(r) for r in got] == [[*SHOWN, "similarity"]] * len(got)  # the same key order
            checked, nonempty = checked + 1, nonempty + bool(got)
    assert nonempty > checked / 2  # most combinations found something to compare
    assert index.search(rows[0], 0) == []


def test_an_item_of_the_requests_own_letter_is_never_returned(folder, rows):
    index = PrecedentIndex(folder)
    own = next(r for r in rows if r["letter_id"] == "letter-11")
    found = index.search(own, 1000, case_number=own["case_number"])
    assert found and all(r["case_number"] not in (own["case_number"], "CM16-0000010") for r in found)
