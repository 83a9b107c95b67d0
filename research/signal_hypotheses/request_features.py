"""Feature blocks beyond the one TF-IDF of the whole letter text (issue 9: find the signal that generalizes).

The whole-text TF-IDF learns who wrote the case summary ("injured worker" vs "the applicant", date
formats, "2004 section" boilerplate) rather than what was asked for. These blocks describe the request
itself, the guideline the claims administrator cited, the timing, and (optionally) the other items of
the same letter, each as a scikit-learn transformer over the model-input frame of
`features.views.model_inputs`, so the baseline pipeline can add them as ColumnTransformer blocks.
`RequestFeaturesConfig` holds the switches; `feature_blocks` turns it into those blocks.

Wiring (training/families/baseline.py, not edited here): add `request_features: RequestFeaturesConfig =
RequestFeaturesConfig()` to `BaselineModelConfig`; in `build_pipeline` wrap the text TF-IDF as
`make_pipeline(TextComposer(["text"], drop_numbers=...), tfidf)` on `["text"]` when `normalise_style`,
append `feature_blocks(cfg)[0]` to the ColumnTransformer blocks and pass
`transformer_weights={"text": 1.0, **weights}`. Serving loads the pipeline with skops and trusts only the
exact type names in serving/skops_trust.py, so this module's transformers would have to move into
serving (which never imports training) and be added there by name.
Nested CV over the bundled letters (research.signal_hypotheses.study) supported none of these blocks, so all
switches default to off; see the issue-9 report before turning one on. Style normalisation itself
(features.style) has since moved into the baseline, outside its pipeline
(BaselineModelConfig.normalise_style, on by default); `TextComposer` applies it inside a pipeline
for the hypothesis study.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import BaseEstimator, TransformerMixin

from features.style import normalise_style

# --- style normalisation: features.style.normalise_style, applied by TextComposer ------------------


class _FrameTransformer(TransformerMixin, BaseEstimator):
    """Stateless: the extractors are fixed rules, nothing is learned from the training letters."""

    def fit(self, X, y=None):
        return self

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.names_, dtype=object)


class TextComposer(_FrameTransformer):
    """Joins the given text columns of the frame into one string per row (for a TF-IDF after it),
    optionally style-normalised; e.g. the request and guideline without the case summary."""

    def __init__(self, columns: Sequence[str] = ("text",), normalise: bool = True, drop_numbers: bool = False):
        self.columns = columns
        self.normalise = normalise
        self.drop_numbers = drop_numbers

    def transform(self, X):
        frame = pd.DataFrame(X)
        joined = frame[list(self.columns)].fillna("").astype(str).agg(" ".join, axis=1)
        if self.normalise:
            return [normalise_style(t, self.drop_numbers) for t in joined]
        return list(joined)


# --- what is requested -----------------------------------------------------------------------------

_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "sixteen": 16,
    "eighteen": 18,
    "twenty": 20,
    "twenty-four": 24,
}
_NUM = r"(\d+|" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")"
_FLAGS = {
    "retrospective": re.compile(r"\bretro(?:spective)?\b|\bdos\b|date of service", re.IGNORECASE),
    "associated_surgical": re.compile(r"associated surgical service", re.IGNORECASE),
    "perioperative": re.compile(r"\b(?:pre|post)[- ]?op(?:erative)?\b", re.IGNORECASE),
    "initial": re.compile(r"\binitial\b|\btrial\b|\bevaluat", re.IGNORECASE),
    "additional": re.compile(r"\badditional\b|\bcontinu|\bfurther\b|\bmore\b|\brefills?\b", re.IGNORECASE),
    "unknown_quantity": re.compile(r"unknown quantity|unspecified|\bunknown\b", re.IGNORECASE),
    "compound_or_topical": re.compile(r"\bcompound|\bcream\b|\bgel\b|\bpatch|\bointment|\btopical|%", re.IGNORECASE),
    "rental_or_purchase": re.compile(r"\brental\b|\bpurchase\b|\bunit\b", re.IGNORECASE),
    "bilateral": re.compile(r"\bbilateral\b|\bboth\b", re.IGNORECASE),
}
_QUANTITY = re.compile(r"#\s*(\d+)|\bqty:?\s*(\d+)|\bquantity:?\s*(\d+)", re.IGNORECASE)
_FREQUENCY = re.compile(
    rf"{_NUM}(?:\s*to\s*{_NUM})?\s*(?:x|times?)\s*(?:a|per)?\s*(?:week|weekly|wk)\w*"
    rf"(?:\s*(?:for|x|times)\s*{_NUM}\s*weeks?)?",
    re.IGNORECASE,
)
_COMPACT = re.compile(r"\b(\d+)\s*x\s*(\d+)\b", re.IGNORECASE)
_SESSIONS = re.compile(
    rf"{_NUM}\s*(?:\(\d+\)\s*)?(?:\w+\s+){{0,3}}?(?:sessions?|visits?|treatments?)\b|"
    rf"(?:sessions?|visits?),?\s*(?:times\s*|#)?{_NUM}\b|\btimes\s+{_NUM}\b",
    re.IGNORECASE,
)


def _number(token: str | None) -> float | None:
    if not token:
        return None
    token = token.lower()
    return float(_WORDS[token]) if token in _WORDS else float(token)


def sessions_requested(treatment: str) -> float | None:
    """Total visits or sessions asked for ("3 times a week for 4 weeks" -> 12, "2x6" -> 12,
    "six sessions" -> 6); None when the request names no count."""
    m = _FREQUENCY.search(treatment)
    if m:
        per_week = _number(m.group(2)) or _number(m.group(1))
        weeks = _number(m.group(3))
        return per_week * weeks if weeks else per_week
    m = _COMPACT.search(treatment)
    if m:
        return float(m.group(1)) * float(m.group(2))
    m = _SESSIONS.search(treatment)
    if m:
        return next(_number(g) for g in m.groups() if g)
    return None


def quantity_requested(treatment: str) -> float | None:
    """Units dispensed (#60, QTY: 2); None when not given."""
    m = _QUANTITY.search(treatment)
    return next(float(g) for g in m.groups() if g) if m else None


def request_flags(treatment: str) -> dict[str, float]:
    """The request's structured features, all 0/1 or log counts of similar scale."""
    out = {name: float(bool(rx.search(treatment))) for name, rx in _FLAGS.items()}
    sessions, quantity = sessions_requested(treatment), quantity_requested(treatment)
    out["log_sessions"] = math.log1p(sessions) if sessions is not None else 0.0
    out["log_quantity"] = math.log1p(quantity) if quantity is not None else 0.0
    out["many_sessions"] = float(sessions is not None and sessions > 8)  # beyond a typical initial trial
    return out


class RequestFeatures(_FrameTransformer):
    """Flags and counts read from the treatment text, plus whether UR already approved part of it."""

    names_: ClassVar[list[str]] = [*_FLAGS, "log_sessions", "log_quantity", "many_sessions", "partial_approval"]

    def transform(self, X):
        frame = pd.DataFrame(X)
        rows = []
        for treatment, partial in zip(frame["treatment"].fillna("").astype(str), frame["partial_approval"]):
            flags = request_flags(treatment)
            rows.append([*flags.values(), float(bool(pd.notna(partial) and partial))])
        return np.asarray(rows, dtype=float).reshape(-1, len(self.names_))


# --- timing and the guideline the claims administrator cited ---------------------------------------

# MTUS chapters (a closed list), so the block has the same columns for any training set.
_CHAPTERS = {
    "chronic_pain": r"chronic pain",
    "low_back": r"low back",
    "neck": r"neck and upper back",
    "shoulder": r"shoulder complaints",
    "knee": r"knee complaints",
    "acupuncture": r"acupuncture",
    "hand_wrist": r"forearm, wrist|wrist, and hand",
    "opioid": r"opioid",
    "postsurgical": r"postsurgical",
    "general": r"general approaches|independent medical|clinical topics",
}
_CHAPTER_RX = {name: re.compile(r"(?<!non-)mtus[^.]*?(?:" + rx + ")", re.IGNORECASE) for name, rx in _CHAPTERS.items()}
_GUIDE_FLAGS = {
    "did_not_cite": re.compile(r"did not cite", re.IGNORECASE),
    "outside_mtus": re.compile(r"outside of the mtus", re.IGNORECASE),
    "odg": re.compile(r"\bodg\b|official disability guidelines", re.IGNORECASE),
    # the old ACOEM chapters vs the 2016+ updates
    "mtus_acoem_2004": re.compile(r"(?<!non-)mtus[^.]*2004", re.IGNORECASE),
}
# Acute (<= 30 days), subacute (31-90) and chronic (> 90) by the usual pain-guideline cut-offs.
_DAY_BINS = (("days_le_30", 0, 30), ("days_31_90", 31, 90), ("days_gt_90", 91, math.inf))


class GuidelineTimingFeatures(_FrameTransformer):
    """What the claims administrator cited (no citation, MTUS chapter, ODG, outside MTUS) and how long
    after the injury UR denied (acute/subacute/chronic bins, missing flagged)."""

    names_: ClassVar[list[str]] = [
        *_GUIDE_FLAGS,
        *(f"mtus_{c}" for c in _CHAPTERS),
        *(b[0] for b in _DAY_BINS),
        "days_missing",
    ]

    def transform(self, X):
        frame = pd.DataFrame(X)
        rows = []
        for guideline, days in zip(
            frame["claims_administrator_guideline"].fillna("").astype(str), frame["days_since_injury"]
        ):
            row = [float(bool(rx.search(guideline))) for rx in _GUIDE_FLAGS.values()]
            row += [float(bool(rx.search(guideline))) for rx in _CHAPTER_RX.values()]
            missing = days is None or (isinstance(days, float) and math.isnan(days))
            row += [float(not missing and lo <= days <= hi) for _, lo, hi in _DAY_BINS]
            rows.append([*row, float(missing)])
        return np.asarray(rows, dtype=float).reshape(-1, len(self.names_))


# --- the other items of the same letter -------------------------------------------------------------

_PROCEDURE = re.compile(
    r"arthroscop|repair|fusion|decompression|release|replacement|ectomy|otomy|plasty|"
    r"surgery|surgical procedure|reconstruction|\bORIF\b",
    re.IGNORECASE,
)
LETTER_COLUMNS = ("letter_items", "letter_has_procedure")


def add_letter_context(frame: pd.DataFrame, letter_keys: Sequence[str]) -> pd.DataFrame:
    """The frame with how many items its letter disputes and whether a surgical procedure is among
    them (associated and pre-/post-operative items follow the surgery's fate). Needs every item of a
    letter at once: the `--letters` path has them; a single JSON request defaults to one item, none."""
    out = frame.copy()
    keys = pd.Series(list(letter_keys), index=frame.index)
    procedure = (
        frame["treatment"]
        .fillna("")
        .astype(str)
        .map(
            lambda t: (
                bool(_PROCEDURE.search(t))
                and not _FLAGS["associated_surgical"].search(t)
                and not _FLAGS["perioperative"].search(t)
            )
        )
    )
    out["letter_items"] = keys.map(keys.value_counts()).astype(int)
    out["letter_has_procedure"] = procedure.groupby(keys).transform("any").astype(bool)
    return out


class LetterContextFeatures(_FrameTransformer):
    """log(items in the letter), a surgery in the letter, and that crossed with the item being an
    associated/peri-operative one. Missing context columns mean a one-item request."""

    names_: ClassVar[list[str]] = ["log_letter_items", "letter_has_procedure", "periop_with_procedure"]

    def transform(self, X):
        frame = pd.DataFrame(X)
        n = len(frame)
        items = frame["letter_items"] if "letter_items" in frame else pd.Series([1] * n, index=frame.index)
        proc = (
            frame["letter_has_procedure"]
            if "letter_has_procedure" in frame
            else pd.Series([False] * n, index=frame.index)
        )
        periop = (
            frame["treatment"]
            .fillna("")
            .astype(str)
            .map(lambda t: bool(_FLAGS["associated_surgical"].search(t) or _FLAGS["perioperative"].search(t)))
        )
        out = np.column_stack(
            [
                np.log1p(items.fillna(1).astype(float)),
                proc.fillna(False).astype(float),
                (periop & proc.fillna(False).astype(bool)).astype(float),
            ]
        )
        return out.astype(float)


# --- config: the switches the baseline pipeline reads ----------------------------------------------


class RequestFeaturesConfig(BaseModel):
    """Which extra blocks to add beside (or instead of) the whole-text TF-IDF, and their weights
    (ColumnTransformer transformer_weights; TF-IDF rows have unit norm, these features are 0/1)."""

    model_config = ConfigDict(extra="forbid")

    normalise_style: bool = False  # style-normalise the whole text before its TF-IDF
    drop_numbers: bool = False  # also drop every number from it (doses, pain scores)
    request: bool = False  # RequestFeatures on treatment + partial_approval
    request_weight: float = Field(default=1.0, gt=0)
    guideline_timing: bool = False  # GuidelineTimingFeatures on the guideline + days_since_injury
    guideline_timing_weight: float = Field(default=1.0, gt=0)
    letter_context: bool = False  # LetterContextFeatures; needs add_letter_context on the frame
    letter_context_weight: float = Field(default=1.0, gt=0)


REQUEST_COLUMNS = ["treatment", "partial_approval"]
GUIDELINE_COLUMNS = ["claims_administrator_guideline", "days_since_injury"]


def feature_blocks(cfg: RequestFeaturesConfig) -> tuple[list[tuple], dict[str, float]]:
    """(ColumnTransformer blocks, transformer_weights) for the structured blocks the config enables."""
    blocks, weights = [], {}
    for on, name, transformer, columns, weight in (
        (cfg.request, "request", RequestFeatures(), REQUEST_COLUMNS, cfg.request_weight),
        (
            cfg.guideline_timing,
            "guideline_timing",
            GuidelineTimingFeatures(),
            GUIDELINE_COLUMNS,
            cfg.guideline_timing_weight,
        ),
        (
            cfg.letter_context,
            "letter_context",
            LetterContextFeatures(),
            ["treatment", *LETTER_COLUMNS],
            cfg.letter_context_weight,
        ),
    ):
        if on:
            blocks.append((name, transformer, columns))
            weights[name] = weight
    return blocks, weights
