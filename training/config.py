"""Strict, typed training configuration: the sections every run has. Each model family defines
its own `model:` section (a ModelConfig subclass in the family's module); training.config_loading
reads a YAML file into the TrainConfig of the family it names."""

from __future__ import annotations

from pathlib import Path
from typing import Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.views import View
from serving.store import EXPERIMENT, PROJECT_ROOT  # config paths are relative to PROJECT_ROOT


class Strict(BaseModel):
    # allow_inf_nan=False: `C: .inf` or `learning_rate: .nan` is refused with the key named.
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)


class DataConfig(Strict):
    sources: list[str] = ["../shared/data/dwc-imr-letters", "../shared/data/seed-letters"]
    # An `imr ingest --out` folder: train from its dataset (its splits) instead of parsing `sources`.
    dataset: str | None = None
    split_seed: int = 0
    split_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    feature_view: View = "pre_decision"

    def source_paths(self) -> list[Path]:
        return [p if (p := Path(s)).is_absolute() else PROJECT_ROOT / p for s in self.sources]

    def dataset_path(self) -> Path | None:
        return None if self.dataset is None else (p if (p := Path(self.dataset)).is_absolute() else PROJECT_ROOT / p)


class EvaluationConfig(Strict):
    """How a run is evaluated.

    `cv` (default): repeated K-fold by letter over every letter; each item gets an out-of-fold
    probability from a model that never saw its letter, calibration is cross-fitted on the
    other folds, metrics are computed on the pooled out-of-fold predictions, and the registered
    model is refitted on all letters with the calibrator and threshold fitted on all of them.
    `split`: one train/validation/test split by letter (holdout studies); calibration and the
    threshold are fitted on validation, the test split is scored once.
    `writer_shift` (cv only): also cross-validate with one case-summary writer template held out
    per fold (training.data.folds.writer_folds) and log those metrics as `cv_writer_*`: a new request
    has no IMR reviewer's style, so this is the shift it meets.
    `n_jobs`: cross-validation folds fitted at the same time, each in its own worker process (families
    whose folds can run apart: the baseline); at most one per core, and fewer when the memory
    available would not hold one more worker at the largest peak a worker has had
    (training.data.workers). The streamed baseline's passes over the corpus use as many. The results
    equal a serial run's (n_jobs: 1) exactly."""

    mode: Literal["split", "cv"] = "cv"
    folds: int = Field(default=5, ge=2)
    repeats: int = Field(default=3, ge=1)
    bootstrap_samples: int = Field(default=1000, ge=10)  # letter-level resamples for CIs
    # Platt scaling by default: with a few dozen overturned items, isotonic steps overfit.
    calibration: Literal["none", "isotonic", "sigmoid"] = "sigmoid"
    # Also fit the same family on the with_rationale view of the same split and log both side by side.
    leakage_audit: bool = False
    writer_shift: bool = True
    n_jobs: int = Field(default=1, ge=1)


class MlflowConfig(Strict):
    experiment: str = EXPERIMENT
    registered_model_name: str = "imr-baseline"
    alias: str = "candidate"  # the newest trained version; `imr promote` sets "champion" by a fixed rule
    run_name: str | None = None


class ModelConfig(Strict):
    """What every family's `model:` section has. A family subclasses it in its own module with
    `family: Literal["<name>"]` and its keys, and names the class in training.families.registry.FAMILIES."""

    family: str


ModelT = TypeVar("ModelT", bound=ModelConfig)


class TrainConfig(Strict, Generic[ModelT]):
    """A run's config. Generic in the model section so that this module need not know the
    families: `TrainConfig[BaselineModelConfig]` validates a baseline config (the loader,
    training.config_loading, picks the class from `model.family`)."""

    seed: int = 0
    data: DataConfig = DataConfig()
    model: ModelT
    evaluation: EvaluationConfig = EvaluationConfig()
    mlflow: MlflowConfig = MlflowConfig()

    @model_validator(mode="after")
    def _fractions(self) -> TrainConfig:
        f = self.data.split_fractions
        if abs(sum(f) - 1) > 1e-6 or min(f) <= 0:
            raise ValueError(f"data.split_fractions must be three positive numbers summing to 1, got {list(f)}")
        return self


def with_model(cfg: TrainConfig, model: ModelConfig) -> TrainConfig:
    """cfg with another family's model section (a transformer run trains a baseline beside it)."""
    return TrainConfig[type(model)](**{**dict(cfg), "model": model})


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def resolved_yaml(cfg: TrainConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
