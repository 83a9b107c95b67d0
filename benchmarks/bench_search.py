"""Precedent search and the out-of-distribution check at corpus scale: 200,000 synthetic items.

    .venv/bin/python benchmarks/bench_search.py [--items 200000] [--calls 500] [--keep DIR | --index DIR]
                                                [--letters PATH ...] [--json PATH]

Builds, from `--items` items of synthetic letters (bench_explain.synthetic_rows: the bundled letters
varied as in bench_corpus.py, parsed and turned into items like `imr ingest`), the precedents index
(serving.precedents.build_index) and the training vocabulary (serving.ood.write_training_vocabulary),
as training packages them into a model folder, and reports their build time, their size on disk and
the memory they take (peak RSS growth while building, RSS growth once loaded). It then times, per
request, over the bundled letters' items (cycled to --calls):
- `search`: `PrecedentIndex.search` with a real treatment as free text (as `imr search` and /v1/search);
- `search_filtered`: the same with a decision and a date range;
- `search_request`: a whole request (treatment, case summary, guideline, metadata, case number), as
  explain's precedents are found;
- `ood_check`: `DistributionCheck.reason` on the whole requests (the check serving.prediction runs on
  every item), with one nonsense request in ten.
Target: p95 < 20 ms for every one. `--keep DIR` writes the index and vocabulary to DIR; `--index DIR`
reuses them (no synthesis, no build), so a change to the search can be re-measured in seconds.
The figures are printed as a table; the last stdout line is the same figures as JSON.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_explain import summary, synthetic_rows  # noqa: E402
from bench_predict import emit_figures, percentile  # noqa: E402

from serving.model_dir import ModelMeta, sha256_file  # noqa: E402
from serving.ood import VOCAB_FILE, load_distribution_check, write_training_vocabulary  # noqa: E402
from serving.precedents import FOLDER, Filters, PrecedentIndex, build_index  # noqa: E402

TARGET_P95_MS = 20.0
REQUEST_FIELDS = (
    "treatment",
    "case_summary",
    "claims_administrator_guideline",
    "patient_age",
    "patient_sex",
    "days_since_injury",
    "case_number",
)
NONSENSE = {"treatment": "asdf qwerty", "case_summary": "too short"}


class PeakRSS:
    """Samples this process's RSS every 20 ms while the block runs: `peak_mib` is the growth over
    the RSS when it began."""

    def __init__(self):
        self.process, self.peak, self.done = psutil.Process(), 0, threading.Event()

    def __enter__(self):
        self.before = self.peak = self.process.memory_info().rss
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.peak_mib = (max(self.peak, self.process.memory_info().rss) - self.before) / 2**20


def timed(calls: int, queries: list, fn) -> dict[str, float]:
    """p50/p95/mean of the wall time of `fn(query)`, and p50/p95 of its CPU time: on a machine
    shared with other work the CPU time is the steadier figure."""
    wall, cpu = [], []
    for i in range(calls):
        query = queries[i % len(queries)]
        w0, c0 = time.perf_counter(), time.thread_time()
        fn(query)
        cpu.append(1000 * (time.thread_time() - c0))
        wall.append(1000 * (time.perf_counter() - w0))
    return summary(wall) | {"cpu_p50_ms": percentile(cpu, 50), "cpu_p95_ms": percentile(cpu, 95)}


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def build(folder: Path, n_items: int, figures: dict) -> None:
    """The index and the vocabulary of n_items synthetic items, written into folder."""
    t0 = time.perf_counter()
    rows = synthetic_rows(n_items=n_items)
    figures["index_items"], figures["index_letters"] = len(rows), len({r["letter_id"] for r in rows})
    figures["synthesis_s"] = time.perf_counter() - t0
    with PeakRSS() as peak:
        t0 = time.perf_counter()
        build_index(rows, folder)
        figures["index_build_s"] = time.perf_counter() - t0
    figures["index_build_peak_rss_mib"] = peak.peak_mib
    with PeakRSS() as peak:
        t0 = time.perf_counter()
        write_training_vocabulary(folder, rows)
        figures["vocabulary_build_s"] = time.perf_counter() - t0
    figures["vocabulary_build_peak_rss_mib"] = peak.peak_mib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--letters", type=Path, nargs="+", default=[ROOT.parent / "shared" / "data"])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--keep", type=Path, help="build into DIR and keep it")
    where.add_argument("--index", type=Path, help="reuse the index and vocabulary that --keep wrote into DIR")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from bench_predict import load_items

    figures: dict = {"platform": platform.platform(), "cpus": os.cpu_count(), "load_1min": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.index or args.keep or Path(tmp)
        if args.index is None:
            folder.mkdir(parents=True, exist_ok=True)
            build(folder, args.items, figures)
        figures["index_mib"] = sum(f.stat().st_size for f in (folder / FOLDER).iterdir()) / 2**20
        figures["vocabulary_kib"] = (folder / VOCAB_FILE).stat().st_size / 2**10
        before = rss_mib()
        t0 = time.perf_counter()
        index = PrecedentIndex(folder)
        figures["index_load_s"] = time.perf_counter() - t0
        figures["index_loaded_rss_mib"] = rss_mib() - before
        figures["index_items"] = len(index)
        files = {VOCAB_FILE: sha256_file(folder / VOCAB_FILE)}
        meta = ModelMeta(family="baseline", feature_view="pre_decision", threshold=0.5, files=files)
        check = load_distribution_check(folder, meta)

        items = load_items(args.letters)
        requests = [{k: row.get(k) for k in REQUEST_FIELDS} for row in items]
        treatments = [{"treatment": r["treatment"]} for r in items]
        for warm in requests[:20]:
            index.search(warm, 5, case_number=warm["case_number"])
        figures["load_1min_search"] = os.getloadavg()[0]  # the build may have taken many minutes
        figures["search"] = timed(args.calls, treatments, lambda q: index.search(q, 5))
        filtered = Filters(decision="Overturned", since="2016-06-01", until="2018-12-31")
        figures["search_filtered"] = timed(args.calls, treatments, lambda q: index.search(q, 5, filtered))
        figures["search_request"] = timed(
            args.calls, requests, lambda r: index.search(r, 5, case_number=r["case_number"])
        )
        mixed = [NONSENSE if i % 10 == 9 else r for i, r in enumerate(requests)]
        figures["ood_check"] = timed(args.calls, mixed, check.reason)

    print(
        f"{figures['platform']}, {figures['cpus']} CPUs, load {figures['load_1min']:.2f} at the start, "
        f"{figures['load_1min_search']:.2f} before the searches; index: "
        f"{figures['index_items']} items, {figures['index_mib']:.1f} MiB on disk, loaded in "
        f"{figures['index_load_s']:.2f} s (+{figures['index_loaded_rss_mib']:.0f} MiB RSS)"
    )
    if "index_build_s" in figures:
        print(
            f"built from {figures['index_letters']} letters (made and parsed in {figures['synthesis_s']:.1f} s): "
            f"index {figures['index_build_s']:.1f} s, peak +{figures['index_build_peak_rss_mib']:.0f} MiB RSS; "
            f"vocabulary {figures['vocabulary_build_s']:.1f} s ({figures['vocabulary_kib']:.0f} KiB), "
            f"peak +{figures['vocabulary_build_peak_rss_mib']:.0f} MiB RSS"
        )
    print(f"{'':<18}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}{'CPU p50':>10}{'CPU p95':>10}  target")
    for name in ("search", "search_filtered", "search_request", "ood_check"):
        f = figures[name]
        verdict = "PASS" if f["p95_ms"] < TARGET_P95_MS else "FAIL"
        cells = "".join(f"{f[k]:>10.3f}" for k in ("p50_ms", "p95_ms", "mean_ms", "cpu_p50_ms", "cpu_p95_ms"))
        print(f"{name:<18}{cells}  p95 < {TARGET_P95_MS:g} {verdict}")
    emit_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
