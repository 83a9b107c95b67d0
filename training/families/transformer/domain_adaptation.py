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
    import math

    import datasets
    import torch
    from transformers import (
        AutoModelForMaskedLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from training.families.transformer.checkpoint_loading import load_with_new_head
    from training.families.transformer.trainer_progress import use_progress

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    # An encoder checkpoint has no masked-LM head (`cls.predictions.*` starts fresh) and its pooler
    # has no place in a masked-LM model; the pooler is put back on saving (_save_encoder_with_pooler).
    model = load_with_new_head(
        AutoModelForMaskedLM,
        base_dir,
        new=("cls.predictions.",),
        dropped=("pooler.",),
        local_files_only=True,
        use_safetensors=True,
    )

    def tokenized(rows):
        ds = datasets.Dataset.from_dict({"text": adaptation_texts(rows)})
        return ds.map(
            lambda b: tokenizer(b["text"], truncation=True, max_length=da.max_length),
            batched=True,
            remove_columns=["text"],
        )

    if val_rows is None:  # cross-validation and the final refit: hold out some train letters for the MLM loss
        held = {lid for lid in set(train_rows["letter_id"]) if letter_unit(lid, "mlm-eval") < 0.15}
        val_rows = train_rows.filter(lambda r: r["letter_id"] in held)
        train_rows = train_rows.filter(lambda r: r["letter_id"] not in held)
    args = TrainingArguments(
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
    )
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=da.mlm_probability, seed=seed)
    with mlflow.start_run(run_name="domain-adaptation", nested=True) as run:
        mlflow.set_tags({"stage": "domain_adaptation", "base_model": base_model})
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=tokenized(train_rows),
            eval_dataset=tokenized(val_rows),
            processing_class=tokenizer,
            data_collator=collator,
        )
        use_progress(trainer, "domain adaptation")
        before = trainer.evaluate()["eval_loss"]
        trainer.train()
        after = trainer.evaluate()["eval_loss"]
        mlflow.log_metrics(
            {
                "val_mlm_loss_before": before,
                "val_mlm_loss_after": after,
                "val_perplexity_before": math.exp(before),
                "val_perplexity_after": math.exp(after),
            }
        )
        adapted = out_dir / "adapted"
        _save_encoder_with_pooler(trainer.model, base_dir, adapted)
        tokenizer.save_pretrained(str(adapted))
    mlflow.log_param("domain_adaptation_run_id", run.info.run_id)
    return adapted


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
