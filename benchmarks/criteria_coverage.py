"""Reviewer criteria on the bundled letters: coverage and extraction precision.

    .venv/bin/python benchmarks/criteria_coverage.py [--letters PATH ...] [--sample tests/data/criteria_sample.json]

- coverage: the criteria table (serving/criteria.py) is built from every decided item of the
  letters; each letter is then scored as predict-letter scores it, so its own items are taken out
  of the counts. The figure is the share of the items of the six largest treatment categories
  (by item count) that get at least 3 criteria (target: every one), with the smallest number
  any of them gets.
- precision and recall of features/criteria.py `cited` against the hand-checked sample
  (tests/data/criteria_sample.json): per (item, criterion) pair, over all its items and per set
  (`development`: the patterns were tuned on it; `held_out`: labelled blind, see its "about").
- precision of `documented` (in_request) on the sample's hand-checked case summaries.
The last line of stdout is the figures as one JSON object. Prints no letter text.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from features.criteria import cited, documented  # noqa: E402
from features.ingest import ingest  # noqa: E402
from serving.criteria import CriteriaTable, build_table  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
LARGEST = 6
AT_LEAST = 3


def coverage(rows: list[dict]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        build_table(rows, Path(tmp))
        table = CriteriaTable(Path(tmp))
    sizes = Counter(r["treatment_category"] for r in rows)
    largest = [name for name, _ in sizes.most_common(LARGEST)]
    letters = defaultdict(list)
    for row in rows:
        letters[row["letter_id"]].append(row)
    shown = []
    for items in letters.values():
        for row, criteria in zip(items, table.for_records(items)):
            if row["treatment_category"] in largest:
                shown.append(len(criteria))
    return {
        "categories": {name: sizes[name] for name in largest},
        "items": len(shown),
        "share_with_3": sum(n >= AT_LEAST for n in shown) / len(shown),
        "fewest": min(shown),
    }


def precision(rows: list[dict], sample: Path) -> dict:
    """Precision and recall over (item, criterion) pairs, for the whole sample and per set."""
    by_item = {(r["case_number"], r["item_index"]): r for r in rows}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # items, tp, fp, fn
    for entry in json.loads(sample.read_text())["items"]:
        row = by_item[(entry["case_number"], entry["item_index"])]
        got, want = set(cited(row["rationale"])), set(entry["criteria"])
        for name in ("all", entry["set"]):
            c = counts[name]
            c[0], c[1], c[2], c[3] = c[0] + 1, c[1] + len(got & want), c[2] + len(got - want), c[3] + len(want - got)
    return {
        name: {"items": n, "precision": tp / (tp + fp), "recall": tp / (tp + fn)}
        for name, (n, tp, fp, fn) in counts.items()
    }


def in_request_precision(rows: list[dict], sample: Path) -> dict:
    """Of the sample's checked (case summary, criterion) pairs that `documented` still finds, the share
    the hand check says the summary really documents, overall and per set."""
    summaries = {r["case_number"]: r["case_summary"] for r in rows}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # found, right
    for pair in json.loads(sample.read_text())["in_request"]:
        if documented(pair["criterion"], summaries[pair["case_number"]]):
            for name in ("all", pair["set"]):
                counts[name][0] += 1
                counts[name][1] += pair["documented"]
    return {name: {"found": n, "precision": right / n} for name, (n, right) in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", nargs="+", default=[str(SHARED / "dwc-imr-letters"), str(SHARED / "seed-letters")])
    parser.add_argument("--sample", type=Path, default=ROOT / "tests" / "data" / "criteria_sample.json")
    args = parser.parse_args()
    dsd, _ = ingest(args.letters)
    rows = [row for split in dsd.values() for row in split]
    figures = {
        "coverage": coverage(rows),
        "extraction": precision(rows, args.sample),
        "in_request": in_request_precision(rows, args.sample),
    }
    c, e = figures["coverage"], figures["extraction"]
    print(f"six largest categories: {c['categories']}")
    print(f"items with >= {AT_LEAST} criteria: {c['share_with_3']:.1%} of {c['items']} (fewest: {c['fewest']})")
    for name, f in e.items():
        print(f"extraction, {name} ({f['items']} items): precision {f['precision']:.3f}, recall {f['recall']:.3f}")
    for name, f in figures["in_request"].items():
        print(f"in_request, {name} ({f['found']} summaries found documenting): precision {f['precision']:.3f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
