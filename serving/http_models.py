"""Settings, request and response bodies of `imr serve` (see serving/http.py)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.views import ItemRecord
from serving.prediction import LetterItem, ModelPrediction

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


class PredictItem(ItemRecord):
    """One disputed item to score. Only `treatment` is required; unknown fields are refused so a
    misspelt field is reported rather than silently ignored. `rationale` is read only by
    `with_rationale` (research) models."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "req-1",
                    "treatment": "MRI of the lumbar spine without contrast",
                    "case_summary": "The injured worker reports low back pain ...",
                    "patient_age": 52,
                    "patient_sex": "male",
                    "days_since_injury": 400,
                }
            ]
        },
    )

    id: str | int | None = Field(default=None, description="echoed in the prediction")

    @field_validator("treatment")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("treatment must not be blank")
        return value

    @field_validator("patient_age", "days_since_injury", mode="before")
    @classmethod
    def _not_a_boolean(cls, value):
        """`true` is not an age or a day count (pydantic's lax mode would read it as 1)."""
        if isinstance(value, bool):
            raise ValueError("must be a whole number, not true or false")
        return value

    @field_validator("id", mode="plain", json_schema_input_type=str | int | None)
    @classmethod
    def _string_or_integer(cls, value):
        """One clear error instead of one per union member (a float or a bool is not an id)."""
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if not isinstance(value, str):
            raise ValueError("id must be a string or an integer")
        if len(value) > 256:
            raise ValueError("id is longer than 256 characters")
        return value


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[PredictItem] = Field(min_length=1, description="at most max_items (default 256)")


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    version: str | None
    run_id: str | None
    family: str
    feature_view: str
    threshold: float
    base_rate: float | None = Field(description="overturn rate of the model's training items")


class RequestId(BaseModel):
    id: StrictStr | StrictInt | None = Field(default=None, description="the request item's id, when it had one")


# The prediction fields are defined once, in serving.prediction; a mixin listed last puts its
# fields first, so `id` and the letter's item lead each prediction.
class Prediction(ModelPrediction, RequestId):
    pass


class PredictResponse(BaseModel):
    model: ModelInfo
    predictions: list[Prediction]


class LetterPrediction(ModelPrediction, LetterItem):
    pass


class LetterResponse(BaseModel):
    model: ModelInfo
    case_number: str | None
    predictions: list[LetterPrediction]


class Health(BaseModel):
    status: Literal["ready", "loading", "failed"]
    error: str | None = None


class ErrorDetail(BaseModel):
    loc: list[str | int]
    field: str
    msg: str
    type: str


class ErrorBody(BaseModel):
    detail: list[ErrorDetail] | str


def error_detail(loc: tuple | list, msg: str, type_: str) -> dict[str, Any]:
    """One client error: `field` is the dotted path inside the body ("items.0.treatment")."""
    inner = [p for p in loc[1:]] if loc and loc[0] == "body" else list(loc)
    return {"loc": list(loc), "field": ".".join(str(p) for p in inner) or "body", "msg": msg, "type": type_}


def error_response(loc: tuple | list, msg: str, type_: str, status: int = 422) -> JSONResponse:
    """A response carrying one client error, in the documented list shape."""
    return JSONResponse({"detail": [error_detail(loc, msg, type_)]}, status_code=status)


UNKNOWN_FIELD = "<unknown field>"


def client_errors(errors: list[dict]) -> list[dict[str, Any]]:
    """Pydantic's errors as error details that quote nothing the client sent: no `input` or `ctx`,
    and an unknown field's name (a key is client text too, and a misplaced one may be clinical
    text) replaced by UNKNOWN_FIELD, with the fields that are allowed there. Shared by
    /v1/predict and `imr predict --input`, whose locations start at the item itself."""
    details = []
    for err in errors:
        loc, msg, type_ = tuple(err.get("loc", ("body",))), err.get("msg", "invalid"), err.get("type", "value_error")
        if type_ == "extra_forbidden" and loc:
            parent = loc[:-1]
            allowed = PredictRequest.model_fields if parent == ("body",) else PredictItem.model_fields
            loc, msg = (*parent, UNKNOWN_FIELD), f"unknown field; expected one of: {', '.join(allowed)}"
        details.append(error_detail(loc, msg, type_))
    return details


LETTER_BODY = {
    "required": True,
    "description": "The letter as a multipart upload (field `file`), or the raw bytes with content type "
    "application/pdf or text/plain.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "text/plain": {"schema": {"type": "string"}},
    },
}
