"""How far to trust a packaged model: its evaluation, shipped in the package.

    model_dir/evaluation.json   Evaluation below: the protocol ("cv" | "split"), the base rate, how many
                                letters it was tested on, AUROC pooled and within fold (cross-validation)
                                with their 95% CIs, under writer shift too, Brier skill with its CI, ECE,
                                and the score bands (Bands) that place an answer beside the base rate.

Written by training (training.run.train, through training.families.packaging.PackagedModel.add_evaluation)
from the same metrics as the model card, listed with its sha256 in imr_model.json like every model file,
and read by serving.answer, which turns it into the sentences a person reads (page, `imr predict`, HTTP).
Models packaged before a field existed have it null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EVALUATION_FILE = "evaluation.json"
# The headline metrics shipped, each under the run's prefix (cv_ in cross-validation, test_ in split mode).
HEADLINE = (
    "roc_auc",
    "roc_auc_ci_low",
    "roc_auc_ci_high",
    "within_fold_roc_auc",
    "within_fold_roc_auc_ci_low",
    "within_fold_roc_auc_ci_high",
    "pr_auc",
    "brier_skill",
    "brier_skill_ci_low",
    "brier_skill_ci_high",
    "ece",
)
# Under writer shift (cross-validation only): `cv_writer_<name>` shipped as `writer_<name>`.
WRITER_HEADLINE = (
    "within_fold_roc_auc",
    "within_fold_roc_auc_ci_low",
    "within_fold_roc_auc_ci_high",
    "brier_skill",
    "brier_skill_ci_low",
    "brier_skill_ci_high",
)

LOWER, ABOUT, HIGHER = "lower than usual", "about usual", "higher than usual"
BandName = Literal["lower than usual", "about usual", "higher than usual"]


class Band(BaseModel):
    """One range of probabilities and what became of the decided items scored in it, out of fold."""

    model_config = ConfigDict(extra="forbid")

    band: BandName
    low: float = Field(description="probabilities from (inclusive, except for the higher band)")
    high: float = Field(description="up to (exclusive, except for the lower band's upper end)")
    items: int = Field(description="decided items scored in the range, out of fold (per repeat)")
    overturned: int = Field(description="of those, overturned (per repeat)")
    observed_rate: float | None = Field(description="share of them IMR overturned")
    observed_ci_low: float | None = Field(description="95% CI of observed_rate, resampling letters")
    observed_ci_high: float | None
    shown: bool = Field(
        description="whether an answer in this range may say so: the model's skill supports it and the "
        "observed rate's CI excludes the base rate (training.metrics.bands); else it says `about usual`"
    )


class Bands(BaseModel):
    """Three ranges of the calibrated probability around the base rate (training.metrics.bands)."""

    model_config = ConfigDict(extra="forbid")

    lower_edge: float = Field(description="below this (never above the base rate): the lower band")
    upper_edge: float = Field(description="above this (never below the base rate): the higher band")
    skill_supported: bool = Field(description="the cross-validated skill rule holds (training.metrics.bands)")
    skill: str = Field(description="the rule's figures, in words")
    rows: list[Band]


class Evaluation(BaseModel):
    """What evaluation.json holds (every figure null when the package predates it)."""

    model_config = ConfigDict(extra="ignore")

    protocol: Literal["cv", "split"]
    base_rate: float | None = None
    letters: int | None = Field(default=None, description="letters the figures were measured on, unseen in training")
    roc_auc: float | None = Field(default=None, description="pooled out-of-fold (cv) or test-split AUROC")
    roc_auc_ci_low: float | None = None
    roc_auc_ci_high: float | None = None
    within_fold_roc_auc: float | None = Field(
        default=None, description="cv: AUROC over pairs held out in the same fold (training.metrics.within_fold)"
    )
    within_fold_roc_auc_ci_low: float | None = None
    within_fold_roc_auc_ci_high: float | None = None
    pr_auc: float | None = None
    brier_skill: float | None = Field(default=None, description="1 - Brier / Brier of quoting the base rate")
    brier_skill_ci_low: float | None = None
    brier_skill_ci_high: float | None = None
    ece: float | None = None
    writer_within_fold_roc_auc: float | None = Field(default=None, description="cv: the same, a writer held out")
    writer_within_fold_roc_auc_ci_low: float | None = None
    writer_within_fold_roc_auc_ci_high: float | None = None
    writer_brier_skill: float | None = None
    writer_brier_skill_ci_low: float | None = None
    writer_brier_skill_ci_high: float | None = None
    bands: Bands | None = None


def _number(value) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def write_evaluation(
    model_dir: Path,
    metrics: Mapping[str, float],
    protocol: str,
    letters: int | None = None,
    bands: Mapping | None = None,
) -> str:
    """Write the headline metrics (`cv_*` in cross-validation, `test_*` in split mode), the number of
    letters they were measured on and the bands; returns the file's name for the manifest. Undefined
    values (NaN) are written as null."""
    prefix = "cv_" if protocol == "cv" else "test_"
    values = {name: metrics.get(f"{prefix}{name}") for name in HEADLINE}
    if protocol == "cv":
        values |= {f"writer_{name}": metrics.get(f"cv_writer_{name}") for name in WRITER_HEADLINE}
    body = Evaluation(
        protocol=protocol,
        base_rate=metrics.get("base_rate"),
        letters=letters,
        **{k: _number(v) for k, v in values.items()},
        bands=bands,
    )
    (model_dir / EVALUATION_FILE).write_text(body.model_dump_json(indent=2))
    return EVALUATION_FILE


def read_evaluation(model_dir: Path, files: Mapping[str, str]) -> dict | None:
    """The (hash-verified) evaluation with every field (null where the package predates it), or None
    for a model packaged without one."""
    if EVALUATION_FILE not in files:
        return None
    return Evaluation.model_validate(json.loads((model_dir / EVALUATION_FILE).read_text())).model_dump()
