"""`imr serve`: the predict API over HTTP (FastAPI), thin over the same `Predictor` as `imr predict`.

    POST /v1/predict         {"items": [{"treatment": ..., ...}]} -> {"model", "predictions"}
    POST /v1/predict-letter  a letter (multipart `file`, or raw application/pdf / text/plain)
    GET  /health             200 {"status": "ready"}; 503 while the model loads or if it failed
    GET  /version            the model's name, version, run id, family, feature view, threshold, base rate
    GET  /docs, /redoc, /openapi.json   (their assets served from the fastapi-offline package, no CDN)

The model loads once, in a background thread started by the lifespan, so /health answers 503
"loading" until it is ready. Bad input is a 4xx whose JSON body names the field, never a 500.
Only method, path, status, item count and latency are logged: never bodies, error details
(they may quote clinical text) or query strings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from serving import http_evidence as evidence
from serving.field_limits import FieldLimits
from serving.http_batching import BatchingScorer, ScoringError
from serving.http_letters import LetterGate, LetterReader, Refusal, client_address, letter_bytes, named_media_type
from serving.http_middleware import LOOPBACK_HOSTS, RequestLimitsAndLog, TrustedHosts
from serving.http_models import (
    LETTER_BODY,
    ErrorBody,
    Health,
    ModelInfo,
    client_errors,
    error_detail,
    error_response,
)
from serving.prediction import letter_rows
from serving.serve_settings import ServeSettings

log = logging.getLogger("imr.serve")

ERRORS = {code: {"model": ErrorBody} for code in (400, 413, 422, 503)}
# Where an HTTPException's one message goes in the error list (what the client got wrong) and its type.
_HTTP_ERRORS = {
    400: (("body",), "body_invalid"),  # Starlette: a multipart body it cannot read, or too many files or fields
    404: (("path",), "not_found"),
    405: (("method",), "method_not_allowed"),
    500: (("server",), "internal_error"),  # the model failed on a valid request (serving.http_batching)
    503: (("model",), "unavailable"),
}


class ModelState:
    """What the endpoints need: the predictor once loaded (with its request-field limits), or why not."""

    def __init__(self):
        self.predictor = None
        self.error: str | None = None
        self.scorer: BatchingScorer | None = None
        self.limits: FieldLimits | None = None
        self.letters: LetterReader | None = None


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
    load = _loader(state, settings, model_uri, backend, predictor, on_load_error)
    # /docs and /redoc with Swagger UI's and ReDoc's files served from the fastapi-offline package,
    # not a CDN. FastAPI's native telemetry can record validation failures and exception messages,
    # which may quote clinical text; its log records are off (spans and metrics stay available).
    app = FastAPIOffline(
        title="imr-outcome",
        version=_package_version(),
        lifespan=_lifespan(state, settings, load),
        telemetry={"logs": False},
        description="P(IMR overturns a UR denial) for disputed items of California workers' comp "
        "Final Determination Letters.",
    )
    app.add_middleware(TrustedHosts, allowed=[*LOOPBACK_HOSTS, *settings.allowed_hosts])
    app.add_middleware(  # added last, so outermost: it logs the Host check's refusals too
        RequestLimitsAndLog,
        max_body_bytes=settings.max_body_bytes,
        max_headers=settings.max_headers,
        max_header_bytes=settings.max_header_bytes,
        router=app.router,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    ready = _ready_predictor(state)
    _add_status_routes(app, state, ready)
    _add_predict_route(app, state, settings, ready)
    _add_letter_route(app, state, settings, ready)
    app.include_router(evidence.evidence_router(ready))
    return app


def _loader(state: ModelState, settings: ServeSettings, model_uri, backend, predictor, on_load_error):
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
        state.limits = FieldLimits.of(loaded, settings.field_length_factor)
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

    return load


def _lifespan(state: ModelState, settings: ServeSettings, load: Callable[[], None]):
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.scorer = BatchingScorer(None, settings.max_batch_items, settings.max_wait_ms)
        gate = LetterGate(settings.max_letters_per_client, settings.max_letter_queue, settings.letter_penalty_s)
        state.letters = LetterReader(gate)
        thread = threading.Thread(target=load, name="imr-load-model", daemon=True)
        thread.start()
        try:
            yield
        finally:
            await state.scorer.close()
            state.letters.close()

    return lifespan


def _ready_predictor(state: ModelState) -> Callable[[], object]:
    def ready_predictor():
        if state.predictor is None:
            status = "failed" if state.error else "loading"
            raise HTTPException(503, f"model {status}", headers={"Retry-After": "5"} if status == "loading" else None)
        return state.predictor

    return ready_predictor


async def _score(state: ModelState, request: Request, records: list[dict]) -> list[dict]:
    request.scope["imr.items"] = len(records)
    try:
        return await state.scorer.predict(records)
    except ScoringError as exc:
        raise HTTPException(500, str(exc)) from None


def _add_status_routes(app: FastAPI, state: ModelState, ready_predictor) -> None:
    @app.get("/health", response_model=Health, response_model_exclude_none=True, responses={503: {"model": Health}})
    def health():
        if state.predictor is not None:
            return {"status": "ready"}
        body = {"status": "failed", "error": state.error} if state.error else {"status": "loading"}
        return JSONResponse(body, status_code=503)

    @app.get("/version", response_model=ModelInfo, responses=ERRORS)
    def version():
        return ready_predictor().info()


def _add_predict_route(app: FastAPI, state: ModelState, settings: ServeSettings, ready_predictor) -> None:
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
        too_long = [
            error_detail(("body", "items", index, name), msg, "string_too_long")
            for index, record in enumerate(records)
            for name, msg in state.limits.problems(record)
        ]
        if too_long:
            return JSONResponse({"detail": too_long}, status_code=422)
        rows = await _score(state, request, records)
        if body.explain:
            rows = await evidence.explain(predictor, records, rows)
        predictions = [
            ({"id": item.id} if item.id is not None else {}) | row for item, row in zip(body.items, rows, strict=True)
        ]
        return {"model": predictor.info(), "predictions": predictions}


def _add_letter_route(app: FastAPI, state: ModelState, settings: ServeSettings, ready_predictor) -> None:
    @app.post(
        "/v1/predict-letter",
        response_model=evidence.ExplainedLetterResponse,
        response_model_exclude_unset=True,
        openapi_extra={"requestBody": LETTER_BODY},
        responses={**ERRORS, 415: {"model": ErrorBody}, 429: {"model": ErrorBody}},
    )
    async def predict_letter(request: Request, explain_: str | None = Query(None, alias="explain")):
        """Parse an uploaded letter and score each disputed item with the model's own feature view
        (pre-decision by default: the letter's decisions and rationales are not read; each item's
        `letter_decision` is returned beside its prediction, never scored). Each client address has
        at most `max_letters_per_client` letters in progress (429), all clients together
        `max_letter_queue` (503)."""
        data = await letter_bytes(request)
        if isinstance(data, JSONResponse):
            return data
        predictor = ready_predictor()
        parsed = await state.letters.parse(client_address(request), data)
        if isinstance(parsed, Refusal):
            return parsed.response()
        letter, reason = parsed
        if letter is None:
            return error_response(("body", "file"), reason, "letter_rejected")
        from features.dataset import item_rows

        items = item_rows(letter, letter.case_number or "upload", "upload")
        too_long = {name: msg for item in items for name, msg in state.limits.problems(item)}
        if too_long:
            details = [error_detail(("body", "file"), f"{n}: {m}", "letter_too_long") for n, m in too_long.items()]
            return JSONResponse({"detail": details}, status_code=422)
        explain = evidence.wants_explanation(explain_)  # reasons and precedents (the letter itself excluded)
        if explain and len(items) > settings.max_explain_items:
            return error_response(
                ("query", "explain"),
                f"the letter has {len(items)} items, more than "
                f"{settings.max_explain_items} to explain; send it without explain",
                "too_long",
            )
        rows = await _score(state, request, items)
        if explain:
            rows = await evidence.explain(predictor, items, rows)
        predictions = letter_rows(items, rows)
        return {"model": predictor.info(), "case_number": letter.case_number, "predictions": predictions}


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 without `input`/`ctx`: never echo (or let anything log) the submitted text."""
    if isinstance(exc.body, bytes):  # FastAPI parses JSON only when the content type says JSON
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        return error_response(
            ("header", "content-type"),
            f"send the request as JSON with content-type application/json, not {named_media_type(content_type)}",
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
    """Every HTTP error in the one documented shape, `{"detail": [{"loc", "field", "msg", "type"}]}`
    (Starlette's own are `{"detail": "string"}`: a 404, a 405, a multipart body it cannot read).
    A body that `json.loads` refuses other than by a syntax error (bytes that are not UTF-8, an
    integer of more than 4,300 digits, nesting deeper than the recursion limit) is a 422, as every
    other malformed body."""
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError):
        return error_response(
            ("body",), f"the body is not UTF-8 text ({cause.reason} at byte {cause.start + 1})", "json_invalid"
        )
    if exc.status_code == 400 and isinstance(cause, (ValueError, RecursionError)):
        return error_response(
            ("body",),
            "the body could not be read as JSON: a number with too many digits or nesting too deep",
            "json_invalid",
        )
    if not isinstance(exc.detail, str):
        return await http_exception_handler(request, exc)
    phrase = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    loc, kind = _HTTP_ERRORS.get(exc.status_code, (("request",), phrase))
    response = error_response(loc, exc.detail, kind, exc.status_code)
    response.headers.update(exc.headers or {})
    return response


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("imr-outcome")
    except PackageNotFoundError:
        return "0"
