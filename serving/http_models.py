"""Settings, request and response bodies of `imr serve` (see serving/http.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.views import ItemRecord
from serving.prediction import LetterItem, ModelPrediction

MB = 1024 * 1024


class ServeSettings(BaseSettings):
    """Request limits and batching; from CLI flags, else IMR_SERVE_MAX_ITEMS /
    IMR_SERVE_MAX_BODY_BYTES / IMR_SERVE_MAX_BATCH_ITEMS / IMR_SERVE_MAX_WAIT_MS, else these defaults."""

    model_config = SettingsConfigDict(env_prefix="IMR_SERVE_", extra="ignore")

    max_items: int = Field(default=256, ge=1, description="most items in one /v1/predict request")
    max_body_bytes: int = Field(default=5 * MB, ge=1, description="largest request body (JSON or letter), bytes")
    max_batch_items: int = Field(
        default=64, ge=1,
        description="concurrent requests are scored together up to this many items (1: one request at a time)")
    max_wait_ms: float = Field(
        default=2.0, ge=0, le=1000,
        description="a busy server waits up to this long to fill a batch (0: never waits; an idle one never does)")


class PredictItem(ItemRecord):
    """One disputed item to score. Only `treatment` is required; unknown fields are refused so a
    misspelt field is reported rather than silently ignored. `rationale` is read only by
    `with_rationale` (research) models."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id": "req-1", "treatment": "MRI of the lumbar spine without contrast",
                                         "case_summary": "The injured worker reports low back pain ...",
                                         "patient_age": 52, "patient_sex": "male", "days_since_injury": 400}]},
    )

    id: str | int | None = Field(default=None, description="echoed in the prediction")

    @field_validator("treatment")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("treatment must not be blank")
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


LETTER_BODY = {
    "required": True,
    "description": "The letter as a multipart upload (field `file`), or the raw bytes with content type "
                   "application/pdf or text/plain.",
    "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string", "format": "binary"}}}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "text/plain": {"schema": {"type": "string"}},
    },
}
