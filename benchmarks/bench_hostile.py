"""What hostile clients of `imr serve` cost everyone else (issue 24), on loopback:

    .venv/bin/python benchmarks/bench_hostile.py summary --model DIR [--attack-chars 4900000 47940] \\
        [--seconds 20] [--concurrency 4] [--json PATH]
    .venv/bin/python benchmarks/bench_hostile.py bombs --model DIR [--letter PDF] [--seconds 40] \\
        [--bomber-pause 0.1] [--json PATH]

`summary`: a client B sends ordinary /v1/predict requests (one item, a ~1.5 KB case summary;
bench_serve.py's payload) from `--concurrency` keep-alive connections for `--seconds`, first
alone, then while a client A posts, one after another, an item whose case summary has
`--attack-chars` characters, with `explain` (each size in turn). Reports B's requests/s and
latency percentiles in each phase, and A's answers (status, seconds).

`bombs`: a legitimate client L posts a letter (`--letter`, a PDF; default the first bundled one)
to /v1/predict-letter, one at a time, for `--seconds`, first alone, then while two clients post a
PDF decompression bomb (~1 MB inflating to 1 GiB; tests/hostile.py) in a loop, each waiting
`--bomber-pause` seconds between its requests and ignoring Retry-After. Each client connects
from its own loopback address (127.0.0.2-4), as distinct clients would. Reports L's letters/s
and latency in each phase, the share of its throughput kept, and the bombers' answers.

The server is `python -m training.imr serve` from this checkout (PYTHONPATH set to it), so the
same script measures any revision. Bounded: each phase stops at `--seconds`, and an attacker's
request in flight then is awaited at most 120 s. The last stdout line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from bench_predict import emit_figures
from bench_serve import free_port, load, payload, percentile, stop_server, wait_ready

ROOT = Path(__file__).resolve().parent.parent
LETTERS = ROOT.parent / "shared" / "data" / "dwc-imr-letters"


def start_server(model: str, port: int, log_path: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "training.imr", "serve", "--model", model, "--port", str(port)]
    cmd += ["--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log_path, "wb") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)


class Attacker(threading.Thread):
    """Posts `request()` in a loop from `address` until stopped; records (status, seconds) of each."""

    def __init__(self, url: str, address: str, request: dict, pause: float = 0.0):
        super().__init__(daemon=True)
        self.url, self.request, self.pause = url, request, pause
        self.http = httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=120)
        self.answers: list[tuple[int | str, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            t0 = time.perf_counter()
            try:
                status: int | str = self.http.post(self.url, **self.request).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            self.answers.append((status, time.perf_counter() - t0))
            self.stopping.wait(self.pause)

    def stop(self) -> dict:
        self.stopping.set()
        self.join(timeout=125)
        seconds = sorted(s for _, s in self.answers)
        return {
            "requests": len(self.answers),
            "statuses": dict(Counter(str(status) for status, _ in self.answers)),
            "p50_s": round(percentile(seconds, 50), 3) if seconds else None,
            "max_s": round(seconds[-1], 3) if seconds else None,
        }


def latency_figures(latencies: list[float], errors: list, wall: float) -> dict:
    latencies = sorted(latencies)
    return {
        "ok": len(latencies),
        "errors": len(errors),
        "per_s": round(len(latencies) / wall, 2),
        **{f"p{q}_ms": round(percentile(latencies, q) * 1000, 1) for q in (50, 95, 99)},
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
    }


def client_b(url: str, seconds: float, concurrency: int) -> dict:
    t0 = time.perf_counter()
    latencies, errors = asyncio.run(load(url, 10**6, concurrency, 1, time.monotonic() + seconds))
    return latency_figures(latencies, errors, time.perf_counter() - t0)


def summary(args, url: str) -> dict:
    client_b(url, 2, args.concurrency)  # warm-up
    phases = {"alone": client_b(url, args.seconds, args.concurrency)}
    item = payload(0, 1)["items"][0]
    for chars in args.attack_chars:
        text = (item["case_summary"] * (chars // len(item["case_summary"]) + 1))[:chars]
        body = json.dumps({"items": [item | {"case_summary": text}], "explain": True}).encode()
        attacker = Attacker(
            f"{url}/v1/predict", "127.0.0.2", {"content": body, "headers": {"content-type": "application/json"}}
        )
        attacker.start()
        time.sleep(0.2)  # its first request is in
        phase = client_b(url, args.seconds, args.concurrency)
        phases[f"with_{chars}_char_summary"] = phase | {"attacker": attacker.stop()}
    return {"concurrency": args.concurrency, "phases": phases}


def client_l(url: str, letter: bytes, seconds: float) -> dict:
    http = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.4"), timeout=120)
    latencies, errors = [], []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        t1 = time.perf_counter()
        try:
            r = http.post(f"{url}/v1/predict-letter", content=letter, headers={"content-type": "application/pdf"})
            (latencies if r.status_code == 200 else errors).append(time.perf_counter() - t1)
        except httpx.HTTPError:
            errors.append(time.perf_counter() - t1)
    return latency_figures(latencies, errors, time.perf_counter() - t0)


def bombs(args, url: str) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from hostile import bomb_pdf

    letter = args.letter.read_bytes() if args.letter else sorted(LETTERS.glob("*.pdf"))[0].read_bytes()
    client_l(url, letter, 2)  # warm-up: the letter pool's workers start
    alone = client_l(url, letter, args.seconds)
    request = {"content": bomb_pdf(1024), "headers": {"content-type": "application/pdf"}}
    bombers = [Attacker(f"{url}/v1/predict-letter", a, request, args.bomber_pause) for a in ("127.0.0.2", "127.0.0.3")]
    for bomber in bombers:
        bomber.start()
    attacked = client_l(url, letter, args.seconds)
    answers = [bomber.stop() for bomber in bombers]
    kept = round(100 * attacked["per_s"] / alone["per_s"], 1) if alone["per_s"] else None
    return {
        "bomber_pause_s": args.bomber_pause,
        "alone": alone,
        "with_two_bombers": attacked | {"bombers": answers},
        "kept_percent": kept,
    }


def print_table(figures: dict) -> None:
    print(f"imr serve, {figures['model']}, {figures['cpu_count']} CPUs, load average {figures['loadavg_1m']}")
    if figures["scenario"] == "summary":
        rows = [(name, phase) for name, phase in figures["phases"].items()]
        print(f"client B ({figures['concurrency']} connections, {figures['seconds_per_phase']:g} s per phase):")
    else:
        rows = [("alone", figures["alone"]), ("with two bombers", figures["with_two_bombers"])]
        print(f"client L (one letter at a time, {figures['seconds_per_phase']:g} s per phase):")
    for name, phase in rows:
        print(
            f"  {name:32s} {phase['per_s']:8.2f}/s  p50 {phase['p50_ms']} ms  p99 {phase['p99_ms']} ms  "
            f"max {phase['max_ms']} ms  errors {phase['errors']}"
        )
        for attacker in [phase["attacker"]] if "attacker" in phase else phase.get("bombers", []):
            print(f"    attacker: {attacker['requests']} requests {attacker['statuses']}, max {attacker['max_s']} s")
    if figures["scenario"] == "bombs":
        print(f"  letter throughput kept under two bombers: {figures['kept_percent']}%")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="scenario", required=True)
    for name in ("summary", "bombs"):
        p = sub.add_parser(name)
        p.add_argument("--model", required=True, help="model URI or folder, as for imr serve")
        p.add_argument("--seconds", type=float, default=20 if name == "summary" else 40, help="length of each phase")
        p.add_argument("--json", type=Path, help="also write the figures here")
    sub.choices["summary"].add_argument("--attack-chars", type=int, nargs="+", default=[4_900_000])
    sub.choices["summary"].add_argument("--concurrency", type=int, default=4)
    sub.choices["bombs"].add_argument("--letter", type=Path, help="the legitimate client's letter (PDF)")
    sub.choices["bombs"].add_argument("--bomber-pause", type=float, default=0.1)
    args = ap.parse_args(argv)
    if not 1 <= args.seconds <= 300 or any(not 1 <= c <= 5_000_000 for c in getattr(args, "attack_chars", [1])):
        ap.error("--seconds 1..300, --attack-chars 1..5000000")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkstemp(prefix="bench_hostile_", suffix=".log")[1])
    proc = start_server(args.model, port, log_path)
    try:
        wait_ready(proc, url, 180)
        info = httpx.get(f"{url}/version", timeout=5).json()
        figures = summary(args, url) if args.scenario == "summary" else bombs(args, url)
    except RuntimeError as exc:
        print(f"bench_hostile: {exc}; server log {log_path}:\n{log_path.read_text()[-3000:]}", file=sys.stderr)
        return 2
    finally:
        stop_server(proc)
    figures = {
        "scenario": args.scenario,
        "model": f"{info['name']} v{info['version']} ({info['family']})",
        "seconds_per_phase": args.seconds,
        **figures,
        "cpu_count": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    print_table(figures)
    emit_figures(figures, args.json)
    log_path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
