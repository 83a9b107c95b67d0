"""What the reasons of each model say, and what one explanation costs, on the bundled letters' items.

    .venv/bin/python benchmarks/reasons_quality.py --ingest DIR --model NAME=URI [--model NAME=URI ...]
                                                   [--items N] [--json PATH]

DIR is the output of `imr ingest ../shared/data/dwc-imr-letters ../shared/data/seed-letters --out DIR`;
each URI anything `imr predict --model` takes. For every item, the reasons a caller sees
(`Predictor.predict(..., explain=True)` computes them the same way: serving.reasons.phrase_reasons
over the scorer's probability, with the criteria its category calls for) are classified:
- `bare`: the reason's text, stop words aside, is only spinal levels, sides, role words, units,
  numbers or template words (serving.reason_stoplist.bare; target 0), counted per kind of token;
- `about worker`: a clause about the worker's age, sex, job or claim (serving.reason_stoplist.about_the_worker);
- `pp`: whether the effect is in percentage points of probability (a `kind` of the new reasons) or in
  the family's own units (the log-odds terms or raw-probability sentences of the older reasons).
With --raw, the uncalibrated score is explained (the older transformer reasons always were).
Cost: milliseconds per explained item (reasons only, one item per call, after one warm-up call) and
the number of model inputs scored for it.
The last stdout line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serving.reasons import phrase_reasons  # noqa: E402

KINDS_PP = {"treatment", "documents", "lacks", "finding"}


def token_kinds(text: str) -> set[str]:
    """The forbidden kinds of the words of a bare reason (serving.reason_stoplist's lists)."""
    from serving import reason_stoplist as stop

    kinds = set()
    for word in stop._WORD.findall(text.lower()):
        if stop._LEVEL.match(word):
            kinds.add("level")
        elif word in stop.SIDES:
            kinds.add("side")
        elif word in stop.ROLES:
            kinds.add("role")
        elif word in stop.UNITS or stop._NUMBER.match(word):
            kinds.add("unit/number")
        elif word in stop.TEMPLATE:
            kinds.add("template")
    return kinds or {"stop words only"}


def explain_one(predictor, item: dict) -> tuple[list[dict], int]:
    """The item's reasons as a prediction with explain carries them (the criteria table's lookup included,
    as explain does it), and how many inputs were scored."""
    scorer = predictor.scorer
    calls = []
    predict = scorer.predict_proba

    def counting(records):
        calls.append(len(records))
        return predict(records)

    scorer.predict_proba = counting  # counts the inputs scored (the ensemble's members are counted once)
    try:
        cited = predictor.criteria.for_records([item])[0] if predictor.criteria is not None else []
        called_for = [{c["criterion"]: c["in_request"] for c in cited}]
        reasons = phrase_reasons(scorer.predict_proba, [item], criteria=called_for)[0]
    finally:
        del scorer.predict_proba
    return reasons, sum(calls)


def measure(name: str, uri: str, items: list[dict], raw: bool = False) -> dict:
    from serving.predictor import load_predictor
    from serving.reason_stoplist import about_the_worker, bare

    predictor = load_predictor(uri)
    if raw and hasattr(predictor.scorer, "inner"):  # serving.scorers.CalibratedScorer: explain its raw score
        predictor.scorer = predictor.scorer.inner
    explain_one(predictor, items[0])  # warm-up: lazy imports, vocabularies
    ms, scored, every, examples = [], [], [], Counter()
    for item in items:
        t0 = time.perf_counter()
        reasons, n = explain_one(predictor, item)
        ms.append(1000 * (time.perf_counter() - t0))
        scored.append(n)
        every.extend(reasons)
    kinds = Counter()
    for r in every:
        if bare(r["text"]):
            kinds.update(token_kinds(r["text"]))
            examples[r["text"]] += 1
    return {
        "model": name,
        "family": predictor.info()["family"],
        "items": len(items),
        "reasons": len(every),
        "reasons/item": len(every) / len(items),
        "bare": sum(bare(r["text"]) for r in every),
        "about worker": sum(about_the_worker(r["text"]) for r in every),
        "pp": all(r["kind"] in KINDS_PP for r in every),
        "ms/item mean": float(np.mean(ms)),
        "ms/item p95": float(np.percentile(ms, 95)),
        "inputs/item": float(np.mean(scored)) if any(scored) else float("nan"),
        "bare kinds": dict(kinds),
        "commonest bare": [text for text, _ in examples.most_common(8)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ingest", type=Path, required=True, help="an `imr ingest --out` folder")
    parser.add_argument("--model", action="append", required=True, help="NAME=URI (repeatable)")
    parser.add_argument("--items", type=int, default=None, help="only the first N items (default: all)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--raw",
        action="store_true",
        help="explain the uncalibrated score (a calibration so flat that every effect rounds to 0 hides the form)",
    )
    args = parser.parse_args()

    from datasets import load_from_disk

    dsd = load_from_disk(str(args.ingest / "dataset"))
    items = [dict(r) for split in dsd.values() for r in split][: args.items]
    figures = [measure(*spec.split("=", 1), items, args.raw) for spec in args.model]
    columns = ["items", "reasons/item", "bare", "about worker", "pp", "ms/item mean", "ms/item p95", "inputs/item"]
    print(f"{'model':<24}{'family':<13}" + "".join(f"{c:>14}" for c in columns))
    for f in figures:
        print(f"{f['model']:<24}{f['family']:<13}" + "".join(f"{f[c]:>14.4g}" for c in columns))
        print(f"  bare kinds: {f['bare kinds']}; commonest: {f['commonest bare']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
