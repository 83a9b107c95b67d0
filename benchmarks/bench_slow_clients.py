"""Slow clients against `imr serve` on loopback: are they dropped, and does the service stay responsive?

    .venv/bin/python benchmarks/bench_slow_clients.py --model models:/imr-baseline@candidate \\
        [--slow-body 200] [--interval 2] [--duration 45] [--http auto|h11|httptools] [--json PATH] \\
        [--header-timeout S] [--body-timeout S] [--max-connections N]

Starts `imr serve --model URI` (a free port on 127.0.0.1), measures a normal single-item
`POST /v1/predict` alone, then opens at once:

- one slow-header connection: a request line and a `Host` header, then one more header byte
  every `--interval` seconds, never ending the headers;
- `--slow-body` slow-body connections: complete headers announcing a 1,000-byte JSON body,
  then one body byte every `--interval` seconds;

and, while they trickle, sends a normal request every 0.25 s on a fresh connection. It reports
when the server closed the slow connections (and with which status), how many were still open
when the run ended (`--duration` seconds at most), and the normal requests' latency before and
meanwhile. The last stdout line is every figure as one JSON object (`--json` also writes it).
Flags the server does not know are passed only when given, so an older `imr serve` can be
measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_serve import ROOT, free_port, payload, percentile, serve_command, stop_server, wait_ready

NORMAL_EVERY_S = 0.25


def server_command(args, port: int) -> list[str]:
    options = {
        "--http": args.http,
        "--header-timeout": args.header_timeout,
        "--body-timeout": args.body_timeout,
        "--max-connections": args.max_connections,
    }
    return serve_command(args.model, port, "warning", options)


async def normal_request(port: int, body: bytes) -> tuple[int, float]:
    """(status, seconds) of one POST /v1/predict on a fresh connection; status 0 if it failed."""
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        writer.write(
            b"POST /v1/predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return int(data.split(b" ", 2)[1]), time.perf_counter() - start
    except (TimeoutError, OSError, IndexError, ValueError):
        return 0, time.perf_counter() - start


async def trickle(port: int, head: bytes, byte: bytes, interval: float, until: float) -> tuple[float | None, int]:
    """Send `head`, then `byte` every `interval` s until the server closes the connection or
    `until`. Returns (seconds until the server closed it, or None if still open; status, 0 if none)."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    try:
        while time.monotonic() < until:
            try:
                data = await asyncio.wait_for(reader.read(4096), interval)
            except TimeoutError:
                writer.write(byte)
                continue
            status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
            return time.monotonic() - start, status
        return None, 0
    except (ConnectionError, OSError):
        return time.monotonic() - start, 0
    finally:
        writer.close()


def latency_summary(results: list[tuple[int, float]]) -> dict:
    ok = sorted(t * 1000 for status, t in results if status == 200)
    return {
        "requests": len(results),
        "ok": len(ok),
        "statuses": sorted({status for status, _ in results}),
        "p50_ms": round(percentile(ok, 50), 2) if ok else None,
        "p95_ms": round(percentile(ok, 95), 2) if ok else None,
        "max_ms": round(ok[-1], 2) if ok else None,
    }


async def measure(args, port: int) -> dict:
    body = json.dumps(payload(0, 1)).encode()
    before = [await normal_request(port, body) for _ in range(20)]
    until = time.monotonic() + args.duration
    header_head = b"GET /health HTTP/1.1\r\nHost: bench\r\nX-Slow: "
    body_head = (
        b"POST /v1/predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    slow = [asyncio.create_task(trickle(port, header_head, b"x", args.interval, until))]
    slow += [asyncio.create_task(trickle(port, body_head, b" ", args.interval, until)) for _ in range(args.slow_body)]
    during = []
    while not all(task.done() for task in slow) and time.monotonic() < until:
        during.append(await normal_request(port, body))
        await asyncio.sleep(NORMAL_EVERY_S)
    outcomes = await asyncio.gather(*slow)
    header_closed, header_status = outcomes[0]
    body_closed = sorted(t for t, _ in outcomes[1:] if t is not None)
    return {
        "slow_header_closed_after_s": round(header_closed, 2) if header_closed is not None else None,
        "slow_header_status": header_status or None,
        "slow_body_connections": args.slow_body,
        "slow_body_closed": len(body_closed),
        "slow_body_still_open_at_end": args.slow_body - len(body_closed),
        "slow_body_closed_after_s": {
            "min": round(body_closed[0], 2),
            "max": round(body_closed[-1], 2),
            "median": round(statistics.median(body_closed), 2),
        }
        if body_closed
        else None,
        "slow_body_statuses": sorted({s for _, s in outcomes[1:]}),
        "normal_before": latency_summary(before),
        "normal_during": latency_summary(during),
        "duration_s": args.duration,
        "interval_s": args.interval,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model URI or folder, as for imr serve")
    ap.add_argument("--slow-body", type=int, default=200, help="slow-body connections (default 200)")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between a slow client's bytes (default 2)")
    ap.add_argument("--duration", type=float, default=45.0, help="longest the slow clients trickle (default 45 s)")
    ap.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    ap.add_argument("--header-timeout", type=float, help="passed to imr serve when given")
    ap.add_argument("--body-timeout", type=float, help="passed to imr serve when given")
    ap.add_argument("--max-connections", type=int, help="passed to imr serve when given")
    ap.add_argument("--startup-timeout", type=float, default=180.0)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    port = free_port()
    cmd = server_command(args, port)
    print("server:", " ".join(cmd), file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "serve.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            wait_ready(proc, f"http://127.0.0.1:{port}", args.startup_timeout)
            figures = asyncio.run(measure(args, port))
        except RuntimeError as exc:
            print(f"bench_slow_clients: {exc}\n{log_path.read_text()[-2000:]}", file=sys.stderr)
            return 2
        finally:
            stop_server(proc)
    print(
        f"slow-header connection: closed after {figures['slow_header_closed_after_s']} s "
        f"(status {figures['slow_header_status']})"
    )
    print(
        f"{args.slow_body} slow-body connections: {figures['slow_body_closed']} closed "
        f"(after {figures['slow_body_closed_after_s']} s, statuses {figures['slow_body_statuses']}), "
        f"{figures['slow_body_still_open_at_end']} still open after {args.duration:g} s"
    )
    for phase in ("normal_before", "normal_during"):
        f = figures[phase]
        print(
            f"normal request {phase.removeprefix('normal_')} the slow clients: {f['ok']}/{f['requests']} ok, "
            f"p50 {f['p50_ms']} ms, p95 {f['p95_ms']} ms, max {f['max_ms']} ms, statuses {f['statuses']}"
        )
    line = json.dumps(figures)
    if args.json:
        args.json.write_text(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
