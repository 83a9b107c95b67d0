"""`imr parse` and `imr ingest`. Each subcommand imports its own heavy dependencies, so `imr parse`
never loads torch, datasets or mlflow."""

from __future__ import annotations

import argparse
import json
import sys
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
    p.add_argument("--workers", type=_positive_int, default=None, help="parsing processes (default: all cores)")
    p.add_argument("--rebuild", action="store_true", help="parse every file again, even those already in --out")
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed per file (default 30)")
    p.add_argument(
        "--memory-limit",
        type=_positive_int,
        default=None,
        metavar="MIB",
        help="address space per worker in MiB (default 1024)",
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
    from features.corpus import ingest_to_dir

    progress = {"on": True, "off": False, "auto": sys.stderr.isatty()}[args.progress]
    existed = (args.out / "report.json").exists()
    try:
        data = ingest_to_dir(
            args.paths,
            args.out,
            seed=args.seed,
            workers=args.workers,
            rebuild=args.rebuild,
            progress=progress,
            timeout_s=args.timeout,
            memory_mib=args.memory_limit,
        )
    except (OSError, KeyboardInterrupt) as exc:
        kept = f"; the previous output in {args.out} is unchanged" if existed else ""
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"failed: {exc}"
        print(f"imr ingest: {what}{kept}", file=sys.stderr)
        return 2 if isinstance(exc, OSError) else 130
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
