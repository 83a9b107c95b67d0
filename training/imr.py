"""The `imr` command: one dispatcher over every package's subcommands. It lives in training, the
one package that may import the other two (training -> serving's model contract -> features), so
every import from here points down. Subcommands import their heavy dependencies themselves, so
`imr parse` never loads torch, datasets or mlflow."""

from __future__ import annotations

import argparse
import sys

from features.cli import add_feature_commands
from features.errors import InputError
from serving.cli import add_serving_commands
from training.cli import add_train_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imr", description="Forecast IMR outcomes from Final Determination Letters.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_feature_commands(sub)
    add_train_command(sub)
    add_serving_commands(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:  # bad input is a one-line message, never a traceback
        print(f"imr {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
