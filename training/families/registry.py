"""The model families: one registry entry each. A new family is its own module (its `model:`
config class, a ModelConfig subclass, its `fit`, and what it says about itself: `describe` and
`card_section`) plus one entry in FAMILIES here, and on serving's side one scorer in
serving.scorers.SCORERS; config loading, the run, cross-validation, comparison and the model card
read it from here."""

from __future__ import annotations

from training.config import TrainConfig
from training.families import baseline, criteria, ensemble, transformer
from training.families.family import Family, FitFn
from training.families.transformer import card as transformer_card

__all__ = ["DEFAULT_FAMILY", "FAMILIES", "Family", "FitFn", "family_of"]


def _without_onnx(cfg: TrainConfig) -> TrainConfig:
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"export_onnx": False})})


DEFAULT_FAMILY = "baseline"  # a config that names no model.family trains this one

FAMILIES: dict[str, Family] = {
    "baseline": Family(
        "baseline",
        baseline.BaselineModelConfig,
        baseline.fit,
        {"model.classifier.C": "C", "model.text_tfidf.ngram_range": "tfidf", "model.text_tfidf.min_df": "mindf"},
        baseline.describe,
        baseline.card_section,
        check_data=baseline.check_data,
        log_artifacts=baseline.log_top_terms,
        references=baseline.references,
        fold_config=baseline.fold_config,
        resolve=baseline.resolve,
        prepare=baseline.prepare,
        parallel_folds=True,
        held_out_scores=baseline.held_out_scores,
        package_evidence=baseline.package_evidence,
    ),
    "transformer": Family(
        "transformer",
        transformer.TransformerModelConfig,
        transformer.fit,
        {
            "model.base_model": "",
            "model.recipe": "",
            "model.max_length": "len",
            "model.epochs": "ep",
            "model.freeze_layers": "frz",
            "model.learning_rate": "lr",
            "model.domain_adaptation.enabled": "da",
        },
        transformer_card.describe,
        transformer_card.card_section,
        check_data=transformer.check_data,
        references=lambda cfg: {"baseline": baseline.BaselineModelConfig()} if cfg.model.compare_with_baseline else {},
        fold_config=_without_onnx,
    ),
    "ensemble": Family(
        "ensemble",
        ensemble.EnsembleModelConfig,
        lambda cfg, train, validation, model_dir: ensemble.fit(cfg, train, validation, model_dir, FAMILIES),
        {"model.combiner.method": "", "model.inner_folds": "inner"},
        ensemble.describe,
        ensemble.card_section,
        check_data=lambda cfg, n_train_items: ensemble.check_data(cfg, n_train_items, FAMILIES),
        references=ensemble.members_by_name,
    ),
    "criteria": Family(
        "criteria",
        criteria.CriteriaModelConfig,
        criteria.fit,
        {"model.treatment_category": "cat", "model.inner_folds": "inner"},
        criteria.describe,
        criteria.card_section,
        log_artifacts=criteria.log_coefficients,
        references=lambda cfg: {"baseline": baseline.BaselineModelConfig()} if cfg.model.compare_with_baseline else {},
    ),
}


def family_of(cfg: TrainConfig) -> Family:
    return FAMILIES[cfg.model.family]
