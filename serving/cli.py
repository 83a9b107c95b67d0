"""`imr predict`: score requests (JSON Lines or CSV) or the disputed items of whole letters.
`imr serve`: the same over HTTP (serving/http.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from serving.cli_search import add_search_command
from serving.field_limits import DEFAULT_FACTOR

MODEL_HELP = "models:/NAME/VERSION, models:/NAME@ALIAS, runs:/ID/model or a folder"
BACKEND_HELP = "transformer runtime (default torch; onnx = int8)"
FACTOR_HELP = (
    "refuse a text field longer than this many times the longest of that field in the model's training letters "
    "(or than this many times 1,000 characters, if more)"
)
# imr serve's limits: (flag, ServeSettings field, type, help). Each flag's default is the field's
# and its environment variable IMR_SERVE_ and the field's name in capitals.
SERVE_LIMITS = (
    ("--max-items", "max_items", int, "most items per /v1/predict request"),
    ("--max-explain-items", "max_explain_items", int, "most items per request with explain"),
    ("--max-body-bytes", "max_body_bytes", int, "largest request body in bytes, else 413"),
    ("--field-length-factor", "field_length_factor", float, FACTOR_HELP),
    ("--max-batch-items", "max_batch_items", int, "score concurrent requests together up to this many items"),
    ("--max-wait-ms", "max_wait_ms", float, "a busy server waits up to this long to fill a batch (0 = never)"),
    ("--header-timeout", "header_timeout_s", float, "seconds for a request's headers to arrive, else 408"),
    ("--body-timeout", "body_timeout_s", float, "seconds for a body to arrive after its headers, else 408"),
    ("--max-header-bytes", "max_header_bytes", int, "largest header section, else 431"),
    ("--max-headers", "max_headers", int, "most header fields in a request, else 431"),
    ("--max-connections", "max_connections", int, "open connections beyond which requests get 503"),
    ("--max-letters-per-client", "max_letters_per_client", int, "letters in progress per client address, else 429"),
    ("--max-letter-queue", "max_letter_queue", int, "letters waiting or being read, all clients, else 503"),
    (
        "--letter-penalty",
        "letter_penalty_s",
        float,
        "seconds a client's letters are refused (429) after one no worker could finish, doubling each time; 0 = off",
    ),
)


def add_serving_commands(sub) -> None:
    _add_predict_command(sub)
    _add_serve_command(sub)
    add_search_command(sub)


def _add_predict_command(sub) -> None:
    p = sub.add_parser("predict", help="score requests or letters with a registered model")
    p.add_argument("--model", required=True, help=MODEL_HELP)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", type=Path, help="requests as .jsonl or .csv (treatment required)")
    src.add_argument("--letters", type=Path, nargs="+", help="letters (PDF or text) whose items to score")
    p.add_argument("--output", type=Path, default=Path("-"), help="JSON Lines output (default: stdout)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any input line or letter is invalid")
    p.add_argument("--backend", choices=["torch", "onnx"], help=BACKEND_HELP)
    p.add_argument(
        "--field-length-factor",
        type=_factor,
        default=DEFAULT_FACTOR,
        metavar="N",
        help=f"{FACTOR_HELP} (default {DEFAULT_FACTOR:g})",
    )
    p.add_argument(
        "--threshold",
        type=_probability,
        metavar="P",
        help="only if you want a yes/no: add predicted_decision, Overturned at or above probability P (0-1); "
        "without it each row has the probability, the base rate, its band and the answer in words, and no decision",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="add each prediction's reasons, its most similar decided items (precedents) and the criteria "
        "reviewers cite for its treatment category (criteria: how often in Upheld and Overturned items, and "
        "whether the request's case summary documents each)",
    )
    p.set_defaults(func=cmd_predict)


def _add_serve_command(sub) -> None:
    from serving.serve_settings import ServeSettings

    p = sub.add_parser("serve", help="serve a registered model over HTTP (FastAPI + uvicorn)")
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--backend", choices=["torch", "onnx"], help=BACKEND_HELP)
    where = p.add_argument_group("address")
    where.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    where.add_argument("--port", type=_port, default=8000, help="port, 0-65535 (default 8000)")
    where.add_argument(
        "--allowed-host",
        action="append",
        dest="allowed_hosts",
        metavar="NAME",
        help="also answer requests whose Host header names NAME (repeatable; `*.example.org`, or `*` for any); "
        "localhost, 127.0.0.1, ::1 and --host always are, anything else is 400 (env IMR_SERVE_ALLOWED_HOSTS, "
        "comma-separated)",
    )
    limits = p.add_argument_group("limits (flag, else the environment, else the default)")
    for flag, name, kind, text in SERVE_LIMITS:
        default = ServeSettings.model_fields[name].default
        # `:g` keeps a float default short (10, not 10.0) but writes a large int as 5.24288e+06
        shown = f"{default:,}" if kind is int else f"{default:g}"
        limits.add_argument(flag, type=kind, dest=name, help=f"{text} (env IMR_SERVE_{name.upper()}, default {shown})")
    output = p.add_argument_group("logging and runtime")
    output.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="info logs one line per request: method, path, status, item count, latency (default info)",
    )
    output.add_argument("--access-log", action="store_true", help="also write uvicorn's access log")
    output.add_argument(
        "--http", default="auto", choices=["auto", "h11", "httptools"], help="uvicorn HTTP parser (auto: httptools)"
    )
    output.add_argument(
        "--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="event loop (auto: uvloop when installed)"
    )
    p.set_defaults(func=cmd_serve)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0-65535)")
    return value


def _number_in(low: float, high: float, what: str):
    """An argparse type: a number from low to high, refused with the range it is outside of."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:  # NaN is in no range
            raise argparse.ArgumentTypeError(f"{text} is {what}")
        return value

    return parse


_probability = _number_in(0, 1, "not a probability (0-1)")
_factor = _number_in(1, 1000, "outside 1-1000")


def score_requests(
    predictor, path: Path, explain: bool = False, factor: float = DEFAULT_FACTOR, threshold: float | None = None
) -> tuple[list[dict], int]:
    """Output rows in input order; invalid lines become error rows and are counted. Each line is
    validated as /v1/predict validates an item (serving.request_files), its text fields within
    `factor` times the longest of the model's training letters (serving/field_limits.py)."""
    from serving.field_limits import FieldLimits
    from serving.request_files import read_requests, validate_request

    limits = FieldLimits.of(predictor, factor)
    rows: list[dict] = []
    valid: list[tuple[int, dict]] = []
    for number, record, error in read_requests(path):
        fields, id_ = None, None
        if record is not None:
            fields, id_, error = validate_request(record, limits)
        row = {"line": number} | ({"id": id_} if id_ is not None else {})
        if error:
            row["error"] = error
            print(f"{path}:{number}: {error}", file=sys.stderr)
        else:
            valid.append((len(rows), fields))
        rows.append(row)
    predictions = predictor.predict([fields for _, fields in valid], explain=explain, threshold=threshold)
    for (index, _), prediction in zip(valid, predictions, strict=True):
        rows[index].update(prediction)
    return rows, len(rows) - len(valid)


def score_letters(
    predictor, paths: list[Path], explain: bool = False, factor: float = DEFAULT_FACTOR, threshold: float | None = None
) -> tuple[list[dict], int]:
    """Rows of each letter's items in input order; a letter the parser rejects, or whose text
    fields are longer than the model accepts (serving/field_limits.py), is one error row."""
    from features.dataset import item_rows
    from features.ingest import expand_paths, parse_file
    from serving.field_limits import FieldLimits
    from serving.prediction import letter_rows

    limits = FieldLimits.of(predictor, factor)
    rows: list[dict] = []
    failed = 0
    for path in expand_paths(paths):
        letter, _, reason = parse_file(path)
        items = item_rows(letter, letter.case_number or str(path), str(path)) if letter is not None else []
        too_long = {name: msg for item in items for name, msg in limits.problems(item)}
        if too_long:
            reason = "; ".join(f"{name}: {msg}" for name, msg in too_long.items())
        if letter is None or too_long:
            failed += 1
            print(f"{path}: rejected: {reason}", file=sys.stderr)
            rows.append({"source": str(path), "error": reason})
            continue
        predictions = predictor.predict(items, explain=explain, threshold=threshold)
        rows.extend({"source": str(path), **row} for row in letter_rows(items, predictions))
    return rows, failed


def cmd_predict(args: argparse.Namespace) -> int:
    from features.errors import InputError
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import ModelNotFoundError, load_predictor

    try:
        predictor = load_predictor(args.model, args.backend, evidence=args.explain)
        options = (args.explain, args.field_length_factor, args.threshold)
        if args.input:
            rows, failed = score_requests(predictor, args.input, *options)
        else:
            rows, failed = score_letters(predictor, args.letters, *options)
    except (ModelNotFoundError, ModelIntegrityError, InputError) as exc:
        print(f"imr predict: {exc}", file=sys.stderr)
        return 2
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if str(args.output) == "-":
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    print(
        f"scored {len(rows) - failed} of {len(rows)} with {predictor.model_name} v{predictor.model_version}",
        file=sys.stderr,
    )
    trust = predictor.info()["trust"]
    if trust:
        print(f"how far to trust it: {trust}", file=sys.stderr)
    return 1 if args.strict and failed else 0


def _serve_settings(args: argparse.Namespace):
    """ServeSettings from the flags given, else the environment; None (and the reason, naming the
    flag and its variable, on stderr) when a value is out of range."""
    from serving.serve_settings import ServeSettings

    flags = {name: getattr(args, name) for _, name, _, _ in SERVE_LIMITS if getattr(args, name) is not None}
    if args.allowed_hosts:
        flags["allowed_hosts"] = args.allowed_hosts
    try:
        settings = ServeSettings(**flags)
    except ValidationError as exc:
        names = {name: flag for flag, name, _, _ in SERVE_LIMITS} | {"allowed_hosts": "--allowed-host"}
        problems = "; ".join(
            f"{names.get(str(e['loc'][0]), e['loc'][0])} (env IMR_SERVE_{str(e['loc'][0]).upper()}): {e['msg']}"
            for e in exc.errors()
        )
        print(f"imr serve: {problems}", file=sys.stderr)
        return None
    # the address it binds is a name clients may use too
    return settings.model_copy(update={"allowed_hosts": [*settings.allowed_hosts, args.host]})


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the model once (in the app's lifespan) and serve until interrupted; exit 2 if it cannot load."""
    import copy

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from serving.http import create_app
    from serving.http_protocol import uvicorn_options

    settings = _serve_settings(args)
    if settings is None:
        return 2
    failed: list[str] = []

    def stop(reason: str) -> None:
        failed.append(reason)
        server.should_exit = True

    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"]["imr.serve"] = {"handlers": ["default"], "level": args.log_level.upper(), "propagate": False}
    app = create_app(args.model, args.backend, settings, on_load_error=stop)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=log_config,
        access_log=args.access_log,
        loop=args.loop,
        **uvicorn_options(settings, args.http),
    )
    server = uvicorn.Server(config)
    server.run()
    if failed:
        print(f"imr serve: model {args.model!r} not loaded: {failed[0]}", file=sys.stderr)
        return 2
    return 0
