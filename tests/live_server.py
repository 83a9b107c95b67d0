"""`imr serve`'s app with a stand-in model, under uvicorn in a thread on a free port: for the tests of
what the real server does (timeouts, limits, the letter gate) that a TestClient does not exercise."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from browser import free_port


@contextmanager
def serve_in_thread(predictor, http: str = "auto", **limits) -> Iterator[int]:
    """Serve `predictor` with ServeSettings(**limits) and their uvicorn options; yields the port."""
    import uvicorn

    from serving.http import create_app
    from serving.http_protocol import uvicorn_options
    from serving.serve_settings import ServeSettings

    settings = ServeSettings(**limits)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(None, settings=settings, predictor=predictor),
            port=port,
            log_level="warning",
            **uvicorn_options(settings, http),
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
