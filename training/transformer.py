"""Fine-tuned transformer family: a BERT-family encoder trained as an Upheld/Overturned classifier."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from scipy.special import softmax

from features.letter import ID2LABEL, LABEL2ID
from serving.encoding import encode
from serving.model_dir import sha256_file
from serving.transformer_scorer import ONNX_FILE
from training.config import TrainConfig
from training.splits import Split


def fit(cfg: TrainConfig, train: Split, validation: Split | None, model_dir: Path) -> tuple[list[str], dict]:
    """With validation: early stopping and model selection on its PR-AUC. Without (folds of
    cross-validation, the final refit on all letters): the configured epochs, so the model that
    ships is trained exactly like the ones the cross-validation estimate comes from.

    The Trainer runs in a nested MLflow run, `fine-tuning`: its MLflow callback logs every
    TrainingArguments field and the model config as params, and its losses as metrics, into the
    active run, and those belong under the run of the project's own config, not in it."""
    import datasets
    import mlflow
    import torch
    from sklearn.metrics import average_precision_score
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        EarlyStoppingCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from training.base_model import WEIGHTS, resolve_base_model
    from training.checkpoint_loading import load_with_new_head
    from training.domain_adaptation import adapt
    from training.trainer_progress import use_progress

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: weights are local files only
    m = cfg.model
    if m.torch_threads:
        torch.set_num_threads(m.torch_threads)
    base_dir = resolve_base_model(m.base_model, m.base_sha256)
    mlflow.set_tag("base_model_sha256", m.base_sha256 or sha256_file(base_dir / WEIGHTS))
    with tempfile.TemporaryDirectory() as tmp:
        init_dir = base_dir
        if m.domain_adaptation.enabled:
            init_dir = adapt(m, base_dir, train.rows, validation.rows if validation else None, Path(tmp), cfg.seed)
        mlflow.log_param("domain_adapted", m.domain_adaptation.enabled)

        tokenizer = AutoTokenizer.from_pretrained(init_dir, local_files_only=True)

        def as_dataset(split: Split):
            enc = encode(tokenizer, list(split.frame["text"]), m.max_length, m.head_fraction)
            return datasets.Dataset.from_dict({**enc, "labels": split.y.tolist()})

        set_seed(cfg.seed)  # before model init, so the classifier head starts the same every run
        model = load_with_new_head(  # the classifier head is new: expected missing from an encoder checkpoint
            AutoModelForSequenceClassification,
            init_dir,
            new=("classifier.",),
            num_labels=2,
            id2label=ID2LABEL,
            label2id=LABEL2ID,
            local_files_only=True,
            use_safetensors=True,
        )
        _freeze_lower_layers(model, m.freeze_layers)
        weights = _class_weights(train.y, m.class_weight)

        def weighted_loss(outputs, labels, num_items_in_batch=None):
            return torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weights.to(outputs.logits.device))

        def pr_auc(eval_pred):
            logits, labels = eval_pred
            p = softmax(logits, axis=1)[:, 1]
            return {"pr_auc": float(average_precision_score(labels, p)) if labels.sum() else 0.0}

        # On a GPU: bf16 autocast and a larger batch; a GPU is never required.
        cuda = torch.cuda.is_available()
        select = validation is not None
        args = TrainingArguments(**training_arguments(cfg, Path(tmp) / "checkpoints", select, cuda))
        callbacks = [EarlyStoppingCallback(m.early_stopping_patience)] if select and m.early_stopping_patience else []
        trainer = Trainer(
            model=model,
            args=args,
            optimizer_cls_and_kwargs=_optimizer(model, m),
            train_dataset=as_dataset(train),
            eval_dataset=as_dataset(validation) if select else None,
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
            compute_loss_func=weighted_loss,
            compute_metrics=pr_auc if select else None,
            callbacks=callbacks,
        )
        use_progress(trainer, "fine-tuning")
        with mlflow.start_run(run_name="fine-tuning", nested=True):
            mlflow.set_tags({"stage": "fine_tuning", "model_family": "transformer"})
            trainer.train()
        # save_pretrained, not trainer.save_model: the latter also writes training_args.bin, a pickle.
        trainer.model.save_pretrained(str(model_dir))  # safetensors + config.json with id2label/label2id
        tokenizer.save_pretrained(str(model_dir))
        if m.export_onnx:
            from training.onnx_export import export_int8

            export_int8(trainer.model, tokenizer, model_dir / ONNX_FILE)
    files = sorted(str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file())
    options = {
        "max_length": m.max_length,
        "head_fraction": m.head_fraction,
        "base_model": m.base_model,
        "domain_adapted": m.domain_adaptation.enabled,
    }
    if m.export_onnx:
        from training.onnx_check import onnx_agreement

        mlflow.log_metrics(onnx_agreement(model_dir, train.records(), cfg.data.feature_view, options))
    return files, options


def training_arguments(cfg: TrainConfig, output_dir: Path, select: bool, cuda: bool) -> dict:
    """TrainingArguments for fine-tuning: the project's typed settings and the run's own plumbing,
    then the config's `trainer:` section on top (its keys were checked against both when loaded)."""
    m = cfg.model
    batch_size = m.gpu_batch_size if cuda else m.batch_size
    return (
        dict(
            output_dir=str(output_dir),
            num_train_epochs=m.epochs,
            learning_rate=m.learning_rate,
            per_device_train_batch_size=batch_size,
            per_device_eval_batch_size=batch_size * 2,
            weight_decay=m.weight_decay,
            warmup_steps=m.warmup_ratio,
            bf16=cuda,
            eval_strategy="epoch" if select else "no",
            save_strategy="epoch" if select else "no",
            save_total_limit=2,
            load_best_model_at_end=select,
            metric_for_best_model="pr_auc" if select else None,
            greater_is_better=True if select else None,
            logging_steps=5,
            seed=cfg.seed,
            data_seed=cfg.seed,
            report_to=["mlflow"],
            disable_tqdm=True,
            dataloader_num_workers=0,
            dataloader_pin_memory=cuda,  # pinned memory only helps copies to a GPU
        )
        | m.trainer
    )


def _freeze_lower_layers(model, layers: int) -> None:
    """Freeze the embeddings and the lowest `layers` encoder layers (0: train everything)."""
    if not layers:
        return
    encoder = model.base_model
    if layers > len(encoder.encoder.layer):
        raise ValueError(f"model.freeze_layers: {layers} is more than the base's {len(encoder.encoder.layer)} layers")
    for module in [encoder.embeddings, *encoder.encoder.layer[:layers]]:
        module.requires_grad_(False)


def _optimizer(model, m):
    """AdamW with the head (classifier and pooler) at head_learning_rate; None: the Trainer's default."""
    import torch

    if m.head_learning_rate is None:
        return None
    prefixes = ("classifier.", f"{model.base_model_prefix}.pooler.")
    head = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith(prefixes)]
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": body, "lr": m.learning_rate}, {"params": head, "lr": m.head_learning_rate}]
    return torch.optim.AdamW, {"params": groups, "weight_decay": m.weight_decay}


def _class_weights(y: np.ndarray, mode: str | None):
    import torch

    if mode != "balanced":
        return torch.ones(2)
    counts = np.bincount(y, minlength=2).astype(float)
    return torch.tensor(len(y) / (2 * np.maximum(counts, 1)), dtype=torch.float32)
