"""Throughput and memory of letter extraction, `imr parse` and `imr ingest` on the bundled corpus.

    .venv/bin/python benchmarks/bench_ingest.py [--letters DIR] [--repeat N] [--json PATH]

In-process timings are best of N; CLI timings are one run each (they include interpreter start-up
and imports). Extract/parse work on PDFs pre-read into memory; ingest takes a folder, so it reads
the files itself (from the page cache after the first pass). The figures are printed as a table; the last
stdout line is the same figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from features.corpus import ingest_to_dir  # noqa: E402
from features.extract import pdf_text  # noqa: E402
from features.ingest import expand_paths  # noqa: E402
from features.parser import LetterRejected, parse_letter  # noqa: E402

DEFAULT_LETTERS = ROOT.parent / "shared" / "data" / "dwc-imr-letters"
IMR = ROOT / ".venv" / "bin" / "imr"
TARGET_RATIO = 0.5


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def extract_all(blobs: list[bytes]) -> None:
    for data in blobs:
        pdf_text(data)


def parse_all(blobs: list[bytes]) -> int:
    """Extraction + parse_letter + JSON of the Letter, as `imr parse` does per file; returns rejections."""
    rejected = 0
    for data in blobs:
        try:
            json.dumps(parse_letter(pdf_text(data)).model_dump())
        except LetterRejected:
            rejected += 1
    return rejected


def parse_texts(texts: list[str]) -> None:
    for text in texts:
        try:
            json.dumps(parse_letter(text).model_dump())
        except LetterRejected:
            pass


def ingest_into_tmp(letters: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ingest_to_dir([letters], Path(tmp) / "out", rebuild=True)


def run_cli(args: list[str], stdout) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one CLI subprocess. The rusage of a child spawned straight from
    here would include this (large) process's memory, copied at fork and counted at exec, so the CLI
    runs under /usr/bin/time, or failing that under a bare Python that reports its child's ru_maxrss."""
    with tempfile.NamedTemporaryFile("r") as rss:
        if Path("/usr/bin/time").exists():
            cmd = ["/usr/bin/time", "-f", "%M", "-o", rss.name, str(IMR), *args]
        else:
            cmd = [
                sys.executable,
                "-S",
                "-c",
                "import resource, subprocess, sys; rc = subprocess.call(sys.argv[2:]); "
                "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
                "sys.exit(rc)",
                rss.name,
                str(IMR),
                *args,
            ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"imr {args[0]} failed ({proc.returncode}):\n{proc.stderr}")
        return wall, int(rss.read().split()[-1]) / 1024  # KiB on Linux


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--letters", type=Path, default=DEFAULT_LETTERS, help=f"folder of PDFs (default {DEFAULT_LETTERS})")
    ap.add_argument("--repeat", type=int, default=3, help="in-process repetitions, best taken (default 3)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()

    files = [p for p in expand_paths([args.letters]) if p.suffix.lower() == ".pdf"]
    if not files:
        raise SystemExit(f"no PDFs under {args.letters}")
    n = len(files)
    blobs = [p.read_bytes() for p in files]  # pre-read: disk is not timed

    import datasets  # warm the heavy imports so in-process ingest times work, not imports

    import features.dataset  # noqa: F401

    datasets.disable_progress_bars()
    extract_all(blobs[:1])

    t_extract = best_of(args.repeat, lambda: extract_all(blobs))
    rejected = parse_all(blobs)
    t_parse = best_of(args.repeat, lambda: parse_all(blobs))
    texts = [pdf_text(data) for data in blobs]
    t_parse_only = best_of(args.repeat, lambda: parse_texts(texts))
    tracemalloc.start()
    parse_all(blobs)
    parse_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    t_ingest = best_of(args.repeat, lambda: ingest_into_tmp(args.letters))

    with tempfile.TemporaryDirectory() as tmp:
        with open(Path(tmp) / "parse.jsonl", "wb") as out:
            cli_parse_wall, cli_parse_rss = run_cli(["parse", *map(str, files)], out)
        lines = (Path(tmp) / "parse.jsonl").read_text().count("\n")
        if lines != n:
            raise SystemExit(f"imr parse wrote {lines} records for {n} files")
        cli_ingest_wall, cli_ingest_rss = run_cli(
            ["ingest", str(args.letters), "--out", str(Path(tmp) / "ingest")], subprocess.DEVNULL
        )

    ratio = t_extract / t_parse  # = parse letters/s over extraction letters/s
    rows = [  # (key, label, seconds for all n letters, CLI wall or None, peak MB or None)
        ("extract", "extract (pdf_text, in-process)", t_extract, None, None),
        ("parse", "parse (extract+parse+JSON, in-process)", t_parse, None, parse_peak_mb),
        ("parse_only", "  parse_letter+JSON only (pre-extracted)", t_parse_only, None, None),
        ("ingest", "ingest (ingest+save_ingest, in-process)", t_ingest, None, None),
        ("cli_parse", "imr parse CLI (subprocess, end-to-end)", cli_parse_wall, cli_parse_wall, cli_parse_rss),
        ("cli_ingest", "imr ingest CLI (subprocess, end-to-end)", cli_ingest_wall, cli_ingest_wall, cli_ingest_rss),
    ]
    fig = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "letters": n,
        "rejected_by_parser": rejected,
        "repeat": args.repeat,
        "parse_over_extract_ratio": ratio,
        "ratio_target": TARGET_RATIO,
        "ratio_pass": ratio >= TARGET_RATIO,
    }
    print(f"machine: {fig['machine']}  python {fig['python']}  cpu_count {fig['cpu_count']}")
    print(f"corpus:  {n} PDFs in {args.letters} ({rejected} rejected by the parser); in-process best of {args.repeat}")
    print(f"\n{'phase':<44} {'letters/s':>10} {'ms/letter':>10} {'wall s':>8} {'peak MB':>8}")
    for key, label, secs, wall, peak in rows:
        fig[f"{key}_letters_per_s"], fig[f"{key}_ms_per_letter"] = n / secs, 1e3 * secs / n
        if wall is not None:
            fig[f"{key}_wall_s"] = wall
        if peak is not None:
            fig[f"{key}_{'tracemalloc' if wall is None else 'rss'}_peak_mb"] = peak
        peak_s = "" if peak is None else f"{peak:.1f}" + ("*" if wall is None else "")
        print(
            f"{label:<44} {n / secs:>10.1f} {1e3 * secs / n:>10.2f} {'' if wall is None else f'{wall:.2f}':>8} "
            f"{peak_s:>8}"
        )
    print(
        f"\nparse/extract throughput ratio: {ratio:.3f} (target >= {TARGET_RATIO}) "
        f"{'PASS' if fig['ratio_pass'] else 'FAIL'}"
    )
    print(
        "peak MB: CLI rows are the subprocess's ru_maxrss; * is the tracemalloc peak of Python allocations\n"
        "during one in-process parse pass (PDFium's native memory is not traced)"
    )
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n")
    print(json.dumps(fig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
