"""Cold start of `imr predict` on one request, per model family: a fresh process each time.

    .venv/bin/python benchmarks/bench_cold_start.py [--model FAMILY=URI ...] [--runs 5] [--input FILE]
                                                    [--explain] [--tree DIR] [--json PATH]

For each model (default: models:/imr-baseline@candidate, models:/imr-transformer@candidate and
models:/imr-ensemble@candidate in the project's tracking store, MLFLOW_TRACKING_URI when set) it runs
the real `imr predict --model URI --input FILE` as a child process:

- **first run**: a model cache of its own, empty (IMR_MODEL_CACHE points at a new temporary folder),
  so the version is resolved in the registry and downloaded; reported on its own;
- **later runs** (`--runs`, default 5): the same cache, now holding the version, and the OS file cache
  warm from the first run: median, min and max wall time, median CPU time (user + system) and the
  largest peak RSS (each child's own, from wait4);
- **import-time top 10**: one more run under `python -X importtime`, not timed; the 10 top-level
  packages with the most import time of their own (self time summed over their modules), and whether
  torch, transformers, mlflow and onnxruntime were imported at all.

`--tree DIR` runs the code of another checkout of the project (e.g. `git worktree add /tmp/before
<commit>`) on the same models, for before/after figures from one machine at one time.

Targets (issue 26), on the 2-core development machine: baseline <= 3 s, ensemble <= 6 s (median of
the later runs, wall clock); PASS/FAIL is printed for each. Other processes competing for the CPUs
inflate wall times, so the header gives the load average and the CPU-time column is the steadier
guide. The last stdout line is every figure as one JSON object (`--json PATH` also writes it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = {"baseline": 3.0, "ensemble": 6.0}
DEFAULT_MODELS = [f"{family}=models:/imr-{family}@candidate" for family in ("baseline", "transformer", "ensemble")]
WATCHED = ("torch", "transformers", "mlflow", "onnxruntime", "sklearn", "skops")
# A made-up request shaped like a physician's request for authorization (no letter's text).
REQUEST = {
    "treatment": "Lumbar epidural steroid injection L4-L5",
    "case_summary": (
        "The injured worker is a 45 year old warehouse worker with low back pain radiating to the left leg "
        "since a lifting injury. He completed 12 sessions of physical therapy and NSAIDs without lasting "
        "relief. MRI shows a disc protrusion at L4-L5 with nerve root contact. The treating physician "
        "requests an epidural steroid injection."
    ),
    "patient_age": 45,
    "patient_sex": "male",
    "days_since_injury": 400,
}


def imr_command() -> list[str]:
    """The `imr` entry point beside this interpreter (what a user runs), else `python -m training.imr`."""
    script = Path(sys.executable).with_name("imr")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "training.imr"]


def run_child(argv: list[str], env: dict[str, str]) -> dict:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one child process, and its exit
    status and stderr."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=env["PYTHONPATH"])
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "rss_mb": round(usage.ru_maxrss / 1024, 1),  # KB on Linux
        "rc": child.returncode,
        "stderr": stderr.decode(errors="replace"),
    }


def import_profile(stderr: str, top: int = 10) -> tuple[list[tuple[str, float]], list[str]]:
    """(the `top` packages by self import time in seconds, the WATCHED packages imported) from the
    `-X importtime` lines of `stderr`."""
    self_us: dict[str, int] = defaultdict(int)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        self_us[name.strip().split(".")[0]] += int(own)
    ranked = sorted(self_us.items(), key=lambda kv: -kv[1])[:top]
    return [(name, round(us / 1e6, 3)) for name, us in ranked], [w for w in WATCHED if w in self_us]


def measure(family: str, uri: str, request: Path, runs: int, explain: bool, tree: Path) -> dict:
    argv = [*imr_command(), "predict", "--model", uri, "--input", str(request)] + (["--explain"] if explain else [])
    with tempfile.TemporaryDirectory(prefix="imr-bench-cache-") as cache:
        env = os.environ | {"IMR_MODEL_CACHE": cache, "PYTHONPATH": str(tree)}
        first = run_child(argv, env)
        if first["rc"] != 0:
            return {"family": family, "model": uri, "error": first["stderr"].strip().splitlines()[-1:]}
        later = [run_child(argv, env) for _ in range(runs)]
        profiled = run_child([sys.executable, "-X", "importtime", *_as_module(argv)], env)
    failed = [r for r in later + [profiled] if r["rc"] != 0]
    if failed:
        return {"family": family, "model": uri, "error": failed[0]["stderr"].strip().splitlines()[-1:]}
    top, imported = import_profile(profiled["stderr"])
    walls = [r["wall_s"] for r in later]
    figures = {
        "family": family,
        "model": uri,
        "first": {k: first[k] for k in ("wall_s", "cpu_s", "rss_mb")},
        "runs": runs,
        "wall_s_median": round(statistics.median(walls), 3),
        "wall_s_min": min(walls),
        "wall_s_max": max(walls),
        "cpu_s_median": round(statistics.median(r["cpu_s"] for r in later), 3),
        "rss_mb_peak": max(r["rss_mb"] for r in later),
        "imported": imported,
        "import_top10_s": top,
    }
    if family in TARGET_S:
        figures["target_s"] = TARGET_S[family]
        figures["pass"] = figures["wall_s_median"] <= TARGET_S[family]
    return figures


def _as_module(argv: list[str]) -> list[str]:
    """`imr ...` as `-m training.imr ...`, so that `python -X importtime` can run it."""
    if argv[0] == sys.executable:
        return argv[1:]
    return ["-m", "training.imr", *argv[1:]]


def print_table(results: list[dict]) -> None:
    print(
        f"{'family':<12}{'first s':>9}{'median s':>10}{'min-max s':>16}{'cpu s':>8}{'RSS MB':>8}"
        f"{'target':>8}  heavy imports"
    )
    for r in results:
        if "error" in r:
            print(f"{r['family']:<12}  failed: {' '.join(r['error'])}")
            continue
        verdict = f"{'PASS' if r['pass'] else 'FAIL'} {r['target_s']:g}" if "target_s" in r else "-"
        spread = f"{r['wall_s_min']:.2f}-{r['wall_s_max']:.2f}"
        print(
            f"{r['family']:<12}{r['first']['wall_s']:>9.2f}{r['wall_s_median']:>10.2f}"
            f"{spread:>16}{r['cpu_s_median']:>8.2f}{r['rss_mb_peak']:>8.0f}"
            f"{verdict:>8}  {', '.join(r['imported']) or '-'}"
        )
    for r in results:
        if "import_top10_s" in r:
            packages = ", ".join(f"{name} {s:.2f}" for name, s in r["import_top10_s"])
            print(f"import time, {r['family']} (self s per package): {packages}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model",
        action="append",
        metavar="FAMILY=URI",
        help="a model to start, named by its family (repeatable); default: the three @candidate models",
    )
    ap.add_argument("--runs", type=int, default=5, help="timed runs after the first (default 5)")
    ap.add_argument("--input", type=Path, help="the request file (default: one made-up request)")
    ap.add_argument("--explain", action="store_true", help="time `imr predict --explain`")
    ap.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose code to run (default: this one)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()
    tree = args.tree.resolve()

    with tempfile.TemporaryDirectory(prefix="imr-bench-request-") as tmp:
        request = args.input or Path(tmp) / "one.jsonl"
        if args.input is None:
            request.write_text(json.dumps(REQUEST) + "\n")
        load = os.getloadavg()
        print(f"imr predict cold start, one request; {platform.platform()}, {os.cpu_count()} CPUs, load {load[0]:.2f}")
        print(f"code: {tree}")
        if load[0] > 0.75 * (os.cpu_count() or 1):
            print("note: other processes compete for the CPUs; wall times are pessimistic, CPU times steadier")
        results = []
        for spec in args.model or DEFAULT_MODELS:
            family, _, uri = spec.partition("=")
            results.append(measure(family, uri, request, args.runs, args.explain, tree))
    print_table(results)
    figures = {
        "load_average": load,
        "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "code": str(tree),
        "explain": args.explain,
        "results": results,
    }
    line = json.dumps(figures)
    print(line)
    if args.json:
        args.json.write_text(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
