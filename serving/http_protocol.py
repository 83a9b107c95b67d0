"""The connection-level limits of `imr serve`, which uvicorn does not have and no ASGI middleware
can add (the app is called only once a request's headers have arrived):

- a header deadline: a request's headers must arrive within `header_timeout_s` of its first
  byte (or of the connection opening), else 408 and close. uvicorn resets its keep-alive timer
  on every byte, so a client sending one byte every 2 s was held forever;
- a body deadline: the body must arrive within `body_timeout_s` of the headers, else 408 (when
  no response has started) and close;
- a bound on the header section: more than `max_header_bytes` before the headers end is 431 and
  close, counted as bytes arrive (httptools would otherwise buffer a 1 MB header whole).

The number of headers is bounded in serving/http_middleware.py, and the number of connections
by uvicorn's own `limit_concurrency` (503 beyond it); `uvicorn_options` wires all of them.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus

from serving.http_models import error_detail
from serving.serve_settings import ServeSettings


def uvicorn_options(settings: ServeSettings, http: str = "auto") -> dict:
    """The keyword arguments of `uvicorn.Config` that apply `settings`' connection limits."""
    return {
        "http": limited_protocol(http, settings),
        "limit_concurrency": settings.max_connections,
        # h11 (--http h11) refuses a larger header section itself, with a 400
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }


def limited_protocol(http: str, settings: ServeSettings) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol class for `http` (auto, h11, httptools) with the limits above."""
    if http == "h11":
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    elif http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    elif http == "auto":
        from uvicorn.protocols.http.auto import AutoHTTPProtocol as base
    else:
        raise ValueError(f"unknown HTTP implementation {http!r}; expected auto, h11 or httptools")
    return type(f"Limited{base.__name__}", (ReadLimits, base), {"settings": settings})


def raw_response(status: int, loc: tuple, msg: str, type_: str) -> bytes:
    """A whole JSON error response that closes the connection, in the service's error shape."""
    body = json.dumps({"detail": [error_detail(loc, msg, type_)]}).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class ReadLimits:
    """Mixed in before a uvicorn protocol class; uses only what both of uvicorn's HTTP/1.1
    protocols share: `cycle` (the request being handled: `more_body`, `response_started`,
    `response_complete`), `transport`, `loop` and `send_400_response`."""

    settings: ServeSettings

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for = ""
        self._head_bytes = 0
        self._refused = False
        self._arm("headers")  # a connection that never sends a byte is held no longer than a slow one

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        before = self.cycle
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
            return
        cycle = self.cycle
        if cycle is not before:  # the headers of a new request were parsed
            self._head_bytes = 0
            self._disarm()
            if cycle.more_body:
                self._arm("body")
        elif cycle is not None and cycle.more_body:
            pass  # more of a body: its deadline runs from the headers, not from the last byte
        elif self._waiting_for == "body":
            self._disarm()  # the body is complete; the app's own time is not the client's
        else:  # part of a request's headers
            self._head_bytes += len(data)
            if self._head_bytes > self.settings.max_header_bytes:
                self._refuse(
                    431,
                    ("header",),
                    f"request headers are larger than {self.settings.max_header_bytes} bytes",
                    "header_too_large",
                )
            elif self._deadline is None:
                self._arm("headers")

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # else the parser's complaint comes after our own answer
            super().send_400_response(msg)

    def _arm(self, what: str) -> None:
        self._disarm()
        timeout = self.settings.header_timeout_s if what == "headers" else self.settings.body_timeout_s
        self._waiting_for = what
        self._deadline = self.loop.call_later(timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._waiting_for = None, ""

    def _expired(self) -> None:
        what, self._deadline, self._waiting_for = self._waiting_for, None, ""
        if self.transport.is_closing():
            return
        timeout = self.settings.header_timeout_s if what == "headers" else self.settings.body_timeout_s
        if what == "body" and self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # an answer is under way (e.g. a 413): no second one
            return
        self._refuse(
            408,
            ("header",) if what == "headers" else ("body",),
            f"request {what} not received within {timeout:g} s",
            "timeout",
        )

    def _refuse(self, status: int, loc: tuple, msg: str, type_: str) -> None:
        self._refused = True
        self._disarm()
        self.transport.write(raw_response(status, loc, msg, type_))
        self.transport.close()
