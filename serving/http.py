"""`imr serve`: the predict API over HTTP (FastAPI), thin over the same `Predictor` as `imr predict`.

    POST /v1/predict         {"items": [{"treatment": ..., ...}]} -> {"model", "predictions"}
    POST /v1/predict-letter  a letter (multipart `file`, or raw application/pdf / text/plain)
    GET  /health             200 {"status": "ready"}; 503 while the model loads or if it failed
    GET  /version            the model's name, version, run id, family, feature view, threshold, base rate
    GET  /docs, /openapi.json

The model loads once, in a background thread started by the lifespan, so /health answers 503
"loading" until it is ready. Bad input is a 4xx whose JSON body names the field, never a 500.
Only method, path, status, item count and latency are logged: never bodies, error details
(they may quote clinical text) or query strings.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from serving import http_evidence as evidence
from serving.http_batching import BatchingScorer, ScoringError
from serving.http_middleware import RequestLimitsAndLog
from serving.http_models import (
    LETTER_BODY,
    ErrorBody,
    Health,
    ModelInfo,
    ServeSettings,
    client_errors,
    error_response,
)
from serving.prediction import letter_rows

log = logging.getLogger("imr.serve")

LETTER_TYPES = ("application/pdf", "text/plain", "application/octet-stream")
ERRORS = {code: {"model": ErrorBody} for code in (413, 422, 503)}


class ModelState:
    """What the endpoints need: the predictor once loaded, or why not."""

    def __init__(self):
        self.predictor = None
        self.error: str | None = None
        self.scorer: BatchingScorer | None = None


def create_app(
    model_uri: str | None,
    backend: str | None = None,
    settings: ServeSettings | None = None,
    predictor=None,
    on_load_error: Callable[[str], None] | None = None,
) -> FastAPI:
    """The app for `model_uri` (or an already loaded `predictor`, for tests). `on_load_error` is
    called with the reason when loading fails (imr serve then stops the server)."""
    settings = settings or ServeSettings()
    state = ModelState()

    def load() -> None:
        from serving.predictor import load_predictor

        try:
            loaded = predictor or load_predictor(model_uri, backend)
        except Exception as exc:  # reported on /health; the message names the URI or file, no request data
            state.error = f"{type(exc).__name__}: {exc}"
            log.error("model %s failed to load: %s", model_uri, state.error)
            if on_load_error:
                on_load_error(state.error)
            return
        state.scorer.predictor = loaded
        state.predictor = loaded
        info = loaded.info()
        log.info(
            "model ready: %s v%s (%s, %s, threshold %.4f)",
            info["name"],
            info["version"],
            info["family"],
            info["feature_view"],
            info["threshold"],
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.scorer = BatchingScorer(None, settings.max_batch_items, settings.max_wait_ms)
        thread = threading.Thread(target=load, name="imr-load-model", daemon=True)
        thread.start()
        try:
            yield
        finally:
            await state.scorer.close()

    # FastAPI's native telemetry can record validation failures and exception messages, which
    # may quote clinical text; its log records are off (spans and metrics stay available).
    app = FastAPI(
        title="imr-outcome",
        version=_package_version(),
        lifespan=lifespan,
        telemetry={"logs": False},
        description="P(IMR overturns a UR denial) for disputed items of California workers' comp "
        "Final Determination Letters.",
    )
    app.add_middleware(
        RequestLimitsAndLog,
        max_body_bytes=settings.max_body_bytes,
        max_headers=settings.max_headers,
        max_header_bytes=settings.max_header_bytes,
        router=app.router,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)

    def ready_predictor():
        if state.predictor is None:
            status = "failed" if state.error else "loading"
            raise HTTPException(503, f"model {status}", headers={"Retry-After": "5"} if status == "loading" else None)
        return state.predictor

    async def score(request: Request, records: list[dict]) -> list[dict]:
        request.scope["imr.items"] = len(records)
        try:
            return await state.scorer.predict(records)
        except ScoringError as exc:
            raise HTTPException(500, str(exc)) from None

    @app.get("/health", response_model=Health, response_model_exclude_none=True, responses={503: {"model": Health}})
    def health():
        if state.predictor is not None:
            return {"status": "ready"}
        body = {"status": "failed", "error": state.error} if state.error else {"status": "loading"}
        return JSONResponse(body, status_code=503)

    @app.get("/version", response_model=ModelInfo, responses=ERRORS)
    def version():
        return ready_predictor().info()

    @app.post(
        "/v1/predict",
        response_model=evidence.ExplainedPredictResponse,
        response_model_exclude_unset=True,
        responses=ERRORS,
    )
    async def predict(body: evidence.ExplainablePredictRequest, request: Request):
        """Score disputed items; predictions come back in request order, each with its `id` when given."""
        if len(body.items) > settings.max_items:
            return error_response(
                ("body", "items"), f"too many items: {len(body.items)} (at most {settings.max_items})", "too_long"
            )
        if body.explain and len(body.items) > settings.max_explain_items:
            return error_response(
                ("body", "items"),
                f"too many items to explain: {len(body.items)} (at most "
                f"{settings.max_explain_items} with explain; send the rest without it)",
                "too_long",
            )
        predictor = ready_predictor()
        records = [item.model_dump(exclude={"id"}, exclude_unset=True) for item in body.items]
        rows = await score(request, records)
        if body.explain:
            rows = await evidence.explain(predictor, records, rows)
        predictions = [
            ({"id": item.id} if item.id is not None else {}) | row for item, row in zip(body.items, rows, strict=True)
        ]
        return {"model": predictor.info(), "predictions": predictions}

    @app.post(
        "/v1/predict-letter",
        response_model=evidence.ExplainedLetterResponse,
        response_model_exclude_unset=True,
        openapi_extra={"requestBody": LETTER_BODY},
        responses={**ERRORS, 415: {"model": ErrorBody}},
    )
    async def predict_letter(request: Request, explain_: str | None = Query(None, alias="explain")):
        """Parse an uploaded letter and score each disputed item with the model's own feature view
        (pre-decision by default: the letter's decisions and rationales are not read; each item's
        `letter_decision` is returned beside its prediction, never scored)."""
        data = await _letter_bytes(request)
        if isinstance(data, JSONResponse):
            return data
        predictor = ready_predictor()
        letter, reason = await run_in_threadpool(_parse_letter, data)
        if letter is None:
            return error_response(("body", "file"), reason, "letter_rejected")
        from features.dataset import item_rows

        items = item_rows(letter, letter.case_number or "upload", "upload")
        explain = evidence.wants_explanation(explain_)  # reasons and precedents (the letter itself excluded)
        if explain and len(items) > settings.max_explain_items:
            return error_response(
                ("query", "explain"),
                f"the letter has {len(items)} items, more than "
                f"{settings.max_explain_items} to explain; send it without explain",
                "too_long",
            )
        rows = await score(request, items)
        if explain:
            rows = await evidence.explain(predictor, items, rows)
        predictions = letter_rows(items, rows)
        return {"model": predictor.info(), "case_number": letter.case_number, "predictions": predictions}

    app.include_router(evidence.evidence_router(ready_predictor))
    return app


async def _letter_bytes(request: Request) -> bytes | JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return error_response(
                    ("body", "file"), "a multipart upload needs the letter in a file field named 'file'", "missing"
                )
            return await upload.read()
    if content_type in LETTER_TYPES:
        return await request.body()
    return error_response(
        ("header", "content-type"),
        f"send the letter as multipart/form-data (field 'file'), "
        f"application/pdf or text/plain, not {_named_media_type(content_type)}",
        "unsupported_media_type",
        status=415,
    )


_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,63}/[a-z0-9][a-z0-9.+-]{0,63}")


def _named_media_type(content_type: str) -> str:
    """The content type quoted in an error only when it is a plain media type: a header is client
    text too, and anything else in it is not repeated."""
    if not content_type:
        return "no content type"
    return repr(content_type) if _MEDIA_TYPE.fullmatch(content_type) else "that content type"


def _parse_letter(data: bytes):
    """(letter, None) or (None, reason): the same contained extraction and parser as `imr parse`
    (a worker process with time and memory limits, so a hostile PDF cannot take the server down)."""
    from features.contain import parse_contained

    return parse_contained(data)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 without `input`/`ctx`: never echo (or let anything log) the submitted text."""
    if isinstance(exc.body, bytes):  # FastAPI parses JSON only when the content type says JSON
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        return error_response(
            ("header", "content-type"),
            f"send the request as JSON with content-type application/json, not {_named_media_type(content_type)}",
            "unsupported_media_type",
            status=415,
        )
    errors = exc.errors()
    invalid = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if invalid is not None:  # FastAPI puts the character offset in loc and the parser's reason in ctx
        reason = (invalid.get("ctx") or {}).get("error", "invalid JSON")
        return error_response(
            ("body",), f"{invalid['msg']}: {reason} at character {invalid['loc'][-1]}", "json_invalid"
        )
    return JSONResponse({"detail": client_errors(errors)}, status_code=422)


async def _http_error(request: Request, exc: HTTPException):
    """FastAPI answers a body that `json.loads` refuses other than by a syntax error (an integer
    of more than 4,300 digits, nesting deeper than the recursion limit) with a 400 whose detail is
    a string; here it is a 422 in the same list shape as every other malformed body."""
    if exc.status_code == 400 and isinstance(exc.__cause__, (ValueError, RecursionError)):
        return error_response(
            ("body",),
            "the body could not be read as JSON: a number with too many digits or nesting too deep",
            "json_invalid",
        )
    return await http_exception_handler(request, exc)


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("imr-outcome")
    except PackageNotFoundError:
        return "0"
