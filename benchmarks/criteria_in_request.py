"""`in_request`: does features/criteria.py `documented` read a request summary the way a careful
person does? Precision and recall per criterion and per criterion kind against hand-labelled
request summaries, today's extraction beside the one at commit 2b33450 (regex patterns with a
40-character negation window), plus the cold import + first call time and the per-summary latency.

    .venv/bin/python benchmarks/criteria_in_request.py --set dev     # tests/data/request_criteria_dev.json
    .venv/bin/python benchmarks/criteria_in_request.py --set dev2    # tests/data/request_criteria_dev2.json
    .venv/bin/python benchmarks/criteria_in_request.py --set test2   # tests/data/request_criteria_test2.json (blind)
    .venv/bin/python benchmarks/criteria_in_request.py --set PATH [--json out.json] [--medspacy]

A set is {"about", "requests": [{"id", "treatment", "case_summary", "documents": {criterion: bool}}]}
labelled for every criterion that has a summary pattern. Pairs are pooled within a kind (micro
precision and recall). The 2b33450 extraction is taken from git (`git show`) into a temporary folder
and imported from there: the package keeps no copy of it.

`--medspacy` adds a third column: the same criterion patterns, with negated, hypothetical and
family mentions judged by medspaCy's ConText (default rules) over its PyRuSH sentence splitter
instead of features/criteria_context.py. medspacy==1.3.1 pins spacy<3.8 and so numpy<2, which the
project's environment cannot take; run it from a separate environment that has medspacy installed,
with PYTHONPATH at the repository root. Prints no summary text. The last line of stdout is every
figure as one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_predict import emit_figures, percentile  # noqa: E402

from features.criteria import BY_ID, CRITERIA, documented  # noqa: E402

BASELINE_COMMIT = "2b33450"
SETS = {
    "dev": ROOT / "tests/data/request_criteria_dev.json",
    "dev2": ROOT / "tests/data/request_criteria_dev2.json",
    "test2": ROOT / "tests/data/request_criteria_test2.json",
}
KINDS = tuple(dict.fromkeys(c.kind for c in CRITERIA if c.documents is not None))
Documented = Callable[[str, str], "bool | None"]


def baseline_documented(folder: Path) -> Documented:
    """`documented` as it was at BASELINE_COMMIT, imported from a copy written into `folder`."""
    for name, copy in (("criteria", "baseline_criteria"), ("criteria_vocabulary", "baseline_vocabulary")):
        git_show = ["git", "show", f"{BASELINE_COMMIT}:features/{name}.py"]
        source = subprocess.run(git_show, cwd=ROOT, check=True, capture_output=True, text=True).stdout
        source = source.replace("from features.criteria_vocabulary import", "from baseline_vocabulary import")
        (folder / f"{copy}.py").write_text(source)
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("baseline_criteria", folder / "baseline_criteria.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.documented


def medspacy_documented() -> Documented:
    """The criterion patterns of features/criteria_summary.py over PyRuSH sentences, with medspaCy
    ConText (its default rules) judging each mention negated, hypothetical or about family."""
    import medspacy  # noqa: F401 - only where installed (see the module docstring); registers its pipes
    import spacy
    from loguru import logger  # PyRuSH logs every token at DEBUG
    from spacy.tokens import Span

    logger.remove()
    nlp = spacy.blank("en")
    splitter = nlp.add_pipe("medspacy_pyrush")
    context = nlp.add_pipe("medspacy_context", config={"input_span_type": "group", "span_group_name": "criteria"})
    last: dict[str, set[str]] = {}  # the summary judged last: one pipeline run per summary, as serving would

    def asserted(summary: str) -> set[str]:
        doc = splitter(nlp.make_doc(summary))
        spans = []
        for sentence in doc.sents:
            for criterion in CRITERIA:
                for pattern in criterion.documents or ():
                    for match in pattern.finditer(sentence.text):
                        span = sentence.char_span(match.start(), match.end(), alignment_mode="expand")
                        if span is not None:
                            spans.append(Span(doc, span.start, span.end, label=criterion.id))
        doc.spans["criteria"] = spans
        doc = context(doc)
        return {s.label_ for s in doc.spans["criteria"] if not (s._.is_negated or s._.is_hypothetical or s._.is_family)}

    def judge(criterion_id: str, summary: str) -> bool | None:
        if BY_ID[criterion_id].documents is None:
            return None
        if summary not in last:
            last.clear()
            last[summary] = asserted(summary or "")
        return criterion_id in last[summary]

    return judge


_CELL = {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}


def score(judge: Documented, requests: list[dict]) -> dict[str, dict[str, list[int]]]:
    """Per criterion: [true positives, false positives, false negatives, true negatives]."""
    counts = {c.id: [0, 0, 0, 0] for c in CRITERIA if c.documents is not None}
    for request in requests:
        for criterion, want in request["documents"].items():
            got = bool(judge(criterion, request["case_summary"]))
            counts[criterion][_CELL[got, bool(want)]] += 1
    return counts


def figures(counts: list[int]) -> dict:
    tp, fp, fn, tn = counts
    return {
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def by_kind(counts: dict[str, list[int]]) -> dict[str, dict]:
    kinds = {c.id: c.kind for c in CRITERIA}
    pooled = {kind: [0, 0, 0, 0] for kind in KINDS}
    for criterion, c in counts.items():
        pooled[kinds[criterion]] = [a + b for a, b in zip(pooled[kinds[criterion]], c)]
    pooled["all"] = [sum(c[i] for c in counts.values()) for i in range(4)]
    return {kind: figures(c) for kind, c in pooled.items()}


def cold_start() -> float:
    """Seconds for a fresh interpreter to import features.criteria and answer one call."""
    code = (
        "import time; t = time.perf_counter(); from features.criteria import documented; "
        "documented('conservative_care', 'He tried ibuprofen and rest.'); print(time.perf_counter() - t)"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout)
        for _ in range(3)
    ]
    return min(runs)


def latency_ms(judge: Documented, requests: list[dict]) -> dict:
    """Milliseconds to judge every criterion of one summary, over the set's summaries."""
    ids = [c.id for c in CRITERIA if c.documents is not None]
    times = []
    for request in requests * 3:
        t0 = time.perf_counter()
        for criterion in ids:
            judge(criterion, request["case_summary"])
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50": round(statistics.median(times), 3), "p95": round(percentile(times, 95), 3)}


def _cell(f: dict) -> str:
    p, r = f["precision"], f["recall"]
    return f"{'-' if p is None else f'{p:.2f}':>5} {'-' if r is None else f'{r:.2f}':>5}"


def print_table(title: str, rows: dict[str, dict[str, dict]], columns: list[str]) -> None:
    print(f"\n{title}" + "".join(f" | {name:^11}" for name in columns))
    print(f"{'':24}" + " | P     R    " * len(columns))
    for row in next(iter(rows.values())):
        print(f"{row:24}" + "".join(f" | {_cell(rows[name][row])}" for name in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default="dev", help="dev, dev2, test2, or the path of a labelled set")
    parser.add_argument("--medspacy", action="store_true", help="also score medspaCy ConText assertions")
    parser.add_argument("--json", type=Path, help="also write the JSON figures to this file")
    args = parser.parse_args()
    path = SETS.get(args.set, Path(args.set))
    requests = json.loads(path.read_text())["requests"]
    with tempfile.TemporaryDirectory() as tmp:
        judges = {BASELINE_COMMIT: baseline_documented(Path(tmp)), "new": documented}
        if args.medspacy:
            t0 = time.perf_counter()
            judges["medspacy"] = medspacy_documented()
            medspacy_load_s = time.perf_counter() - t0
        counts = {name: score(judge, requests) for name, judge in judges.items()}
        latency = {name: latency_ms(judge, requests) for name, judge in judges.items()}
    out = {
        "set": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        "requests": len(requests),
        "per_kind": {name: by_kind(c) for name, c in counts.items()},
        "per_criterion": {name: {k: figures(v) for k, v in c.items()} for name, c in counts.items()},
        "latency_ms_per_summary": latency,
        "cold_import_and_first_call_s": round(cold_start(), 3),
    }
    if args.medspacy:
        out["medspacy_load_s"] = round(medspacy_load_s, 3)
    print(f"{out['set']}: {len(requests)} request summaries")
    print_table("per kind", out["per_kind"], list(judges))
    print_table("per criterion", out["per_criterion"], list(judges))
    timings = ", ".join(f"{name} {v['p50']}/{v['p95']}" for name, v in latency.items())
    print(f"\nper summary (all criteria), ms p50/p95: {timings}")
    print(f"cold import of features.criteria + first call: {out['cold_import_and_first_call_s']} s")
    emit_figures(out, args.json)


if __name__ == "__main__":
    main()
