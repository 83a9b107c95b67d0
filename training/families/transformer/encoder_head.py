"""The transformer family's encoder + linear head recipes (issue 18): `frozen_encoder` and `setfit`.

Both package an encoder and a logistic-regression head on its mean-pooled, L2-normalised embedding
of the head+tail input (serving.encoding.mean_pooled, what serving.transformer_scorer computes):
- frozen_encoder: the base encoder as it is; embeddings are cached per text in the process
  (training.families.transformer.embeddings), so the ~20 fits of a nested cross-validation embed each item once.
- setfit: the encoder body first trained contrastively by the `setfit` package (pairs of training
  items, same label or not, cosine-similarity loss), then the same head on its embeddings.
The head's C is chosen by grouped inner CV (StratifiedGroupKFold by letter, AUROC) on the training
items only. Files: the encoder (save_pretrained: config.json, model.safetensors), its tokenizer and
serving.transformer_scorer.HEAD_FILE (coef, intercept as safetensors): no pickle anywhere.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import mlflow
import numpy as np
from pydantic import Field
from safetensors.numpy import save_file
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from serving.encoding import encode, mean_pooled
from serving.transformer_scorer import HEAD_FILE
from training.config import Strict
from training.data.splits import Split
from training.families.transformer.base_model import freeze_lower_layers
from training.families.transformer.embeddings import embed_head_tail, frozen_encoder

INNER_FOLDS = 4
log = logging.getLogger(__name__)


class SetFitConfig(Strict):
    """The contrastive phase of the setfit recipe, sized for a 2-core CPU: num_iterations x 2 pairs
    per training item, one pass over them. 2 iterations (~1,000 pairs for 270 items) took 6-11 min a
    fold on the shared machine of issue 18; setfit's former default of 20 would take 1-2 hours."""

    num_iterations: int = Field(default=2, ge=1)
    epochs: int = Field(default=1, ge=1)
    batch_size: int = Field(default=16, ge=2)
    learning_rate: float = Field(default=2e-5, gt=0)


def fit_encoder_head(cfg, train: Split, base_dir: Path, model_dir: Path, cache: bool = True) -> dict:
    """Write the encoder, tokenizer and head into model_dir; the family options for imr_model.json.
    `cache`: the frozen encoder's embeddings may be cached by folder (false for a domain-adapted one)."""
    m = cfg.model
    texts = list(train.frame["text"])
    if m.recipe == "setfit":
        tokenizer, encoder = _setfit_body(cfg, train, base_dir)
    else:
        tokenizer, encoder = frozen_encoder(base_dir, cache)
    if m.recipe == "frozen_encoder" and cache:
        X = embed_head_tail(base_dir, texts, m.max_length, m.head_fraction)
    else:
        X = mean_pooled(encoder, tokenizer, encode(tokenizer, texts, m.max_length, m.head_fraction), normalize=True)
    head, chosen_c = fit_head(X, train.y, train.letter_keys, m.head_c_grid, m.class_weight, cfg.seed)
    mlflow.log_param("head_C", chosen_c)
    encoder.save_pretrained(str(model_dir))  # safetensors + config.json
    tokenizer.save_pretrained(str(model_dir))
    save_file(
        {
            "coef": head.coef_.reshape(-1).astype(np.float32),
            "intercept": head.intercept_.reshape(-1).astype(np.float32),
        },
        str(model_dir / HEAD_FILE),
    )
    return {"recipe": m.recipe, "pooling": "mean", "normalize": True, "head_C": chosen_c}


def fit_head(X, y, groups, grid: list[float], class_weight, seed: int) -> tuple[LogisticRegression, float]:
    """LogisticRegression on X with C from `grid`: by grouped inner CV (AUROC) when the grid has
    more than one value and some inner fold holds both classes, else the grid's middle value."""
    estimator = LogisticRegression(class_weight=class_weight, max_iter=5000)
    splits = []
    if len(grid) > 1:
        n_splits = min(INNER_FOLDS, len(set(groups)))
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed) if n_splits >= 2 else None
        splits = [(a, b) for a, b in (cv.split(X, y, groups) if cv else []) if len(set(y[b])) == 2]
    if not splits:
        if len(grid) > 1:
            log.info("head C: no inner fold holds both classes; using C=%g", grid[len(grid) // 2])
        c = float(grid[len(grid) // 2])
        return estimator.set_params(C=c).fit(X, y), c
    search = GridSearchCV(estimator, {"C": list(grid)}, scoring="roc_auc", cv=splits, refit=True)
    search.fit(X, y)
    return search.best_estimator_, float(search.best_params_["C"])


def _setfit_body(cfg, train: Split, base_dir: Path):
    """(tokenizer, encoder) after SetFit's contrastive training on the training items. It sees the
    same head+tail input serving encodes (decoded back to text, re-tokenised by SetFit)."""
    from sentence_transformers import SentenceTransformer
    from setfit import SetFitModel, Trainer, TrainingArguments
    from transformers import set_seed

    m, s = cfg.model, cfg.model.setfit
    set_seed(cfg.seed)
    body = SentenceTransformer(str(base_dir), local_files_only=True, device="cpu", trust_remote_code=False)
    body.max_seq_length = m.max_length
    freeze_lower_layers(body[0].auto_model, m.freeze_layers)  # as fine_tune: only the top layers move
    tokenizer = body[0].tokenizer
    ids = encode(tokenizer, list(train.frame["text"]), m.max_length, m.head_fraction)["input_ids"]
    texts = tokenizer.batch_decode([i[1:-1] for i in ids])
    model = SetFitModel(model_body=body, model_head=LogisticRegression())
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            batch_size=s.batch_size,
            num_epochs=s.epochs,
            num_iterations=s.num_iterations,
            body_learning_rate=s.learning_rate,
            max_length=m.max_length,
            seed=cfg.seed,
            report_to="none",
            show_progress_bar=False,
        )
        trainer = Trainer(model=model, args=args)
        trainer.train_embeddings(texts, train.y.tolist())
    return tokenizer, body[0].auto_model.eval()
