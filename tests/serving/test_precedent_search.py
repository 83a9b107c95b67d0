"""PrecedentIndex.search (serving/precedents.py) filters on integer codes and date ranks for speed;
here it must return exactly what a plain loop over the items returns: the same items, in the same
order (the request's treatment category first, then by similarity, ties by index), at most one item
per case (a case number, or a case summary for a letter without one), none under the similarity
cut-off, with the same shown fields and similarity, for whole requests and free-text queries, with
every filter, boundary dates, missing dates and case numbers, and k beyond the candidates; and the
note says why fewer than k are shown. The index is built from synthetic letters parsed in-process
(no model, no process)."""

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
from features.views import model_inputs
from serving.precedents import (
    FLOOR,
    ITEMS_FILE,
    MIN_SIMILARITY,
    SHOWN,
    Filters,
    PrecedentIndex,
    PrecedentQueryError,
    build_index,
    summary_digest,
)

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


def reference_search(items, scores, record, k, filters, case_number, cutoff=MIN_SIMILARITY) -> list[dict]:
    """The straightforward computation: every item checked one by one, then sorted (the request's
    category first, then by `scores`, PrecedentIndex.scores, then by index) and the first item of
    each case kept."""
    digest = summary_digest(record.get("case_summary"))
    category = model_inputs(record)["treatment_category"]
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
        if scores[i] < cutoff:
            continue
        kept.append(i)
    kept.sort(key=lambda i: (items[i]["treatment_category"] != category, -scores[i], i))
    chosen, cases = [], set()
    for i in kept:
        case = items[i]["case_number"] or items[i]["summary_digest"] or f"item {i}"
        if case not in cases and len(chosen) < max(k, 0):
            cases.add(case)
            chosen.append(i)
    return [{f: items[i][f] for f in SHOWN} | {"similarity": round(float(scores[i]), 4)} for i in chosen]


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
        for f, k, cutoff in itertools.product(filters, (1, 5, 1000), (FLOOR, MIN_SIMILARITY, 0.5)):
            expected = reference_search(items, scores, record, k, f, case_number, cutoff)
            got = index.search(record, k, f, case_number, cutoff)
            assert got == expected, (record.get("treatment"), case_number, f, k, cutoff)
            assert [list(r) for r in got] == [[*SHOWN, "similarity"]] * len(got)  # the same key order
            checked, nonempty = checked + 1, nonempty + bool(got)
    assert nonempty > checked / 3  # many combinations found something to compare
    assert index.search(rows[0], 0) == []


def test_one_item_per_case_and_nothing_under_the_cut_off(folder, rows):
    index = PrecedentIndex(folder)
    table = pd.read_parquet(folder / ITEMS_FILE).fillna("")
    assert table["case_number"].replace("", None).dropna().duplicated().any()  # several items a letter
    for row in rows[::5]:
        record = {"treatment": row["treatment"], "case_summary": row["case_summary"]}
        found = index.close_precedents(record, 1000)
        cases = [table["case_number"][i] or table["summary_digest"][i] for i in found.items]
        assert len(cases) == len(set(cases))
        assert all(r["similarity"] >= MIN_SIMILARITY for r in found.rows)
        scores = index.scores(record)
        assert sorted(found.items) == sorted(set(found.items)) and all(scores[i] >= MIN_SIMILARITY for i in found.items)
    for bad in (0.1, 1.5):
        with pytest.raises(PrecedentQueryError, match="between 0.15 and 1"):
            index.search(rows[0], 5, min_similarity=bad)


def test_the_requests_category_comes_first(folder, rows):
    index = PrecedentIndex(folder)
    for row in rows[::4]:
        found = index.close_precedents({"treatment": row["treatment"]}, 1000, min_similarity=FLOOR)
        same = [r["treatment_category"] == row["treatment_category"] for r in found.rows]
        assert same == sorted(same, reverse=True), row["treatment"]  # every same-category item before the rest
        for group in (True, False):
            similarity = [r["similarity"] for r, s in zip(found.rows, same) if s == group]
            assert similarity == sorted(similarity, reverse=True)


def test_no_filler_when_nothing_is_close(folder, rows):
    index = PrecedentIndex(folder)
    nothing = index.close_precedents({"treatment": "asdf qwerty"}, 5)
    assert nothing.rows == [] and nothing.note == (
        f"no close precedent in the {len(rows):,} decided items (none has similarity {MIN_SIMILARITY:.2f} or more)"
    )
    filtered = index.close_precedents({"treatment": "asdf qwerty"}, 5, Filters(decision="Overturned"))
    overturned = sum(r["decision"] == "Overturned" for r in rows)
    assert filtered.note.startswith(f"no close precedent in the {overturned:,} decided items that match the filters")
    few = index.close_precedents({"treatment": rows[0]["treatment"]}, 1000)
    assert few.rows and few.note.startswith(f"only {len(few.rows)} close precedent")
    assert index.close_precedents({"treatment": rows[0]["treatment"]}, 1).note is None


def test_an_item_of_the_requests_own_letter_is_never_returned(folder, rows):
    index = PrecedentIndex(folder)
    own = next(r for r in rows if r["letter_id"] == "letter-11")
    found = index.search(own, 1000, case_number=own["case_number"])
    assert found and all(r["case_number"] not in (own["case_number"], "CM16-0000010") for r in found)
