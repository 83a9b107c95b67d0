"""The settings of `imr serve`: request, connection and letter-route limits, batching and the
allowed Host names. Kept apart from the request bodies (serving/http_models.py) so that `imr`
builds its command line without importing FastAPI."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from serving.field_limits import DEFAULT_FACTOR

MB = 1024 * 1024


class ServeSettings(BaseSettings):
    """Request and connection limits and batching; from CLI flags, else the environment
    (IMR_SERVE_ and the field's name in capitals: IMR_SERVE_MAX_ITEMS, IMR_SERVE_HEADER_TIMEOUT_S, ...),
    else these defaults."""

    model_config = SettingsConfigDict(env_prefix="IMR_SERVE_", extra="ignore")

    max_items: int = Field(default=256, ge=1, description="most items in one /v1/predict request")
    # An explained transformer item costs up to 41 forward passes (one per left-out sentence).
    max_explain_items: int = Field(
        default=16, ge=1, description="most items in one request with explain (/v1/predict, /v1/predict-letter)"
    )
    max_body_bytes: int = Field(default=5 * MB, ge=1, description="largest request body (JSON or letter), bytes")
    max_batch_items: int = Field(
        default=64,
        ge=1,
        description="concurrent requests are scored together up to this many items (1: one request at a time)",
    )
    max_wait_ms: float = Field(
        default=2.0,
        ge=0,
        le=1000,
        description="a busy server waits up to this long to fill a batch (0: never waits; an idle one never does)",
    )
    # Connection limits (serving/http_protocol.py): a slow or hostile client is answered and
    # dropped, never held. The body deadline lets a 5 MiB letter through at about 1.5 Mbit/s.
    header_timeout_s: float = Field(
        default=10.0, gt=0, le=3600, description="a request's headers must arrive within this many seconds (408)"
    )
    body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="a request's body must arrive within this many seconds of its headers (408)",
    )
    max_header_bytes: int = Field(default=32 * 1024, ge=1024, description="largest header section, bytes (431)")
    max_headers: int = Field(default=100, ge=1, description="most header fields in one request (431)")
    max_connections: int = Field(
        default=512,
        ge=1,
        description="open connections (and requests in progress) beyond which a request is answered 503",
    )
    # Request-field lengths (serving/field_limits.py): a multiple of the longest text of each field
    # in the model's training letters.
    field_length_factor: float = Field(
        default=DEFAULT_FACTOR,
        ge=1,
        le=1000,
        description="a text field may be this many times as long as the longest in the training letters (422)",
    )
    # The letter route (serving/http_letters.py).
    max_letters_per_client: int = Field(
        default=2, ge=1, description="letters in progress per client address on /v1/predict-letter (429)"
    )
    max_letter_queue: int = Field(
        default=16, ge=1, description="letters waiting for or in a worker, all clients together (503)"
    )
    # A bomb costs a worker (and a core) seconds, an ordinary letter milliseconds and never a
    # worker it could not finish: a minute's wait keeps two bomb senders to about one bomb a minute
    # each, then fewer (benchmarks/bench_hostile.py bombs).
    letter_penalty_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="after a letter no worker could finish (bomb, timeout), its client waits this long, doubling "
        "with each further one (429; 0: off)",
    )
    # The Host check (serving/http_middleware.TrustedHosts): loopback names are always allowed.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="host names the server answers for besides localhost, 127.0.0.1 and ::1 "
        "(`*.example.org`, or `*` for any); the environment takes them comma-separated",
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        """A list, or a comma-separated string (the environment); blank names are dropped (an empty
        one would match a request without a Host header)."""
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [n.strip() if isinstance(n, str) else n for n in value if not isinstance(n, str) or n.strip()]
        return value
