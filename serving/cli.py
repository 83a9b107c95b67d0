"""`imr predict`: score requests (JSON Lines or CSV) or the disputed items of whole letters.
`imr serve`: the same over HTTP (serving/http.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from serving.cli_search import add_search_command


def add_serving_commands(sub) -> None:
    p = sub.add_parser("predict", help="score requests or letters with a registered model")
    p.add_argument(
        "--model", required=True, help="models:/NAME/VERSION, models:/NAME@ALIAS, runs:/ID/model or a folder"
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", type=Path, help="requests as .jsonl or .csv (treatment required)")
    src.add_argument("--letters", type=Path, nargs="+", help="letters (PDF or text) whose items to score")
    p.add_argument("--output", type=Path, default=Path("-"), help="JSON Lines output (default: stdout)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any input line or letter is invalid")
    p.add_argument("--backend", choices=["torch", "onnx"], help="transformer runtime (default torch; onnx = int8)")
    p.add_argument(
        "--explain",
        action="store_true",
        help="add each prediction's reasons, its most similar decided items (precedents) and the criteria "
        "reviewers cite for its treatment category (criteria: how often in Upheld and Overturned items, and "
        "whether the request's case summary documents each)",
    )
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("serve", help="serve a registered model over HTTP (FastAPI + uvicorn)")
    p.add_argument(
        "--model", required=True, help="models:/NAME/VERSION, models:/NAME@ALIAS, runs:/ID/model or a folder"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--backend", choices=["torch", "onnx"], help="transformer runtime (default torch; onnx = int8)")
    p.add_argument(
        "--max-items", type=int, help="most items per /v1/predict request (env IMR_SERVE_MAX_ITEMS, default 256)"
    )
    p.add_argument(
        "--max-explain-items",
        type=int,
        help="most items per request with explain (env IMR_SERVE_MAX_EXPLAIN_ITEMS, default 16)",
    )
    p.add_argument(
        "--max-body-bytes", type=int, help="largest request body in bytes (env IMR_SERVE_MAX_BODY_BYTES, default 5 MiB)"
    )
    p.add_argument(
        "--max-batch-items",
        type=int,
        help="score concurrent requests together up to this many items (env IMR_SERVE_MAX_BATCH_ITEMS, "
        "default 64; 1 = one request at a time)",
    )
    p.add_argument(
        "--max-wait-ms",
        type=float,
        help="a busy server waits up to this long to fill a batch (env IMR_SERVE_MAX_WAIT_MS, default 2; 0 = never)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        dest="header_timeout_s",
        help="seconds for a request's headers to arrive, else 408 (env IMR_SERVE_HEADER_TIMEOUT_S, default 10)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        dest="body_timeout_s",
        help="seconds for a body to arrive after its headers, else 408 (env IMR_SERVE_BODY_TIMEOUT_S, default 30)",
    )
    p.add_argument(
        "--max-header-bytes",
        type=int,
        help="largest header section, else 431 (env IMR_SERVE_MAX_HEADER_BYTES, default 32768)",
    )
    p.add_argument(
        "--max-headers",
        type=int,
        help="most header fields in a request, else 431 (env IMR_SERVE_MAX_HEADERS, default 100)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        help="open connections beyond which requests get 503 (env IMR_SERVE_MAX_CONNECTIONS, default 512)",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="info logs one line per request: method, path, status, item count, latency (default info)",
    )
    p.add_argument("--access-log", action="store_true", help="also write uvicorn's access log")
    p.add_argument(
        "--http",
        default="auto",
        choices=["auto", "h11", "httptools"],
        help="uvicorn HTTP parser (auto: httptools when installed)",
    )
    p.add_argument(
        "--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="event loop (auto: uvloop when installed)"
    )
    p.set_defaults(func=cmd_serve)
    add_search_command(sub)


def validation_message(exc: ValidationError) -> str:
    return "; ".join(f"field '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in exc.errors())


def score_requests(predictor, path: Path, explain: bool = False) -> tuple[list[dict], int]:
    """Output rows in input order; invalid lines become error rows and are counted. Each line is
    validated as /v1/predict validates an item (serving.request_files)."""
    from serving.request_files import read_requests, validate_request

    rows: list[dict] = []
    valid: list[tuple[int, dict]] = []
    for number, record, error in read_requests(path):
        fields, id_ = None, None
        if record is not None:
            fields, id_, error = validate_request(record)
        row = {"line": number} | ({"id": id_} if id_ is not None else {})
        if error:
            row["error"] = error
            print(f"{path}:{number}: {error}", file=sys.stderr)
        else:
            valid.append((len(rows), fields))
        rows.append(row)
    predictions = predictor.predict([fields for _, fields in valid], explain=explain)
    for (index, _), prediction in zip(valid, predictions, strict=True):
        rows[index].update(prediction)
    return rows, len(rows) - len(valid)


def score_letters(predictor, paths: list[Path], explain: bool = False) -> tuple[list[dict], int]:
    from features.dataset import item_rows
    from features.ingest import expand_paths, parse_file
    from serving.prediction import letter_rows

    rows: list[dict] = []
    failed = 0
    for path in expand_paths(paths):
        letter, _, reason = parse_file(path)
        if letter is None:
            failed += 1
            print(f"{path}: rejected: {reason}", file=sys.stderr)
            rows.append({"source": str(path), "error": reason})
            continue
        items = item_rows(letter, letter.case_number or str(path), str(path))
        predictions = predictor.predict(items, explain=explain)
        rows.extend({"source": str(path), **row} for row in letter_rows(items, predictions))
    return rows, failed


def cmd_predict(args: argparse.Namespace) -> int:
    from features.errors import InputError
    from serving.model_dir import ModelIntegrityError
    from serving.predictor import ModelNotFoundError, load_predictor

    try:
        predictor = load_predictor(args.model, args.backend)
        if args.input:
            rows, failed = score_requests(predictor, args.input, args.explain)
        else:
            rows, failed = score_letters(predictor, args.letters, args.explain)
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
    return 1 if args.strict and failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the model once (in the app's lifespan) and serve until interrupted; exit 2 if it cannot load."""
    import copy

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from serving.http import create_app
    from serving.http_models import ServeSettings
    from serving.http_protocol import uvicorn_options

    names = (
        "max_items",
        "max_explain_items",
        "max_body_bytes",
        "max_batch_items",
        "max_wait_ms",
        "header_timeout_s",
        "body_timeout_s",
        "max_header_bytes",
        "max_headers",
        "max_connections",
    )
    flags = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    try:
        settings = ServeSettings(**flags)
    except ValidationError as exc:
        print(f"imr serve: {validation_message(exc)}", file=sys.stderr)
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
