"""Evidence over HTTP: `GET /v1/search` (precedents for a free-text request), the `explain`
switch of the predict endpoints (reasons, precedents, reviewer criteria and what would change the answer beside
each score; see serving/http.py),
and the page at `/` that shows them (serving/page.html, self-contained: no external assets).

    GET /                the page: a request form or a letter upload, scored with explain
    GET /v1/search?q=...&k=5&decision=Upheld&category=opioids&since=2017-01-01&until=2017-02-28&min_similarity=0.3
    GET /v1/evaluation   the model's headline evaluation (serving/model_evaluation.py)

Explanations run outside the batching scorer, in a worker thread, after the plain scores: a
plain prediction's path is unchanged. Query strings are never logged (serving.http_middleware).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from features.letter import Decision
from serving.http_models import (
    LetterPrediction,
    LetterResponse,
    Prediction,
    PredictRequest,
    PredictResponse,
    error_response,
)
from serving.model_evaluation import Evaluation
from serving.precedents import FLOOR, MIN_SIMILARITY
from serving.prediction import CitedCriterion
from serving.what_if import WhatIf

MAX_K = 50
# The page loads nothing from elsewhere; its own inline style and script only.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class ExplainablePredictRequest(PredictRequest):
    explain: bool = Field(
        default=False,
        description="add `reasons`, `precedents`, reviewer `criteria` and `what_if` to each prediction",
    )


class Precedent(BaseModel):
    case_number: str | None
    decision_date: str | None
    treatment: str
    treatment_category: str
    decision: Decision
    claims_administrator_guideline: str
    maximus_guideline: str
    rationale_excerpt: str = Field(description="the rationale's sentences that give the reason (display only)")
    similarity: float = Field(description="0-1: weighted cosine of treatment and pre-decision text")


class SearchResponse(BaseModel):
    precedents: list[Precedent] = Field(
        description="one item per case, the query's treatment category first, none under the similarity cut-off"
    )
    note: str | None = Field(
        description='why fewer than k are shown, e.g. "no close precedent in the 336 decided items"'
    )


class Reason(BaseModel):
    kind: Literal["treatment", "documents", "lacks", "finding"] = Field(
        description="the treatment requested; a reviewer criterion the request documents, or lacks; a clinical finding"
    )
    text: str = Field(description="the phrase: the treatment and its category, the criterion, or the finding")
    quote: str | None = Field(description="the request's words left out to measure the effect (none for lacks)")
    criteria: list[str] = Field(description="the ids of the criteria the phrase documents or the request lacks")
    effect: float = Field(
        description="percentage points: the probability with the phrase minus without it (for lacks: as the request "
        "is minus with the criterion documented)"
    )
    direction: Literal["up", "down"]


class Evidence(BaseModel):
    reasons: list[Reason] | None = Field(default=None, description="with explain: the phrases that moved the score")
    precedents: list[Precedent] | None = Field(
        default=None, description="with explain: decided items like it, one per case, none under the cut-off"
    )
    precedents_note: str | None = Field(default=None, description="with explain: why fewer than 5 precedents are shown")
    criteria: list[CitedCriterion] | None = Field(
        default=None, description="with explain: what reviewers cite for this treatment category, most cited first"
    )
    what_if: WhatIf | None = Field(
        default=None,
        description="with explain: the probability if the case summary also documented each cited criterion it "
        "lacks; the model's association in decided letters, not a promise",
    )


# Evidence listed first puts its fields last, after the prediction's.
class ExplainedPrediction(Evidence, Prediction):
    pass


class ExplainedPredictResponse(PredictResponse):
    predictions: list[ExplainedPrediction]


class ExplainedLetterPrediction(Evidence, LetterPrediction):
    pass


class ExplainedLetterResponse(LetterResponse):
    predictions: list[ExplainedLetterPrediction]


async def explain(predictor, records: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with `reasons`, `precedents` and `criteria` (serving.predictor.Predictor.evidence)."""
    return await run_in_threadpool(predictor.evidence, records, rows)


def wants_explanation(value: str | None) -> bool:
    """`?explain=true` (also 1/yes/on), as a query flag on the letter upload."""
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class EvaluationResponse(Evaluation):
    trust: str | None = Field(description="how far to trust the model, in plain words, from the figures above")


PAGE = Path(__file__).with_name("page.html")


def evidence_router(ready_predictor: Callable[[], Any]) -> APIRouter:
    router = APIRouter()
    page = PAGE.read_text(encoding="utf-8")

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index():
        return HTMLResponse(page, headers={"Content-Security-Policy": CSP})

    @router.get("/v1/evaluation", response_model=EvaluationResponse)
    def evaluation():
        """How far to trust the model: its evaluation (AUROC within fold and pooled, Brier skill, with 95%
        CIs, under writer shift too), the score bands answers are placed in, and the `trust` sentence."""
        from serving.answer import trust_sentence

        predictor = ready_predictor()
        if predictor.evaluation is None:
            return error_response(
                ("path",), "this model was packaged without its evaluation", "no_evaluation", status=404
            )
        return predictor.evaluation | {"trust": trust_sentence(predictor.evaluation)}

    @router.get("/v1/search", response_model=SearchResponse)
    async def search(
        q: str = Query(min_length=1, max_length=10_000, description="treatment (and context), free text"),
        k: int = Query(5, ge=1, le=MAX_K),
        decision: Decision | None = None,
        category: str | None = None,
        since: str | None = Query(None, description="YYYY-MM-DD"),
        until: str | None = Query(None, description="YYYY-MM-DD"),
        min_similarity: float | None = Query(
            None, ge=FLOOR, le=1, description=f"least similarity shown (default {MIN_SIMILARITY}, at least {FLOOR})"
        ),
    ):
        """At most k decided items like the query (one per case, the query's treatment category first, then the
        most similar), none under the similarity cut-off, within the filters; `note` says why fewer are shown."""
        from serving.precedents import Filters, PrecedentQueryError

        predictor = ready_predictor()
        if not q.strip():
            return error_response(("query", "q"), "q must not be blank", "value_error")
        if predictor.precedents is None:
            return error_response(
                ("query", "q"),
                "this model has no precedents index (packaged before it existed)",
                "no_index",
                status=404,
            )
        try:
            found = await run_in_threadpool(
                predictor.precedents.close_precedents,
                {"treatment": q},
                k,
                Filters(decision, category, since, until),
                None,
                min_similarity,
            )
        except PrecedentQueryError as exc:
            return error_response(("query",), str(exc), "value_error")
        return {"precedents": found.rows, "note": found.note}

    return router
