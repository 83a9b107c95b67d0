"""What a model family is: the record each entry of the registry (training.families.registry.FAMILIES) fills,
and what a family's describe and card_section are given (RunFacts) and format numbers with.
Apart from the registry so that modules a family uses (training.families.packaging) can name the type
without importing every family."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from training.config import ModelConfig, TrainConfig
from training.data.splits import Split


@dataclass
class RunFacts:
    """What a run logged, as the card reads it: metrics (the run's own plus any logged by the family,
    e.g. onnx_*), params, tags, and the metrics of the nested runs its params point to, keyed by the
    param name without `_run_id` (e.g. `domain_adaptation`)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    linked: dict[str, dict[str, float]] = field(default_factory=dict)


def number(value: float, digits: int = 3, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def interval(m: dict, key: str, signed: bool = False) -> str:
    low, high = m.get(f"{key}_ci_low", math.nan), m.get(f"{key}_ci_high", math.nan)
    return (
        f"{number(m.get(key, math.nan), signed=signed)} "
        f"(95% CI {number(low, signed=signed)} to {number(high, signed=signed)})"
    )


# fit(cfg, train, validation or None, model_dir) writes the family's files into model_dir and
# returns their names plus family options for imr_model.json. Without validation it trains for
# the configured budget (cross-validation folds and the final refit on all letters).
FitFn = Callable[[TrainConfig, Split, Split | None, Path], tuple[list[str], dict]]


@dataclass(frozen=True)
class Family:
    name: str  # the value of `model.family` that selects it
    config: type[ModelConfig]  # its `model:` section
    fit: FitFn
    # Resolved-config keys that tell runs of this family apart, in order, each with its short label
    # in run names (training.reporting.run_naming): {"model.classifier.C": "C"} names a run `...-C0.5-...`.
    key_params: dict[str, str]
    describe: Callable[[TrainConfig], str]  # one sentence for the run description (no data, no metrics)
    card_section: Callable[[TrainConfig, RunFacts], str]  # the family's section of MODEL_CARD.md
    check_data: Callable[[TrainConfig, int], None] = lambda cfg, n_train_items: None  # config vs corpus size
    log_artifacts: Callable[[Path], None] = lambda model_dir: None  # family-specific run artifacts
    # The models a run of this family is paired against on the same folds, by name: each gives
    # `cv_diff_vs_<name>_*` (or `test_roc_auc_diff_vs_<name>` in split mode).
    references: Callable[[TrainConfig], dict[str, ModelConfig]] = lambda cfg: {}
    # The config a cross-validation fold trains with: work only the shipped model needs is dropped.
    fold_config: Callable[[TrainConfig], TrainConfig] = lambda cfg: cfg
    # The config for a corpus of this many letters (choices a run makes once, on the whole corpus).
    resolve: Callable[[TrainConfig, int], TrainConfig] = lambda cfg, letters: cfg
    # Work on the whole corpus (a Split) that every fold reads, done once before the folds.
    prepare: Callable[[TrainConfig, Split], None] = lambda cfg, items: None
    # Whether cross-validation may fit folds in parallel worker processes (evaluation.n_jobs): the
    # fit logs nothing into the active run and gives the same result in any process.
    parallel_folds: bool = False
    # (p_overturned, in distribution) of held-out items (cfg, packaged model, items) without serving's
    # scorer reading their text again, or None to score them so (training.families.packaging).
    held_out_scores: Callable[[TrainConfig, object, Split], tuple | None] = lambda cfg, model, items: None
    # The package's out-of-distribution vocabulary and, when asked (the shipped model), its precedents
    # and criteria, written by the family (cfg, train, model_dir, precedents) -> (files, longest text
    # of each field: serving.field_limits); None: from the records (training.families.packaging).
    package_evidence: Callable[[TrainConfig, Split, Path, bool], tuple[list[str], dict[str, int]] | None] = (
        lambda cfg, train, model_dir, precedents: None
    )
