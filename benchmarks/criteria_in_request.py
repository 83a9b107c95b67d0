"""`in_request`: does features/criteria.py `documented` read a request summary the way a careful
person does? Precision and recall per criterion and per criterion kind against hand-labelled
request summaries, today's extraction beside earlier ones taken from git: 2b33450 (regex patterns
with a 40-character negation window) and 434475d (round 1: sentences, ConText-style scopes,
patterns tuned on the dev set), plus the cold import + first call time and the per-summary latency.

    .venv/bin/python benchmarks/criteria_in_request.py --set dev     # tests/data/request_criteria_dev.json
    .venv/bin/python benchmarks/criteria_in_request.py --set dev2    # tests/data/request_criteria_dev2.json
    .venv/bin/python benchmarks/criteria_in_request.py --set test2   # tests/data/request_criteria_test2.json (blind)
    .venv/bin/python benchmarks/criteria_in_request.py --set PATH [--json out.json] [--medspacy]

A set is {"about", "requests": [{"id", "treatment", "case_summary", "documents": {criterion: bool}}]}
labelled for every criterion that has a summary pattern. Pairs are pooled within a kind (micro
precision and recall). Today's extraction is given each request's treatment (repeat_study and
risk_factors depend on it); the earlier ones took the summary only. An earlier extraction is its
features/criteria*.py files at that commit (`git show`), written into a temporary package and
imported from there: the package keeps no copy of them.

`--medspacy` adds a column: the same criterion patterns and request-aware readings
(features/criteria_request.py), with negated, hypothetical and family mentions judged by medspaCy's
ConText (default rules) over its PyRuSH sentence splitter instead of features/criteria_context.py.
medspacy==1.3.1 pins spacy<3.8 and so numpy<2, which the project's environment cannot take; run it
from a separate environment that has medspacy installed, with PYTHONPATH at the repository root.
Prints no summary text. The last line of stdout is every figure as one JSON object.
"""

from __future__ import annotations

import argparse
import importlib
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

EARLIER = ("2b33450", "434475d")  # before round 1; round 1 (merged)
SETS = {
    "dev": ROOT / "tests/data/request_criteria_dev.json",
    "dev2": ROOT / "tests/data/request_criteria_dev2.json",
    "test2": ROOT / "tests/data/request_criteria_test2.json",
}
KINDS = tuple(dict.fromkeys(c.kind for c in CRITERIA if c.documents is not None))
Documented = Callable[[str, str, str], "bool | None"]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def earlier_documented(commit: str, folder: Path) -> Documented:
    """`documented` as it was at `commit`: its features/criteria*.py written into a package of
    `folder` (their imports of each other pointed there) and imported from it."""
    package = f"criteria_{commit}"
    (folder / package).mkdir()
    (folder / package / "__init__.py").write_text("")
    for path in _git("ls-tree", "--name-only", commit, "features/").split():
        name = Path(path).name
        if name.startswith("criteria") and name.endswith(".py"):
            source = _git("show", f"{commit}:{path}").replace("from features.criteria", f"from {package}.criteria")
            (folder / package / name).write_text(source)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    old = importlib.import_module(f"{package}.criteria").documented
    return lambda criterion, summary, treatment: old(criterion, summary)


def medspacy_documented() -> Documented:
    """The criterion patterns and readings of features/criteria.py over PyRuSH sentences, with
    medspaCy ConText (its default rules) judging each mention negated, hypothetical or about family."""
    import medspacy  # noqa: F401 - only where installed (see the module docstring); registers its pipes
    import spacy
    from loguru import logger  # PyRuSH logs every token at DEBUG
    from spacy.tokens import Span

    from features.criteria_request import READINGS

    logger.remove()
    nlp = spacy.blank("en")
    splitter = nlp.add_pipe("medspacy_pyrush")
    context = nlp.add_pipe("medspacy_context", config={"input_span_type": "group", "span_group_name": "criteria"})
    last: dict[str, tuple] = {}  # the summary judged last: one pipeline run per summary, as serving would

    def asserted(summary: str) -> tuple[list[str], dict[str, list]]:
        doc = splitter(nlp.make_doc(summary))
        lines, spans, mentions = [], [], []
        for index, sentence in enumerate(doc.sents):
            lines.append(sentence.text)
            for criterion in CRITERIA:
                for pattern in criterion.documents or ():
                    for match in pattern.finditer(sentence.text):
                        span = sentence.char_span(match.start(), match.end(), alignment_mode="expand")
                        if span is not None:
                            spans.append(Span(doc, span.start, span.end, label=criterion.id))
                            mentions.append((criterion.id, index, match))
        doc.spans["criteria"] = spans
        doc = context(doc)
        found: dict[str, list] = {}
        for span, (criterion, index, match) in zip(doc.spans["criteria"], mentions):
            if not (span._.is_negated or span._.is_hypothetical or span._.is_family):
                found.setdefault(criterion, []).append((index, match))
        return lines, found

    def judge(criterion_id: str, summary: str, treatment: str) -> bool | None:
        if BY_ID[criterion_id].documents is None:
            return None
        if summary not in last:
            last.clear()
            last[summary] = asserted(summary or "")
        lines, found = last[summary]
        reading = READINGS.get(criterion_id)
        mentions = found.get(criterion_id, [])
        return reading(lines, mentions, treatment) if reading else bool(mentions)

    return judge


_CELL = {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}


def score(judge: Documented, requests: list[dict]) -> dict[str, dict[str, list[int]]]:
    """Per criterion: [true positives, false positives, false negatives, true negatives]."""
    counts = {c.id: [0, 0, 0, 0] for c in CRITERIA if c.documents is not None}
    for request in requests:
        for criterion, want in request["documents"].items():
            got = bool(judge(criterion, request["case_summary"], request["treatment"]))
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
        "documented('conservative_care', 'He tried ibuprofen and rest without relief.', 'MRI lumbar spine'); "
        "print(time.perf_counter() - t)"
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
            judge(criterion, request["case_summary"], request["treatment"])
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
        judges = {commit: earlier_documented(commit, Path(tmp)) for commit in EARLIER}
        judges["new"] = documented
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
