"""What a model family is: the record each entry of the registry (training.families.registry.FAMILIES) fills.
Apart from the registry so that modules a family uses (training.families.packaging) can name the type
without importing every family."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from training.config import ModelConfig, TrainConfig
from training.data.splits import Split
from training.families.family_docs import RunFacts

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
