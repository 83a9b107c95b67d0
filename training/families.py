"""The model families: one registry entry each. A new family is its own module (its `model:`
config class, a ModelConfig subclass, and its `fit`) plus one entry in FAMILIES; config loading,
the run, cross-validation, comparison and the model card read it from here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from training import baseline, family_docs, transformer
from training.config import ModelConfig, TrainConfig
from training.family_docs import RunFacts
from training.splits import Split

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
    # in run names (training.run_naming): {"model.classifier.C": "C"} names a run `...-C0.5-...`.
    key_params: dict[str, str]
    describe: Callable[[TrainConfig], str]  # one sentence for the run description (no data, no metrics)
    card_section: Callable[[TrainConfig, RunFacts], str]  # the family's section of MODEL_CARD.md
    check_data: Callable[[TrainConfig, int], None] = lambda cfg, n_train_items: None  # config vs corpus size
    log_artifacts: Callable[[Path], None] = lambda model_dir: None  # family-specific run artifacts
    compare_to_baseline: Callable[[TrainConfig], bool] = lambda cfg: False
    # The config a cross-validation fold trains with: work only the shipped model needs is dropped.
    fold_config: Callable[[TrainConfig], TrainConfig] = lambda cfg: cfg


def _without_onnx(cfg: TrainConfig) -> TrainConfig:
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"export_onnx": False})})


DEFAULT_FAMILY = "baseline"  # a config that names no model.family trains this one

FAMILIES: dict[str, Family] = {
    "baseline": Family(
        "baseline",
        baseline.BaselineModelConfig,
        baseline.fit,
        {"model.classifier.C": "C", "model.text_tfidf.ngram_range": "tfidf", "model.text_tfidf.min_df": "mindf"},
        family_docs.baseline_describe,
        family_docs.baseline_card,
        check_data=baseline.check_data,
        log_artifacts=baseline.log_top_terms,
    ),
    "transformer": Family(
        "transformer",
        transformer.TransformerModelConfig,
        transformer.fit,
        {
            "model.base_model": "",
            "model.max_length": "len",
            "model.epochs": "ep",
            "model.freeze_layers": "frz",
            "model.learning_rate": "lr",
            "model.domain_adaptation.enabled": "da",
        },
        family_docs.transformer_describe,
        family_docs.transformer_card,
        compare_to_baseline=lambda cfg: cfg.model.compare_with_baseline,
        fold_config=_without_onnx,
    ),
}


def family_of(cfg: TrainConfig) -> Family:
    return FAMILIES[cfg.model.family]
