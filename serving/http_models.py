"""Request and response bodies of `imr serve` (see serving/http.py); its settings are in serving/serve_settings.py."""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator, model_validator

from features.views import ItemRecord
from serving.prediction import LetterItem, ModelPrediction

# 100 years: no worker's injury is older; the bundled letters' longest interval is far shorter.
MAX_DAYS_SINCE_INJURY = 36_500
MAX_ID_INT = 2**63 - 1  # an integer id fits a signed 64-bit column


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
    days_since_injury: int | None = Field(default=None, ge=0, le=MAX_DAYS_SINCE_INJURY)

    @model_validator(mode="before")
    @classmethod
    def _null_is_not_given(cls, value):
        """`null` for an optional field means "not given", as a field left out (and as features.views
        .model_inputs reads None), whatever the field's type: the same for an age and a case summary.
        `treatment` is required, and null is refused for it; so is an unknown field, null or not."""
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if v is not None or k == "treatment" or k not in cls.model_fields}
        return value

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
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_ID_INT:
                raise ValueError("id must be an integer of at most 64 bits (or a string)")
            return value
        if value is None:
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
    detail: list[ErrorDetail]


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
