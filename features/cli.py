"""`imr parse` and `imr ingest`. Each subcommand imports its own heavy dependencies, so `imr parse`
never loads torch, datasets or mlflow."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from features.extract import MAX_LETTER_BYTES


def add_feature_commands(sub) -> None:
    """`imr parse` and `imr ingest` (the dispatcher is training.imr: it alone sees every package)."""
    p = sub.add_parser("parse", help="parse letters (PDF or text) to JSON Lines on stdout")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--strict", action="store_true", help="exit 1 if any file is rejected")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("ingest", help="build the per-item dataset from files or folders of letters")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any file is rejected")
    p.add_argument(
        "--workers", type=_positive_int, default=None, help="parsing processes (default and most: the cores available)"
    )
    p.add_argument("--rebuild", action="store_true", help="parse every file again, even those already in --out")
    p.add_argument("--timeout", type=_positive_seconds, default=None, help="seconds allowed per file (default 30)")
    p.add_argument(
        "--memory-limit",
        type=_memory_mib,
        default=None,
        metavar="MIB",
        help="address space per worker in MiB (default 1024, at least 128)",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="when another imr ingest is writing --out, wait for it to finish (default: refuse at once)",
    )
    p.add_argument(
        "--progress",
        choices=["auto", "on", "off"],
        default="auto",
        help="progress bar on stderr (auto: when stderr is a terminal)",
    )
    p.set_defaults(func=cmd_ingest)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, got {text}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def _memory_mib(text: str) -> int:
    from features.contain import MIN_MEMORY_MIB  # here, not at the top: it loads the worker's imports

    value = int(text)
    if value < MIN_MEMORY_MIB:
        raise argparse.ArgumentTypeError(
            f"at least {MIN_MEMORY_MIB} MiB, got {value}: a worker takes ~50 MiB before it reads a letter"
        )
    return value


def cmd_parse(args: argparse.Namespace) -> int:
    """Contained like ingest: each file is read in a worker with a time and memory limit."""
    from features.contain import ContainedPool, default_workers
    from features.ingest import read_entry
    from features.sources import Entry, walk

    def jobs():
        for path in args.files:
            if not path.exists() and not path.is_symlink():
                yield (path, "no such file"), None
                continue
            # a named file is read whatever its suffix; walk() reports a dangling or looping link
            entry = Entry(path, "not a regular file") if path.is_dir() else next(iter(walk([path])))
            data, _, reason = read_entry(entry, max_bytes=MAX_LETTER_BYTES)
            yield (path, reason), None if data is None else (data,)

    failed = 0
    with ContainedPool(workers=min(default_workers(), len(args.files))) as pool:
        for (path, reason), outcome in pool.imap(jobs()):
            if outcome is None or not outcome["ok"]:
                failed += 1
                record = {"source": str(path), "ok": False, "error": reason if outcome is None else outcome["reason"]}
            else:
                record = {"source": str(path), "ok": True, "letter": outcome["letter"]}
            sys.stdout.write(json.dumps(record) + "\n")
    return 1 if args.strict and failed else 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Exit 0; 1 with --strict and a rejected file; 2 for bad input, an --out that is not an
    ingest output or is being written by another ingest, or a failed write; 128 + the signal
    number when stopped by SIGINT (130) or SIGTERM (143), the previous output left as it was."""
    from features.contain import default_workers
    from features.corpus import ingest_to_dir

    def note(line: str) -> None:
        print(f"imr ingest: {line}", file=sys.stderr, flush=True)

    progress = {"on": True, "off": False, "auto": sys.stderr.isatty()}[args.progress]
    existed = (args.out / "report.json").exists()
    cores = default_workers()
    if args.workers and args.workers > cores:
        note(f"--workers {args.workers} capped at {cores} (the cores available)")
    try:
        with _stopped_by_signals():
            data = ingest_to_dir(
                args.paths,
                args.out,
                seed=args.seed,
                workers=args.workers,
                rebuild=args.rebuild,
                progress=progress,
                timeout_s=args.timeout,
                memory_mib=args.memory_limit,
                wait=args.wait,
                notify=note,
            )
    except (OSError, KeyboardInterrupt) as exc:
        kept = f"; the previous output in {args.out} is unchanged" if existed else ""
        if isinstance(exc, OSError):
            note(f"failed: {exc}{kept}")
            return 2
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
        note(f"{'terminated' if signum == signal.SIGTERM else 'interrupted'}{kept}")
        return 128 + signum
    for f in data["files"]:
        if f["status"] != "parsed":
            print(f"{f['status']}: {f['path']}: {f['reason']}", file=sys.stderr)
        for warning in f["warnings"]:
            print(f"warning: {f['path']}: {warning}", file=sys.stderr)
    run = data["run"]
    print(
        f"{data['total_files']} files: {data['parsed']} parsed, {data['rejected']} rejected, "
        f"{data['duplicate']} duplicate; {data['items']} items, {data['overturned']} overturned "
        f"({data['overturned'] / max(data['items'], 1):.1%}); {run['parsed_now']} parsed now, "
        f"{run['reused_outcomes']} known from the previous run, {run['seconds']:.1f} s with {run['workers']} workers"
    )
    for split, c in data["splits"].items():
        print(f"  {split:<10} {c['letters']:>4} letters {c['items']:>5} items {c['overturned']:>4} overturned")
    print(f"dataset: {args.out / 'dataset'}  parquet: {args.out / 'parquet'}  report: {args.out / 'report.json'}")
    return 1 if args.strict and data["rejected"] else 0


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM: unwinds like Ctrl-C, so every cleanup on the way runs."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise Stopped (SIGTERM would otherwise end the process at once and
    leave its temporary folder); a second signal during the cleanup that follows is ignored, so
    that cleanup cannot itself be cut short into a traceback."""
    if threading.current_thread() is not threading.main_thread():  # handlers can only be set there
        yield
        return

    def stop(signum: int, frame: object) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
