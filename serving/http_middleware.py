"""ASGI middleware of `imr serve`: the header and request-body limits, the one log line per
request, and the Host check (the connection-level limits are in serving/http_protocol.py)."""

from __future__ import annotations

import fnmatch
import json
import logging
import time
import traceback
from collections.abc import Iterable

from serving.http_models import error_detail

log = logging.getLogger("imr.serve")

# Host names every server answers for; `--allowed-host` adds more, and the address it binds.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
GONE = object()  # the client left before its body arrived: nothing to answer
OTHER = "<other>"  # how a path that matches no route is logged: the raw path is client text


def log_exception_type(what: str, exc: BaseException) -> None:
    """Log an unexpected exception by type and traceback frames, never its message: messages
    (a pydantic error's above all) may quote the request's clinical text."""
    kind = type(exc)
    log.error(
        "%s: %s.%s\n%s",
        what,
        kind.__module__,
        kind.__qualname__,
        "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
    )


class RequestLimitsAndLog:
    """Pure ASGI middleware: refuses more than `max_headers` header fields, or more than
    `max_header_bytes` of them, with 431, and bodies over `max_body_bytes` with 413 (by
    Content-Length up front, or while reading a chunked body); stops quietly when the client
    leaves (or is dropped at its body deadline) before its body has arrived; turns an unexpected
    exception into a 500 logged by type only (so uvicorn never logs its message); and logs one
    line per request: method, route template, status, item count, latency."""

    def __init__(
        self, app, max_body_bytes: int, max_headers: int = 100, max_header_bytes: int = 32 * 1024, router=None
    ):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_headers = max_headers
        # Also bounded as the bytes arrive (serving/http_protocol.py), but headers that arrive in
        # one read are parsed whole before that check: they are measured again here.
        self.max_header_bytes = max_header_bytes
        self.router = router  # the app's router: each request is logged by the template of the route it matched

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
            refused = self._header_error(scope["headers"])
            if refused:
                await _send_json(send_status, 431, {"detail": [refused]})
                return
            receive = await self._limited_body(scope, receive)
            if receive is None:
                await _send_json(
                    send_status,
                    413,
                    {
                        "detail": [
                            error_detail(
                                ("body",), f"request body is larger than {self.max_body_bytes} bytes", "too_large"
                            )
                        ]
                    },
                )
            elif receive is not GONE:
                await self.app(scope, receive, send_status)
        except Exception as exc:
            log_exception_type("request failed", exc)
            if not status[0]:  # else the response is cut short; uvicorn closes the connection
                await _send_json(
                    send_status, 500, {"detail": [error_detail(("server",), "internal server error", "internal_error")]}
                )
        finally:
            log.info(
                "%s %s %s items=%s %.1fms",
                scope["method"],
                self.route_template(scope),
                status[0] or "-",
                scope.get("imr.items", "-"),
                (time.perf_counter() - start) * 1000,
            )

    def _header_error(self, headers) -> dict | None:
        if len(headers) > self.max_headers:
            return error_detail(("header",), f"more than {self.max_headers} header fields", "too_many_headers")
        if sum(len(name) + len(value) for name, value in headers) > self.max_header_bytes:
            return error_detail(
                ("header",), f"request headers are larger than {self.max_header_bytes} bytes", "header_too_large"
            )
        return None

    def route_template(self, scope) -> str:
        """The matched route's path template ("/v1/predict", "/items/{id}"), from the app's own
        router, so a new route is logged by name with no list kept by hand; "<other>" when none
        matches. FastAPI records the route it matched in the scope; routes it does not record
        (Starlette's, such as /docs) are matched here again, on a copy of the scope."""
        route = scope.get("route")
        if route is None and self.router is not None:
            from starlette.routing import Match

            probe = dict(scope)
            route = next((r for r in self.router.routes if r.matches(probe)[0] != Match.NONE), None)
        return getattr(route, "path_format", None) or OTHER

    async def _limited_body(self, scope, receive):
        """A receive that replays the whole (bounded) body, None when it is too large, or GONE
        when the client disconnected before sending all of it."""
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return receive
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return GONE
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
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class TrustedHosts:
    """Pure ASGI middleware: a request whose Host header names none of `allowed` is a 400 in the
    service's error shape. The service has no authentication and listens on loopback, so without
    this a web page elsewhere could reach it from the user's browser by pointing its own name at
    127.0.0.1 (DNS rebinding); the browser then sends that name as the Host. A pattern is a name,
    `*.example.org` (any name under it) or `*` (any: the check is off). The rejected name is not
    repeated (a header is client text)."""

    def __init__(self, app, allowed: Iterable[str]):
        self.app = app
        self.patterns = sorted({_host_name(name) for name in allowed})

    def allows(self, host: str) -> bool:
        return any(host == p or (p.startswith("*") and fnmatch.fnmatchcase(host, p)) for p in self.patterns)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"host"), "")
        if self.allows(_host_name(host)):
            return await self.app(scope, receive, send)
        await _send_json(
            send,
            400,
            {
                "detail": [
                    error_detail(
                        ("header", "host"),
                        "the Host header names no host this server answers for (loopback names and "
                        "those given with --allowed-host)"
                        if host
                        else "the request has no Host header",
                        "host_not_allowed",
                    )
                ]
            },
        )


def _host_name(host: str) -> str:
    """The name in a Host header or an --allowed-host value, lower case, without port, brackets
    or a trailing dot: "[::1]:8000" -> "::1", "LocalHost.:80" -> "localhost"."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")
