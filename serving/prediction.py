"""What one prediction says, built in one place for the predict API, `imr predict`, `imr serve`
and the MLflow pyfunc wrapper, so their answers cannot drift apart.

The answer is the calibrated probability beside the base rate, with its band relative to the base
rate and a sentence saying so (serving.answer, from the packaged evaluation). There is no decision by
default: `predicted_decision` is added only for a threshold the caller gives (`with_decisions`), never
one tuned at training time. It is `predicted_decision` (not `decision`) so that a scored letter's
prediction is never mistaken for the letter's own decision, which `letter_rows` puts beside it as
`letter_decision`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from features.criteria import Kind
from features.letter import Decision
from serving.answer import answer_for
from serving.model_dir import ModelMeta
from serving.model_evaluation import BandName
from serving.ood import DistributionCheck


class ItemScore(BaseModel):
    """The fields every prediction carries (the pyfunc wrapper's output columns)."""

    p_overturned: float = Field(description="P(IMR overturns the denial); capped at base_rate when out of distribution")
    base_rate: float | None = Field(description="overturn rate of the model's training items")
    band: BandName | None = Field(
        description="where p_overturned lies relative to the base rate; `about usual` unless the model's "
        "cross-validated skill and the band's observed rate support more (GET /v1/evaluation: bands); "
        "null: model packaged without bands"
    )
    observed_rate_scored_alike: float | None = Field(
        description="of the decided items the model scored in the same range out of fold, the share IMR overturned"
    )
    answer: str = Field(description="the probability, the base rate and the band, in words")
    in_distribution: bool | None = Field(
        description="false: unlike the training items (see ood_reason); null: model packaged without the check"
    )
    ood_reason: str | None = Field(description="which check failed; never quotes the request")


class ThresholdDecision(BaseModel):
    """Only where the caller gives a threshold (`threshold` in the API, `--threshold` in the CLI)."""

    predicted_decision: Decision | None = Field(
        default=None, description="only with a threshold given by the caller: Overturned at or above it"
    )


class ModelPrediction(ThresholdDecision, ItemScore):
    """What `Predictor.predict` returns per item."""

    model_config = ConfigDict(protected_namespaces=())

    model_name: str
    model_version: str | None


class LetterItem(BaseModel):
    """A letter's item beside its prediction; `letter_decision` is what IMR decided (never a model input)."""

    case_number: str | None
    item_index: int
    treatment: str
    letter_decision: Decision | None = Field(description="the letter's own decision for this item")


class CitedCriterion(BaseModel):
    """A criterion IMR reviewers cite for the request's treatment category (serving/criteria.py):
    how many training items of each decision cited it, and whether the request documents it."""

    model_config = ConfigDict(extra="forbid")

    criterion: str = Field(description="the criterion's id (features/criteria.py)")
    label: str = Field(description="what reviewers look for, in words")
    category: str = Field(description="the request's treatment category (features/categories.py)")
    kind: Kind = Field(description="the kind of criterion")
    upheld_count: int = Field(description="Upheld training items whose rationale cited it")
    overturned_count: int = Field(description="Overturned training items whose rationale cited it")
    upheld_items: int = Field(description="Upheld training items counted (the denominator of upheld_count)")
    overturned_items: int = Field(description="Overturned training items counted")
    counted_in: str = Field(description='the treatment category counted, or "all" when it has too few items')
    in_request: bool | None = Field(
        description="the request's case summary documents it; null: not something a summary documents"
    )


SCORE_FIELDS = tuple(ItemScore.model_fields)


def decide(p: float, threshold: float, meta: ModelMeta) -> str:
    """The one probability-to-decision step: Overturned at or above a threshold the caller gave."""
    return meta.id2label[1] if p >= threshold else meta.id2label[0]


def with_decisions(rows: list[dict], threshold: float | None, meta: ModelMeta) -> list[dict]:
    """`rows` with `predicted_decision` at `threshold`; unchanged without one."""
    if threshold is None:
        return rows
    return [row | {"predicted_decision": decide(row["p_overturned"], threshold, meta)} for row in rows]


def score_items(
    scorer, check: DistributionCheck | None, records: Sequence[Mapping[str, Any]], evaluation: Mapping | None = None
) -> list[dict]:
    """ItemScore fields per record, the band and answer from `evaluation` (serving.model_evaluation;
    None: no band). An out-of-distribution item never scores above the base rate: its score would be
    an extrapolation, and the base rate is what the model knows without it."""
    meta: ModelMeta = scorer.meta
    rows = []
    for p, record in zip(scorer.predict_proba(records), records):
        p = float(p)
        reason = check.reason(record) if check is not None else None
        if reason is not None and meta.base_rate is not None:
            p = min(p, meta.base_rate)
        rows.append(
            {
                "p_overturned": p,
                "base_rate": meta.base_rate,
                **answer_for(p, meta.base_rate, evaluation),
                "in_distribution": None if check is None else reason is None,
                "ood_reason": reason,
            }
        )
    return rows


def letter_rows(items: Sequence[Mapping[str, Any]], predictions: Sequence[Mapping[str, Any]]) -> list[dict]:
    """LetterItem fields (from `features.dataset.item_rows`) followed by each item's prediction."""
    return [
        {
            "case_number": item["case_number"],
            "item_index": item["item_index"],
            "treatment": item["treatment"],
            "letter_decision": item.get("decision"),
            **prediction,
        }
        for item, prediction in zip(items, predictions)
    ]
