"""The transformer family's `fine_tune` recipe: a sequence classifier fine-tuned end to end with the
transformers Trainer. Set up (a new classifier head on the encoder, the Trainer with a class-weighted
loss and, with validation, early stopping on PR-AUC), trained in a nested MLflow run `fine-tuning`,
then saved into the packaged folder with its int8 ONNX export."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.special import softmax

from features.letter import ID2LABEL, LABEL2ID
from serving.transformer_scorer import ONNX_FILE
from training.config import ConfigError, TrainConfig
from training.data.splits import Split
from training.families.transformer.base_model import freeze_lower_layers


def fine_tune(
    cfg: TrainConfig, init_dir: Path, train: Split, validation: Split | None, model_dir: Path, work_dir: Path
) -> None:
    """Fine-tunes a classifier on the encoder in init_dir and saves it into model_dir; checkpoints
    (for picking the best epoch) go under work_dir."""
    from transformers import AutoTokenizer

    from training.families.transformer.distributed import save_on_first_process

    tokenizer = AutoTokenizer.from_pretrained(init_dir, local_files_only=True)
    model = new_classifier(cfg, init_dir)
    trainer = build_trainer(cfg, model, tokenizer, train, validation, work_dir / "checkpoints")
    run_trainer(trainer)
    # Under a multi-process launch the others load the best checkpoint from the first's folder,
    # which goes when the first process's fit returns.
    trainer.accelerator.wait_for_everyone()
    save_on_first_process(
        lambda folder: save_classifier(trainer.model, tokenizer, folder, cfg.model.export_onnx), model_dir
    )


def new_classifier(cfg: TrainConfig, init_dir: Path):
    """The encoder with a new two-class head (seeded, so it starts the same every run), its lower
    layers frozen as configured."""
    from transformers import AutoModelForSequenceClassification, set_seed

    from training.families.transformer.checkpoint_loading import load_with_new_head

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
    freeze_lower_layers(model, cfg.model.freeze_layers)
    return model


def build_trainer(cfg: TrainConfig, model, tokenizer, train: Split, validation: Split | None, output_dir: Path):
    """The Trainer: class-weighted cross-entropy on length-grouped, per-batch-padded batches of the
    cached token ids (training.families.transformer.batching, .tokenized); with validation, evaluation
    every epoch, early stopping and the best epoch by PR-AUC."""
    import torch
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, TrainingArguments

    from training.families.transformer.batching import LengthGroupedTrainer
    from training.families.transformer.distributed import share_checkpoint_folder
    from training.families.transformer.tokenized import lengths

    m = cfg.model
    cuda = torch.cuda.is_available()
    select = validation is not None
    args = TrainingArguments(**training_arguments(cfg, output_dir, select, cuda, len(train)))  # sets up the processes
    share_checkpoint_folder(args)
    # The first process of each machine tokenises into the cache; the others then load it.
    with args.main_process_first(desc="tokenising"):
        train_set = _tokenized(m, tokenizer, train)
        eval_set = _tokenized(m, tokenizer, validation).sort("length") if select else None
    callbacks = [EarlyStoppingCallback(m.early_stopping_patience)] if select and m.early_stopping_patience else []
    return LengthGroupedTrainer(
        model=model,
        args=args,
        train_lengths=lengths(train_set),
        optimizer_cls_and_kwargs=_optimizer(model, m),
        train_dataset=train_set,
        eval_dataset=eval_set,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if cuda else None),
        compute_loss_func=weighted_loss(_class_weights(train.y, m.class_weight)),
        compute_metrics=_pr_auc if select else None,
        callbacks=callbacks,
    )


def _tokenized(m, tokenizer, split: Split):
    from training.families.transformer.tokenized import tokenized, tokenized_cache_dir

    cache = tokenized_cache_dir(m.tokenized_cache_dir) if m.cache_tokenized else None
    texts = list(split.frame["text"])
    return tokenized(texts, split.y.tolist(), tokenizer, m.max_length, m.head_fraction, cache, m.tokenize_processes)


def weighted_loss(weights):
    """Class-weighted cross-entropy summed over the batch and divided by the items of the whole
    optimizer step (`num_items_in_batch`: every process and accumulation step, counted by the
    Trainer). The Trainer scales it by the process count and DDP averages the gradients, so the
    gradient is that of the mean weighted loss over the step's items however many processes and
    accumulation steps carry them; with "balanced" weights (mean 1 over the training items) it is
    the weighted empirical risk scikit-learn's class_weight minimises."""
    import torch

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs.logits
        total = torch.nn.functional.cross_entropy(logits, labels, weight=weights.to(logits.device), reduction="sum")
        return total / (num_items_in_batch if num_items_in_batch is not None else len(labels))

    return loss


def _pr_auc(eval_pred) -> dict[str, float]:
    from sklearn.metrics import average_precision_score

    logits, labels = eval_pred
    p = softmax(logits, axis=1)[:, 1]
    return {"pr_auc": float(average_precision_score(labels, p)) if labels.sum() else 0.0}


def run_trainer(trainer) -> None:
    """Trains with a progress bar, in a nested MLflow run `fine-tuning`: the Trainer's MLflow callback
    logs every TrainingArguments field and the model config as params, and its losses as metrics,
    into the active run, and those belong under the run of the project's own config, not in it."""
    import mlflow

    from training.families.transformer.trainer_progress import use_progress

    use_progress(trainer, "fine-tuning")
    with mlflow.start_run(run_name="fine-tuning", nested=True):
        mlflow.set_tags({"stage": "fine_tuning", "model_family": "transformer"})
        trainer.train()


def save_classifier(model, tokenizer, model_dir: Path, export_onnx: bool) -> None:
    # save_pretrained, not trainer.save_model: the latter also writes training_args.bin, a pickle.
    model.save_pretrained(str(model_dir))  # safetensors + config.json with id2label/label2id
    tokenizer.save_pretrained(str(model_dir))
    if export_onnx:
        from training.families.transformer.onnx_export import export_int8

        export_int8(model, tokenizer, model_dir / ONNX_FILE)


def training_arguments(cfg: TrainConfig, output_dir: Path, select: bool, cuda: bool, items: int = 0) -> dict:
    """TrainingArguments for fine-tuning `items` items: the project's typed settings and the run's own
    plumbing, then the config's `trainer:` section on top (its keys were checked against both when loaded)."""
    from training.families.transformer.distributed import launched_processes

    m = cfg.model
    batch_size = m.gpu_batch_size if cuda else m.batch_size
    workers = m.dataloader_workers if m.dataloader_workers is not None else (2 if cuda else 0)
    steps = math.ceil(items / (batch_size * launched_processes())) * m.epochs
    return (
        dict(
            output_dir=str(output_dir),
            num_train_epochs=m.epochs,
            learning_rate=m.learning_rate,
            per_device_train_batch_size=batch_size,
            per_device_eval_batch_size=batch_size * 2,
            weight_decay=m.weight_decay,
            warmup_steps=m.warmup_ratio,
            **mixed_precision(m.precision, cuda),
            train_sampling_strategy="group_by_length" if m.group_by_length else "random",
            eval_strategy="epoch" if select else "no",
            save_strategy="epoch" if select else "no",
            save_total_limit=2,
            load_best_model_at_end=select,
            metric_for_best_model="pr_auc" if select else None,
            greater_is_better=True if select else None,
            # Every 5 steps, and at most ~100 times a training: each log is an MLflow write (logging
            # every 5 steps cost the tiny test model 13% of its items/s on this CPU; 2.2M items make
            # 34,000 steps an epoch at batch 64).
            logging_steps=max(5, int(steps // 100)),
            seed=cfg.seed,
            data_seed=cfg.seed,
            report_to=["mlflow"],
            disable_tqdm=True,
            dataloader_num_workers=workers,
            dataloader_persistent_workers=workers > 0,  # not forked again for every epoch
            dataloader_pin_memory=cuda,  # pinned memory only helps copies to a GPU
            # Several processes without a GPU: accelerate runs DDP on CPU (gloo) only when told to.
            use_cpu=not cuda and launched_processes() > 1,
            # Every trainable parameter takes part in the loss (frozen layers are not trainable), so
            # DDP need not search the graph for unused ones on every step.
            ddp_find_unused_parameters=False,
        )
        | m.trainer
    )


def mixed_precision(precision: str, cuda: bool) -> dict[str, bool]:
    """bf16 and fp16 flags. auto: bf16 autocast on a GPU that has it (Ampere and later), fp16 on an
    older GPU (with loss scaling), fp32 on a CPU."""
    import torch

    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    if precision == "fp16" and not cuda:
        raise ConfigError("model.precision fp16 needs a CUDA GPU; use auto, bf16 or fp32 here")
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


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
