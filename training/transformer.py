"""Fine-tuned transformer family: a BERT-family encoder trained as an Upheld/Overturned classifier."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from serving.encoding import encode
from serving.transformer_scorer import ONNX_FILE
from training.config import TrainConfig

LABEL2ID = {"Upheld": 0, "Overturned": 1}
ID2LABEL = {v: k for k, v in LABEL2ID.items()}


def fit(cfg: TrainConfig, splits: dict, model_dir: Path) -> tuple[list[str], dict]:
    import datasets
    import mlflow
    import torch
    from sklearn.metrics import average_precision_score
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                              EarlyStoppingCallback, Trainer, TrainingArguments, set_seed)

    from training.base_model import resolve_base_model
    from training.domain_adaptation import adapt

    m = cfg.model
    if m.torch_threads:
        torch.set_num_threads(m.torch_threads)
    base_dir = resolve_base_model(m.base_model, m.base_sha256)
    with tempfile.TemporaryDirectory() as tmp:
        init_dir = base_dir
        if m.domain_adaptation.enabled:
            init_dir = adapt(m, base_dir, splits["train"]["rows"], splits["validation"]["rows"], Path(tmp), cfg.seed)
        mlflow.log_param("domain_adapted", m.domain_adaptation.enabled)

        tokenizer = AutoTokenizer.from_pretrained(init_dir, local_files_only=True)

        def as_dataset(split: str):
            enc = encode(tokenizer, list(splits[split]["frame"]["text"]), m.max_length, m.head_fraction)
            return datasets.Dataset.from_dict({**enc, "labels": splits[split]["y"].tolist()})

        set_seed(cfg.seed)  # before model init, so the classifier head starts the same every run
        model = AutoModelForSequenceClassification.from_pretrained(
            init_dir, num_labels=2, id2label=ID2LABEL, label2id=LABEL2ID, local_files_only=True, use_safetensors=True,
        )
        weights = _class_weights(splits["train"]["y"], m.class_weight)

        def weighted_loss(outputs, labels, num_items_in_batch=None):
            return torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weights.to(outputs.logits.device))

        def pr_auc(eval_pred):
            logits, labels = eval_pred
            p = _softmax(logits)[:, 1]
            return {"pr_auc": float(average_precision_score(labels, p)) if labels.sum() else 0.0}

        args = TrainingArguments(
            output_dir=str(Path(tmp) / "checkpoints"), num_train_epochs=m.epochs, learning_rate=m.learning_rate,
            per_device_train_batch_size=m.batch_size, per_device_eval_batch_size=m.batch_size * 2,
            weight_decay=m.weight_decay, warmup_steps=m.warmup_ratio,
            eval_strategy="epoch", save_strategy="epoch", save_total_limit=2, load_best_model_at_end=True,
            metric_for_best_model="pr_auc", greater_is_better=True, logging_steps=5,
            seed=cfg.seed, data_seed=cfg.seed, report_to=["mlflow"], disable_tqdm=True, dataloader_num_workers=0,
        )
        callbacks = [EarlyStoppingCallback(m.early_stopping_patience)] if m.early_stopping_patience else []
        trainer = Trainer(
            model=model, args=args, train_dataset=as_dataset("train"), eval_dataset=as_dataset("validation"),
            processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
            compute_loss_func=weighted_loss, compute_metrics=pr_auc, callbacks=callbacks,
        )
        trainer.train()
        # save_pretrained, not trainer.save_model: the latter also writes training_args.bin, a pickle.
        trainer.model.save_pretrained(str(model_dir))  # safetensors + config.json with id2label/label2id
        tokenizer.save_pretrained(str(model_dir))
        if m.export_onnx:
            from training.onnx_export import export_int8

            export_int8(trainer.model, tokenizer, model_dir / ONNX_FILE)
    files = sorted(str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file())
    options = {"max_length": m.max_length, "head_fraction": m.head_fraction, "base_model": m.base_model,
               "domain_adapted": m.domain_adaptation.enabled}
    return files, options


def _class_weights(y: np.ndarray, mode: str | None):
    import torch

    if mode != "balanced":
        return torch.ones(2)
    counts = np.bincount(y, minlength=2).astype(float)
    return torch.tensor(len(y) / (2 * np.maximum(counts, 1)), dtype=torch.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def baseline_comparison(cfg: TrainConfig, splits: dict, p_test: np.ndarray) -> dict[str, float]:
    """Paired bootstrap (resampling test letters) of this model's AUROC minus the default
    baseline's, the baseline fitted on the same train split in this run."""
    from training.baseline import build_pipeline
    from training.config import BaselineModelConfig
    from training.metrics import paired_bootstrap_auc_diff

    frame = splits["train"]["frame"].astype({"treatment_category": object, "patient_sex": object})
    baseline = build_pipeline(BaselineModelConfig(), cfg.seed).fit(frame, splits["train"]["y"])
    test_frame = splits["test"]["frame"].astype({"treatment_category": object, "patient_sex": object})
    p_base = baseline.predict_proba(test_frame)[:, 1]
    groups = np.asarray(splits["test"]["rows"]["letter_id"])
    return paired_bootstrap_auc_diff(splits["test"]["y"], p_test, p_base, groups,
                                     cfg.evaluation.bootstrap_samples, cfg.seed, prefix="test_roc_auc_diff_vs_baseline")


def train(cfg: TrainConfig):
    """Fine-tune, evaluate and register the transformer; returns a `training.run.TrainResult`."""
    from training.run import run_training

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    compare = baseline_comparison if cfg.model.compare_with_baseline else None
    return run_training(cfg, "transformer", fit, compare)
