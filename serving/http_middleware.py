"""ASGI middleware of `imr serve`: the request-body limit and the one log line per request."""

from __future__ import annotations

import json
import logging
import time
import traceback

from serving.http_models import error_detail

log = logging.getLogger("imr.serve")

# Logged by name; any other path is logged as "<other>" (a path is client text).
ROUTES = ("/v1/predict", "/v1/predict-letter", "/health", "/version", "/docs", "/docs/oauth2-redirect",
          "/openapi.json", "/redoc")


def log_exception_type(what: str, exc: BaseException) -> None:
    """Log an unexpected exception by type and traceback frames, never its message: messages
    (a pydantic error's above all) may quote the request's clinical text."""
    kind = type(exc)
    log.error("%s: %s.%s\n%s", what, kind.__module__, kind.__qualname__,
              "".join(traceback.format_tb(exc.__traceback__)).rstrip())


class RequestLimitsAndLog:
    """Pure ASGI middleware: refuses bodies over `max_body_bytes` with 413 (by Content-Length
    up front, or while reading a chunked body); turns an unexpected exception into a 500 logged
    by type only (so uvicorn never logs its message); and logs one line per request: method,
    path, status, item count, latency."""

    def __init__(self, app, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = [0]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            receive = await self._limited_body(scope, receive)
            if receive is None:
                await _send_json(send_status, 413, {"detail": [error_detail(
                    ("body",), f"request body is larger than {self.max_body_bytes} bytes", "too_large")]})
            else:
                await self.app(scope, receive, send_status)
        except Exception as exc:
            log_exception_type("request failed", exc)
            if not status[0]:  # else the response is cut short; uvicorn closes the connection
                await _send_json(send_status, 500, {"detail": "internal server error"})
        finally:
            path = scope["path"] if scope["path"] in ROUTES else "<other>"
            log.info("%s %s %s items=%s %.1fms", scope["method"], path, status[0] or "-", scope.get("imr.items", "-"),
                     (time.perf_counter() - start) * 1000)

    async def _limited_body(self, scope, receive):
        """A receive that replays the whole (bounded) body, or None when it is too large."""
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return receive
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _replay(message, receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return _replay({"type": "http.request", "body": b"".join(chunks), "more_body": False}, receive)


def _replay(first: dict, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay


async def _send_json(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": data})
