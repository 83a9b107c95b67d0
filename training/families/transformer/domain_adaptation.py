"""Clinical domain adaptation: continued masked-language-model pretraining of the base encoder
on the letters' own clinical text (train split only, so test letters never leak), logged as its
own nested MLflow run."""

from __future__ import annotations

from pathlib import Path

import mlflow
from pydantic import Field

from features.dataset import letter_unit
from training.config import Strict


class DomainAdaptationConfig(Strict):
    """Continued masked-language-model pretraining on the train letters' own text."""

    enabled: bool = False
    epochs: float = Field(default=1.0, gt=0)
    learning_rate: float = Field(default=5e-5, gt=0)
    mlm_probability: float = Field(default=0.15, gt=0, lt=1)
    max_length: int = Field(default=256, ge=16, le=512)
    batch_size: int = Field(default=16, ge=1)


def adaptation_texts(rows) -> list[str]:
    """Each train letter's case summary once, plus each item's treatment and claims
    administrator guideline: the pre-decision text the classifier reads."""
    seen, texts = set(), []
    for r in rows:
        for text in (r["case_summary"], f"{r['treatment']}. {r['claims_administrator_guideline']}"):
            if text and text not in seen:
                seen.add(text)
                texts.append(text)
    return texts


def adapt(
    da: DomainAdaptationConfig, base_model: str, base_dir: Path, train_rows, val_rows, out_dir: Path, seed: int
) -> Path:
    """Returns the adapted checkpoint folder (safetensors), used as the fine-tuning base;
    base_model is the configured name of base_dir, recorded as a tag."""
    from transformers import AutoTokenizer, DataCollatorForLanguageModeling, Trainer, set_seed

    from training.families.transformer.distributed import save_on_first_process
    from training.families.transformer.trainer_progress import use_progress

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    model = _masked_lm(base_dir)
    if val_rows is None:  # cross-validation and the final refit: hold out some train letters for the MLM loss
        train_rows, val_rows = _held_out_letters(train_rows)
    args = _mlm_arguments(da, out_dir, seed)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=da.mlm_probability, seed=seed)
    with mlflow.start_run(run_name="domain-adaptation", nested=True) as run:
        mlflow.set_tags({"stage": "domain_adaptation", "base_model": base_model})
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=_tokenized(tokenizer, train_rows, da.max_length),
            eval_dataset=_tokenized(tokenizer, val_rows, da.max_length),
            processing_class=tokenizer,
            data_collator=collator,
        )
        use_progress(trainer, "domain adaptation")
        mlflow.log_metrics(_train_measuring_loss(trainer))
        adapted = out_dir / "adapted"
        save_on_first_process(lambda folder: _save_adapted(trainer.model, tokenizer, base_dir, folder), adapted)
    mlflow.log_param("domain_adaptation_run_id", run.info.run_id)
    return adapted


def _masked_lm(base_dir: Path):
    """The base encoder as a masked-LM model. An encoder checkpoint has no masked-LM head
    (`cls.predictions.*` starts fresh) and its pooler has no place in a masked-LM model; the pooler
    is put back on saving (_save_encoder_with_pooler)."""
    from transformers import AutoModelForMaskedLM

    from training.families.transformer.checkpoint_loading import load_with_new_head

    return load_with_new_head(
        AutoModelForMaskedLM,
        base_dir,
        new=("cls.predictions.",),
        dropped=("pooler.",),
        local_files_only=True,
        use_safetensors=True,
    )


def _held_out_letters(train_rows):
    """(train rows, validation rows): about 15% of the letters, by a stable hash of the letter id,
    held out so the masked-LM loss is measured on letters the adaptation never saw."""
    held = {lid for lid in set(train_rows["letter_id"]) if letter_unit(lid, "mlm-eval") < 0.15}
    return (
        train_rows.filter(lambda r: r["letter_id"] not in held),
        train_rows.filter(lambda r: r["letter_id"] in held),
    )


def _mlm_arguments(da: DomainAdaptationConfig, out_dir: Path, seed: int):
    import torch
    from transformers import TrainingArguments

    from training.families.transformer.distributed import launched_processes

    return TrainingArguments(
        output_dir=str(out_dir / "checkpoints"),
        num_train_epochs=da.epochs,
        learning_rate=da.learning_rate,
        per_device_train_batch_size=da.batch_size,
        per_device_eval_batch_size=da.batch_size,
        eval_strategy="epoch",
        save_strategy="no",
        logging_steps=5,
        seed=seed,
        data_seed=seed,
        report_to=["mlflow"],
        disable_tqdm=True,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available() and launched_processes() > 1,  # DDP on CPU (gloo)
    )


def _tokenized(tokenizer, rows, max_length: int):
    import datasets

    ds = datasets.Dataset.from_dict({"text": adaptation_texts(rows)})
    return ds.map(
        lambda b: tokenizer(b["text"], truncation=True, max_length=max_length),
        batched=True,
        remove_columns=["text"],
    )


def _train_measuring_loss(trainer) -> dict[str, float]:
    """Trains; the held-out masked-LM loss and perplexity before and after."""
    import math

    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    return {
        "val_mlm_loss_before": before,
        "val_mlm_loss_after": after,
        "val_perplexity_before": math.exp(before),
        "val_perplexity_after": math.exp(after),
    }


def _save_adapted(mlm_model, tokenizer, base_dir: Path, out: Path) -> None:
    _save_encoder_with_pooler(mlm_model, base_dir, out)
    tokenizer.save_pretrained(str(out))


def _save_encoder_with_pooler(mlm_model, base_dir: Path, out: Path) -> None:
    """A masked-LM model has no pooler, so saving it would drop the base's pretrained pooler and
    the classifier would start from a random one. Save the adapted encoder inside the base's
    own architecture instead, keeping the base pooler."""
    from transformers import AutoModel

    from training.families.transformer.checkpoint_loading import load_with_new_head

    encoder = load_with_new_head(AutoModel, base_dir, local_files_only=True, use_safetensors=True)
    missing, unexpected = encoder.load_state_dict(mlm_model.base_model.state_dict(), strict=False)
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise RuntimeError(f"adapted encoder does not match the base: missing {missing}, unexpected {unexpected}")
    encoder.save_pretrained(str(out))
