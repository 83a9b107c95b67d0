"""Latency of evidence: explained predictions, plain predictions beside them, and precedent search
over an index of 20,000 synthetic letters.

    .venv/bin/python benchmarks/bench_explain.py [--model URI] [--letters PATH ...] [--calls 500]
                                                 [--index-letters 20000] [--json PATH]

Without --model it trains configs/baseline.yaml (1 repeat, 100 bootstrap resamples: the figures
are about speed) on the bundled letters into a temporary MLflow store, as bench_predict.py does.
- `plain` and `explain`: p50/p95 of `predict([item])` and `predict([item], explain=True)` (reasons
  and 5 precedents from the model's own index), in-process, one call per item of the letters
  (cycled to --calls); targets: explain p95 <= 50 ms, plain as before (bench_predict.py: p50 <= 5 ms).
- `search`: an index built from --index-letters synthetic letters (the bundled letters varied as
  in bench_corpus.py: new case number, age, dates and an inserted sentence, then parsed and turned
  into items like `imr ingest`), queried with each real treatment as free text (as `imr search`
  does), with and without filters, and with whole requests (treatment and case summary);
  target: p95 <= 20 ms.
The figures are printed as a table; the last stdout line is the same figures as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_predict import emit_figures, percentile, train_model  # noqa: E402

TARGET_EXPLAIN_P95_MS = 50.0
TARGET_SEARCH_P95_MS = 20.0


def timed(calls: int, items: list, fn) -> list[float]:
    out = []
    for i in range(calls):
        item = items[i % len(items)]
        t0 = time.perf_counter()
        fn(item)
        out.append(1000 * (time.perf_counter() - t0))
    return out


def summary(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "mean_ms": sum(ms) / len(ms)}


def synthetic_rows(n_letters: int | None = None, seed: int = 0, n_items: int | None = None) -> list[dict]:
    """Items of `n_letters` distinct letters made from the bundled ones (bench_corpus.variant),
    parsed; or, with `n_items`, exactly that many items (of as many letters as it takes)."""
    from bench_corpus import templates, variant

    from features.dataset import item_rows
    from features.parser import parse_letter

    rng = random.Random(seed)
    base = templates()
    rows = []
    for k in itertools.count() if n_letters is None else range(n_letters):
        if n_items is not None and len(rows) >= n_items:
            break
        letter = parse_letter(variant(base[k % len(base)], k, rng))
        rows.extend(item_rows(letter, letter.case_number or f"synthetic-{k}", "synthetic"))
    return rows if n_items is None else rows[:n_items]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model URI or folder (default: train configs/baseline.yaml)")
    parser.add_argument("--letters", type=Path, nargs="+", default=[ROOT.parent / "shared" / "data"])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--index-letters", type=int, default=20_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from bench_predict import load_items

    from serving.precedents import Filters, PrecedentIndex, build_index
    from serving.predictor import load_predictor

    figures: dict = {"platform": platform.platform(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
            model, seconds, _ = train_model(
                ROOT / "configs" / "baseline.yaml", ["evaluation.repeats=1", "evaluation.bootstrap_samples=100"]
            )
            figures["train_s"] = seconds
        predictor = load_predictor(model)
        items = load_items(args.letters)
        requests = [
            {
                k: row[k]
                for k in (
                    "treatment",
                    "case_summary",
                    "claims_administrator_guideline",
                    "patient_age",
                    "patient_sex",
                    "days_since_injury",
                )
            }
            for row in items
        ]
        for warm in requests[:20]:
            predictor.predict([warm], explain=True)
        figures["plain"] = summary(timed(args.calls, requests, lambda r: predictor.predict([r])))
        figures["explain"] = summary(timed(args.calls, requests, lambda r: predictor.predict([r], explain=True)))

        t0 = time.perf_counter()
        rows = synthetic_rows(args.index_letters)
        figures["index_letters"], figures["index_items"] = args.index_letters, len(rows)
        figures["synthesis_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_index(rows, Path(tmp))
        figures["index_build_s"] = time.perf_counter() - t0
        figures["index_mib"] = sum(f.stat().st_size for f in (Path(tmp) / "precedents").iterdir()) / 2**20
        t0 = time.perf_counter()
        index = PrecedentIndex(Path(tmp))
        figures["index_load_s"] = time.perf_counter() - t0
        treatments = [{"treatment": r["treatment"]} for r in items]
        figures["search"] = summary(timed(args.calls, treatments, lambda q: index.search(q, 5)))
        filtered = Filters(decision="Overturned", since="2016-06-01", until="2018-12-31")
        figures["search_filtered"] = summary(timed(args.calls, treatments, lambda q: index.search(q, 5, filtered)))
        figures["search_request"] = summary(timed(args.calls, requests, lambda q: index.search(q, 5)))

    print(
        f"{figures['platform']}, {figures['cpus']} CPUs; index: {figures['index_letters']} letters, "
        f"{figures['index_items']} items, {figures['index_mib']:.1f} MiB, built in {figures['index_build_s']:.1f} s, "
        f"loaded in {figures['index_load_s']:.2f} s"
    )
    print(f"{'':<18}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}  target")
    targets = {
        "plain": "as before",
        "explain": f"p95 <= {TARGET_EXPLAIN_P95_MS:g}",
        "search": f"p95 <= {TARGET_SEARCH_P95_MS:g}",
        "search_filtered": f"p95 <= {TARGET_SEARCH_P95_MS:g}",
        "search_request": f"p95 <= {TARGET_SEARCH_P95_MS:g}",
    }
    for name, target in targets.items():
        f = figures[name]
        limit = {"explain": TARGET_EXPLAIN_P95_MS}.get(name, TARGET_SEARCH_P95_MS)
        verdict = "" if name == "plain" else ("PASS" if f["p95_ms"] <= limit else "FAIL")
        print(f"{name:<18}{f['p50_ms']:>10.2f}{f['p95_ms']:>10.2f}{f['mean_ms']:>10.2f}  {target} {verdict}")
    emit_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
