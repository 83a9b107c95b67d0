"""Load test of `imr serve` on loopback: throughput, latency percentiles and errors.

    .venv/bin/python benchmarks/bench_serve.py --model models:/imr-baseline@candidate \\
        [--requests 3000] [--concurrency 8] [--items 1] [--backend torch|onnx] [--client raw|httpx] \\
        [--http h11|httptools] [--loop asyncio|uvloop] [--max-batch-items 64] [--max-wait-ms 2] \\
        [--server-log-level warning] [--time-limit 120] [--json PATH]

Starts `imr serve` as a subprocess on 127.0.0.1 (a free port), waits for GET /health to say
ready, sends `--warmup` requests, then `--requests` POST /v1/predict requests from
`--concurrency` concurrent keep-alive connections (asyncio; a minimal hand-written HTTP/1.1
client by default, httpx.AsyncClient with `--client httpx`), and stops the server. Every
request carries `--items` synthetic items shaped like a real one (treatment, a ~1.5 KB case
summary, guideline, patient metadata). Bounded: the run stops at `--time-limit` seconds and
reports what finished. The client runs on the same machine as the server, so the report gives
each one's CPU time: on a small machine the two compete for the same cores.

Prints a table; the last stdout line is the figures as one JSON object (`--json` also writes it).
Exit status 1 when any request failed, 2 when the server did not start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
IMR = ROOT / ".venv" / "bin" / "imr"
TREATMENTS = [
    "MRI of the lumbar spine without contrast",
    "Norco 10/325mg #60",
    "Physical therapy 2x6 for the right knee",
    "Lidoderm 5% patch #30",
    "Acupuncture 6 sessions",
    "Functional restoration program, 160 hours",
    "EMG/NCV of the bilateral upper extremities",
    "Right shoulder arthroscopy with subacromial decompression",
]
SUMMARY = (
    "The injured worker is a 52 year old male who sustained an industrial injury while lifting boxes. "
    "He reports chronic low back pain radiating to the left leg, rated 7/10, worse with sitting. "
    "Prior treatment has included physical therapy, chiropractic care, NSAIDs and activity modification "
    "with limited benefit. Examination shows decreased lumbar range of motion, positive straight leg raise "
    "on the left and diminished sensation in the L5 dermatome. "
) * 3
GUIDELINE = "Decision based on MTUS ACOEM Practice Guidelines, Low Back Complaints, and ODG Low Back chapter."


def payload(index: int, items: int) -> dict:
    rng = random.Random(index)
    return {
        "items": [
            {
                "id": f"{index}-{k}",
                "treatment": rng.choice(TREATMENTS),
                "case_summary": SUMMARY,
                "claims_administrator_guideline": GUIDELINE,
                "patient_age": rng.randint(25, 70),
                "patient_sex": rng.choice(["male", "female"]),
                "days_since_injury": rng.randint(30, 3000),
            }
            for k in range(items)
        ]
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def serve_command(model: str, port: int, log_level: str, options: dict) -> list[str]:
    """`imr serve` on loopback; each option given (not None) as `flag value`."""
    cmd = [str(IMR), "serve", "--model", model, "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level]
    for flag, value in options.items():
        if value is not None:
            cmd += [flag, str(value)]
    return cmd


def start_server(args, port: int, log_path: Path) -> subprocess.Popen:
    options = {
        "--http": args.http,
        "--loop": args.loop,
        "--backend": args.backend,
        "--max-batch-items": args.max_batch_items,
        "--max-wait-ms": args.max_wait_ms,
    }
    cmd = serve_command(args.model, port, args.server_log_level, options)
    if args.access_log:
        cmd.append("--access-log")
    print("server:", " ".join(cmd), file=sys.stderr)
    with open(log_path, "wb") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def wait_ready(proc: subprocess.Popen, url: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"server not ready after {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


async def load(
    url: str, total: int, concurrency: int, items: int, deadline: float, client: str = "raw"
) -> tuple[list[float], list[str]]:
    """(latencies in seconds of the successful requests, one line per error)."""
    bodies = [json.dumps(payload(i, items)).encode() for i in range(min(total, 256))]
    latencies: list[float] = []
    errors: list[str] = []
    next_index = 0
    host, port = url.removeprefix("http://").split(":")

    async def worker(post):
        nonlocal next_index
        while next_index < total and time.monotonic() < deadline:
            index = next_index
            next_index += 1
            t0 = time.perf_counter()
            try:
                status, body = await post(bodies[index % len(bodies)])
                if status != 200 or len(json.loads(body)["predictions"]) != items:
                    errors.append(f"HTTP {status}")
                    continue
            except (OSError, ValueError, KeyError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
                errors.append(type(exc).__name__)
                continue
            latencies.append(time.perf_counter() - t0)

    async def raw_worker():
        """One keep-alive HTTP/1.1 connection per worker, written and read by hand: a few
        microseconds of client CPU per request, so the client steals little from the server.
        A connection that fails is dropped and opened again for the next request."""
        conn: list = []

        async def post(body: bytes):
            if not conn:
                conn.extend(await asyncio.open_connection(host, int(port)))
            reader, writer = conn
            try:
                writer.write(
                    b"POST /v1/predict HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (host.encode(), len(body), body)
                )
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                status, data = int(lines[0].split()[1]), await reader.readexactly(int(headers["content-length"]))
            except BaseException:
                writer.close()
                conn.clear()
                raise
            if headers.get("connection", "").lower() == "close":
                writer.close()
                conn.clear()
            return status, data

        try:
            await worker(post)
        finally:
            if conn:
                conn[1].close()

    async def run_all():
        if client == "raw":
            await asyncio.gather(*(raw_worker() for _ in range(concurrency)))
            return
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=url, limits=limits, timeout=30, headers={"content-type": "application/json"}
        ) as http:

            async def post(body: bytes):
                r = await http.post("/v1/predict", content=body)
                return r.status_code, r.content

            await asyncio.gather(*(worker(post) for _ in range(concurrency)))

    try:
        await asyncio.wait_for(run_all(), timeout=max(deadline - time.monotonic(), 0.1) + 30)
    except TimeoutError:
        errors.append("time limit: requests still in flight were cancelled")
    return latencies, errors


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model URI or folder, as for imr serve")
    ap.add_argument("--requests", type=int, default=3000, help="measured requests (default 3000)")
    ap.add_argument("--concurrency", type=int, default=8, help="concurrent connections (default 8)")
    ap.add_argument("--items", type=int, default=1, help="items per request (default 1)")
    ap.add_argument("--backend", choices=["torch", "onnx"])
    ap.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"], help="imr serve --http")
    ap.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="imr serve --loop")
    ap.add_argument(
        "--client",
        default="raw",
        choices=["raw", "httpx"],
        help="raw: hand-written keep-alive HTTP/1.1 on asyncio streams (least client CPU; default); "
        "httpx: httpx.AsyncClient",
    )
    ap.add_argument("--max-batch-items", type=int, help="imr serve --max-batch-items (default: the server's)")
    ap.add_argument("--max-wait-ms", type=float, help="imr serve --max-wait-ms (default: the server's)")
    ap.add_argument(
        "--server-log-level", default="warning", help="imr serve --log-level (default warning: no per-request lines)"
    )
    ap.add_argument("--access-log", action="store_true", help="turn uvicorn's access log on")
    ap.add_argument("--warmup", type=int, default=50, help="unmeasured requests first (default 50)")
    ap.add_argument("--time-limit", type=float, default=120, help="seconds for the measured requests (default 120)")
    ap.add_argument("--startup-timeout", type=float, default=180, help="seconds to wait for /health (default 180)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    if not 1 <= args.requests <= 1_000_000 or not 1 <= args.concurrency <= 1024 or not 1 <= args.items <= 256:
        ap.error("--requests 1..1000000, --concurrency 1..1024, --items 1..256")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkstemp(prefix="bench_serve_", suffix=".log")[1])
    proc = start_server(args, port, log_path)
    try:
        startup = wait_ready(proc, url, args.startup_timeout)
        info = httpx.get(f"{url}/version", timeout=5).json()
        if args.warmup:
            asyncio.run(load(url, args.warmup, args.concurrency, args.items, time.monotonic() + 60, args.client))
        server_cpu0, client_cpu0 = cpu_seconds(proc.pid), time.process_time()
        t0 = time.perf_counter()
        latencies, errors = asyncio.run(
            load(url, args.requests, args.concurrency, args.items, time.monotonic() + args.time_limit, args.client)
        )
        wall = time.perf_counter() - t0
        server_cpu, client_cpu = cpu_seconds(proc.pid) - server_cpu0, time.process_time() - client_cpu0
    except RuntimeError as exc:
        print(f"bench_serve: {exc}; server log {log_path}:\n{log_path.read_text()[-3000:]}", file=sys.stderr)
        return 2
    finally:
        stop_server(proc)
    latencies.sort()
    ok = len(latencies)
    figures = {
        "model": f"{info['name']} v{info['version']} ({info['family']})",
        "backend": args.backend,
        "http": args.http,
        "loop": args.loop,
        "client": args.client,
        "server_log_level": args.server_log_level,
        "access_log": args.access_log,
        "max_batch_items": args.max_batch_items,
        "max_wait_ms": args.max_wait_ms,
        "concurrency": args.concurrency,
        "items_per_request": args.items,
        "requests": ok + len(errors),
        "ok": ok,
        "errors": len(errors),
        "wall_s": round(wall, 3),
        "requests_per_s": round(ok / wall, 1),
        "items_per_s": round(ok * args.items / wall, 1),
        **{f"p{q}_ms": round(percentile(latencies, q) * 1000, 2) for q in (50, 95, 99)},
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_s": round(client_cpu, 2),
        "startup_s": round(startup, 2),
        "cpu_count": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
    }
    print(
        f"imr serve on {url}: {figures['model']}, backend {args.backend or 'default'}, http {args.http}, "
        f"client {args.client}, {os.cpu_count()} CPUs, load average {figures['loadavg_1m']} "
        f"(server ready in {startup:.1f} s)"
    )
    print(
        f"{figures['requests']} requests x {args.items} item(s) at concurrency {args.concurrency}: "
        f"{figures['requests_per_s']} req/s ({figures['items_per_s']} items/s) in {wall:.1f} s, "
        f"{len(errors)} errors"
    )
    print(
        f"latency ms: p50 {figures['p50_ms']}  p95 {figures['p95_ms']}  p99 {figures['p99_ms']}  "
        f"max {figures['max_ms']}"
    )
    print(
        f"CPU s: server {server_cpu:.1f} ({server_cpu / wall:.2f} cores), client {client_cpu:.1f} "
        f"({client_cpu / wall:.2f} cores)"
    )
    if errors:
        print("errors:", ", ".join(sorted(set(errors))))
    if info["family"] == "baseline" and args.items == 1 and args.concurrency == 8:
        passed = figures["requests_per_s"] >= 300 and figures["p99_ms"] < 50 and not errors
        print(
            f"target (baseline, 1 item, concurrency 8: >= 300 req/s, p99 < 50 ms, 0 errors): "
            f"{'PASS' if passed else 'FAIL'}"
        )
    line = json.dumps(figures)
    print(line)
    if args.json:
        args.json.write_text(line + "\n")
    log_path.unlink(missing_ok=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
