"""`imr` command line. Each subcommand imports its own heavy dependencies, so `imr parse`
never loads torch, datasets or mlflow."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imr", description="Forecast IMR outcomes from Final Determination Letters.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse letters (PDF or text) to JSON Lines on stdout")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--strict", action="store_true", help="exit 1 if any file is rejected")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("ingest", help="build the per-item dataset from files or folders of letters")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any file is rejected")
    p.set_defaults(func=cmd_ingest)

    from serving.cli import add_serving_commands
    from training.cli import add_train_command

    add_train_command(sub)
    add_serving_commands(sub)

    args = parser.parse_args(argv)
    return args.func(args)


def cmd_parse(args: argparse.Namespace) -> int:
    from features.ingest import parse_file

    failed = 0
    for path in args.files:
        letter, _, reason = parse_file(path)
        if letter is None:
            failed += 1
            record = {"source": str(path), "ok": False, "error": reason}
        else:
            record = {"source": str(path), "ok": True, "letter": letter.model_dump()}
        sys.stdout.write(json.dumps(record) + "\n")
    return 1 if args.strict and failed else 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from features.ingest import ingest, save_ingest

    dsd, data = ingest(args.paths, seed=args.seed)
    save_ingest(dsd, data, args.out)
    for f in data["files"]:
        if f["status"] != "parsed":
            print(f"{f['status']}: {f['path']}: {f['reason']}", file=sys.stderr)
    print(
        f"{data['total_files']} files: {data['parsed']} parsed, {data['rejected']} rejected, "
        f"{data['duplicate']} duplicate; {data['items']} items, {data['overturned']} overturned "
        f"({data['overturned'] / max(data['items'], 1):.1%})"
    )
    for split, c in data["splits"].items():
        print(f"  {split:<10} {c['letters']:>4} letters {c['items']:>5} items {c['overturned']:>4} overturned")
    print(f"dataset: {args.out / 'dataset'}  parquet: {args.out / 'parquet'}  report: {args.out / 'report.json'}")
    return 1 if args.strict and data["rejected"] else 0


if __name__ == "__main__":
    sys.exit(main())
