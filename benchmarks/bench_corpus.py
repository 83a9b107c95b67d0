"""`imr ingest` at corpus scale: a synthetic corpus of distinct letters made from the bundled ones,
ingested with 1, 2 and all workers, at two sizes, then again after adding 1% new letters.

    .venv/bin/python benchmarks/bench_corpus.py                       # 20,000 letters (and 2,000)
    .venv/bin/python benchmarks/bench_corpus.py --letters 5000 --small 1000 --json corpus.json

Each letter gets a new case number, a perturbed age, dates shifted by a random number of days and
an inserted sentence; half are written as PDFs (tests/letters.py's writer), half as text. About 1%
are bad files of the kinds issue 10 lists: invalid header dates, a letter twice in one file, ages
over 120, decompression bombs, empty, binary, Latin-1 and UTF-16 files, oversized files, dangling
links and a link loop, exact copies and re-sent letters with the same case number.

Every run is the real CLI in a subprocess (imports and start-up included), into a fresh --out
except the re-run. Peak RSS is the largest sum of RSS over the ingest process and its workers,
sampled every 50 ms. Prints a table and, last, one JSON line of every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_predict import emit_figures  # noqa: E402
from hostile import bomb_pdf  # noqa: E402
from letters import pdf_bytes  # noqa: E402

from features.extract import letter_text_from_bytes  # noqa: E402

IMR = ROOT / ".venv" / "bin" / "imr"
SOURCES = [ROOT.parent / "shared" / "data" / "dwc-imr-letters", ROOT.parent / "shared" / "data" / "seed-letters"]
DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
AGE = re.compile(r"\b(\d{1,3})([- ]years?[- ]old)\b", re.IGNORECASE)
CASE = re.compile(r"CM\d{2}-\d{7}")
PREAMBLE = "including all medical records:"
SENTENCES = [
    "The injured worker reports {n} prior visits for the same complaint.",
    "Records from visit {n} document unchanged findings on examination.",
    "A progress note numbered {n} describes the current treatment plan.",
]


def templates() -> list[str]:
    out = []
    for folder in SOURCES:
        for path in sorted(folder.glob("*")):
            if path.suffix.lower() in (".pdf", ".txt"):
                out.append(letter_text_from_bytes(path.read_bytes()))
    return out


def variant(text: str, k: int, rng: random.Random) -> str:
    """A distinct letter: new case number, age, dates and one inserted sentence."""
    shift = timedelta(days=rng.randint(-900, 900))

    def move(m: re.Match) -> str:
        try:
            d = datetime(int(m.group(3)), int(m.group(1)), int(m.group(2))) + shift
        except ValueError:
            return m.group(0)
        return d.strftime("%m/%d/%Y")

    text = CASE.sub(f"CM{18 + k // 9_000_000:02d}-{k % 9_000_000:07d}", text)
    text = AGE.sub(lambda m: f"{rng.randint(19, 79)}{m.group(2)}", text, count=1)
    text = DATE.sub(move, text)
    sentence = rng.choice(SENTENCES).format(n=rng.randint(2, 400))
    return text.replace(PREAMBLE, f"{PREAMBLE}\n{sentence}", 1) if PREAMBLE in text else text


def as_pdf(text: str) -> bytes:
    pages = [
        [ln.encode("cp1252", "replace").decode("cp1252") for ln in page.split("\n") if ln.strip()]
        for page in text.split("\f")
    ]
    return pdf_bytes(pages)


def write_letter(folder: Path, k: int, text: str, pdf: bool) -> Path:
    path = folder / f"letter-{k:07d}.{'pdf' if pdf else 'txt'}"
    path.write_bytes(as_pdf(text) if pdf else text.encode())
    return path


def generate(
    root: Path, n: int, start: int, base: list[str], seed: int, bad_share: float = 0.01, pdf_share: float = 0.5
) -> int:
    """n distinct letters (about bad_share of them bad files, pdf_share of the good ones PDFs) in
    root/batch-NNN/; returns the number of paths written (links included)."""
    rng = random.Random(seed)
    written = 0
    bombs = [bomb_pdf(1100 + j) for j in range(2)] if start == 0 else []
    kinds = [
        "bad_date",
        "doubled",
        "age150",
        "empty",
        "binary",
        "latin1",
        "utf16",
        "resent",
        "copy",
        "dangling",
        "oversize",
        "bomb",
    ]
    for k in range(start, start + n):
        folder = root / f"batch-{k // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        text = variant(base[k % len(base)], k, rng)
        pdf = rng.random() < pdf_share
        if rng.random() >= bad_share:
            write_letter(folder, k, text, pdf)
            written += 1
            continue
        kind = kinds[k % len(kinds)]
        path = folder / f"bad-{kind}-{k:07d}.txt"
        if kind == "bad_date":
            path.write_text(DATE.sub("13/45/2016", text, count=2))
        elif kind == "doubled":
            path.write_text(text + "\f" + text)
        elif kind == "age150":
            path.write_text(AGE.sub(lambda m: f"150{m.group(2)}", text, count=1))
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "binary":
            path.write_bytes(os.urandom(2000) + b"\x00" * 10)
        elif kind == "latin1":
            path.write_bytes(text.encode("latin-1", "replace") + "caf\u00e9".encode("latin-1"))
        elif kind == "utf16":
            path.write_bytes(text.encode("utf-16"))
        elif kind == "resent":  # same case number, other content: one is a duplicate
            write_letter(folder, k, text, pdf)
            path.write_text(text.replace("Decision rationale:", "Decision rationale: Re-sent.", 1))
            written += 1
        elif kind == "copy":
            original = write_letter(folder, k, text, pdf)
            shutil.copy(original, path.with_suffix(original.suffix))
            path = path.with_suffix(original.suffix)
            written += 1
        elif kind == "dangling":
            path.with_suffix(".pdf").symlink_to(folder / "deleted.pdf")
        elif kind == "oversize":
            path.write_bytes(b"x" * (6 * 1024 * 1024) if k % 100 == 0 else b"x" * 100)
        elif kind == "bomb":
            path = path.with_suffix(".pdf")
            path.write_bytes(bombs[(k // len(kinds)) % 2] if bombs else b"%PDF-1.4 truncated")
        written += 1
    if start == 0:
        (root / "batch-000" / "loop").symlink_to(root, target_is_directory=True)
        written += 1
    return written


def ingest(paths: list[Path], out: Path, workers: int | None) -> dict:
    """Run `imr ingest` and sample the RSS of its process tree; returns the figures."""
    cmd = [str(IMR), "ingest", *map(str, paths), "--out", str(out), "--progress", "off"]
    if workers:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    top = psutil.Process(proc.pid)
    peak = parent_peak = 0
    cpu: dict[int, float] = {}  # last CPU seconds seen per process (workers come and go)
    while proc.poll() is None:
        total = 0
        try:
            for p in [top, *top.children(recursive=True)]:
                total += p.memory_info().rss
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
        except psutil.Error:
            pass
        peak = max(peak, total)
        try:
            parent_peak = max(parent_peak, top.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    stdout = proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"imr ingest failed ({proc.returncode}): {stdout[-2000:]}")
    report = json.loads((out / "report.json").read_text())
    return {
        "wall_s": wall,
        "peak_rss_mb": peak / 2**20,
        "parent_peak_rss_mb": parent_peak / 2**20,
        "cpu_s": sum(cpu.values()),
        "load_avg_1m": os.getloadavg()[0],
        "files": report["total_files"],
        "files_per_s": report["total_files"] / wall,
        "parsed": report["parsed"],
        "rejected": report["rejected"],
        "duplicate": report["duplicate"],
        "run": report["run"],
        "report": report,
    }


def accounted(report: dict, roots: list[Path]) -> tuple[int, int]:
    """(paths under roots, of which in the report): every file and link a walk of the roots sees."""
    seen = set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                seen.add(os.path.join(dirpath, name))
    reported = {f["path"] for f in report["files"]}
    return len(seen), len(seen & reported)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--letters", type=int, default=20_000)
    ap.add_argument("--small", type=int, default=2_000)
    ap.add_argument("--tmp", type=Path, default=None)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    tmp = Path(tempfile.mkdtemp(prefix="bench-corpus-", dir=args.tmp))
    try:
        base = templates()
        t0 = time.perf_counter()
        small, full, extra = tmp / "small", tmp / "full", tmp / "extra"
        n_small_paths = generate(small, args.small, 0, base, seed=1)
        n_full_paths = generate(full, args.letters, 0, base, seed=2)
        n_extra = max(1, args.letters // 100)
        gen_s = time.perf_counter() - t0
        print(
            f"# {platform.platform()}, {cores} cores; corpus {args.letters} letters ({n_full_paths} paths) "
            f"+ {n_small_paths} small, generated in {gen_s:.0f} s under {tmp}",
            flush=True,
        )
        fig: dict = {"cores": cores, "letters": args.letters, "small": args.small}

        def show(label: str, r: dict) -> None:
            print(
                f"{label}: {r['files_per_s']:7.1f} files/s  {r['wall_s']:6.1f} s  "
                f"peak RSS {r['peak_rss_mb']:6.0f} MB "
                f"(parent {r['parent_peak_rss_mb']:4.0f})  CPU {r['cpu_s']:6.1f} s  load {r['load_avg_1m']:.1f}",
                flush=True,
            )

        r = ingest([small], tmp / "out-small", None)
        fig["small"] = {k: v for k, v in r.items() if k != "report"}
        show(f"{args.small:>6} letters, {cores:>2} workers", r)
        # Worker scaling on the full corpus, where start-up (~2 s) is a small share of the run.
        for workers in sorted({1, 2, cores}):
            r = ingest([full], tmp / f"out-full-{workers}", workers)
            fig[f"full_w{workers}"] = {k: v for k, v in r.items() if k != "report"}
            show(f"{args.letters:>6} letters, {workers:>2} workers", r)
        fig["full"] = fig[f"full_w{cores}"]
        total, found = accounted(r["report"], [full])
        fig["accounted"] = {"paths": total, "in_report": found, "report_files": r["files"]}
        generate(extra, n_extra, args.letters, base, seed=3, bad_share=0)
        rerun = ingest([full, extra], tmp / f"out-full-{cores}", None)
        fig["rerun"] = {k: v for k, v in rerun.items() if k != "report"}
        total2, found2 = accounted(rerun["report"], [full, extra])
        fig["accounted_rerun"] = {"paths": total2, "in_report": found2}
        print(
            f"re-run after adding {n_extra} letters: {rerun['wall_s']:.1f} s "
            f"(parsed now {rerun['run']['parsed_now']}, reused {rerun['run']['reused_outcomes']})",
            flush=True,
        )

        w1, w2 = fig["full_w1"]["files_per_s"], fig["full_w2"]["files_per_s"]
        targets = {
            "2 workers >= 1.7x one worker": (w2 / w1, w2 / w1 >= 1.7),
            "parent peak RSS at full <= 1.2x at small": (
                fig["full"]["parent_peak_rss_mb"] / fig["small"]["parent_peak_rss_mb"],
                fig["full"]["parent_peak_rss_mb"] <= 1.2 * fig["small"]["parent_peak_rss_mb"],
            ),
            "peak RSS at full <= 1.2x at small (all workers)": (
                fig["full"]["peak_rss_mb"] / fig["small"]["peak_rss_mb"],
                fig["full"]["peak_rss_mb"] <= 1.2 * fig["small"]["peak_rss_mb"],
            ),
            "re-run <= 10% of a full run": (
                rerun["wall_s"] / fig["full"]["wall_s"],
                rerun["wall_s"] <= 0.10 * fig["full"]["wall_s"],
            ),
            "every file accounted for": (found2 / total2, found == total and found2 == total2),
        }
        per_worker = fig["full"]["files_per_s"] / cores
        # CPU seconds per file do not depend on how busy the machine is: the projection's floor
        fig["cpu_ms_per_file"] = 1000 * fig["full"]["cpu_s"] / fig["full"]["files"]
        fig["projected_1m_16_cores_cpu_bound_min"] = 1_000_000 * fig["cpu_ms_per_file"] / 1000 / 16 / 60
        fig["projected_1m_16_cores_h"] = 1_000_000 / (per_worker * 16) / 3600
        fig["targets"] = {name: {"value": round(v, 3), "pass": ok} for name, (v, ok) in targets.items()}
        print()
        for name, (value, ok) in targets.items():
            print(f"{'PASS' if ok else 'FAIL'}  {name}: {value:.3f}")
        print(
            f"CPU {fig['cpu_ms_per_file']:.2f} ms per file (all processes) -> 1,000,000 letters on 16 cores, "
            f"CPU-bound: {fig['projected_1m_16_cores_cpu_bound_min']:.0f} min; load average now "
            f"{os.getloadavg()[0]:.1f} on {cores} cores"
        )
        print(
            f"per-worker rate {per_worker:.1f} files/s -> 1,000,000 letters on 16 cores: "
            f"{fig['projected_1m_16_cores_h'] * 60:.0f} min (if it scales linearly; reading, hashing and "
            f"writing stay in one process)"
        )
        emit_figures(fig, args.json)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
