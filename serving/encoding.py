"""Token ids for the transformer, shared by training and scoring so both see the same input.

Long inputs use head+tail truncation: the first `head_fraction` of the token budget comes from
the start of the text (the treatment is always first, then metadata, the guideline and the
summary's opening) and the rest from its end (where summaries state the UR decision and the
treatment plan). Chunking with pooling would cost a forward pass per chunk; head+tail costs one.
"""

from __future__ import annotations

from collections.abc import Sequence


def encode(tokenizer, texts: Sequence[str], max_length: int, head_fraction: float) -> dict[str, list[list[int]]]:
    """input_ids and attention_mask per text, unpadded, each at most max_length long."""
    budget = max_length - 2  # [CLS] ... [SEP]
    ids_per_text = tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    input_ids = []
    for ids in ids_per_text:
        if len(ids) > budget:
            head = int(budget * head_fraction)
            ids = ids[:head] + (ids[len(ids) - (budget - head) :] if budget > head else [])
        input_ids.append([tokenizer.cls_token_id, *ids, tokenizer.sep_token_id])
    return {"input_ids": input_ids, "attention_mask": [[1] * len(ids) for ids in input_ids]}


def pad_batch(tokenizer, encoded: dict[str, list[list[int]]]):
    """Right-pad a batch to its longest member (the tokenizer's own `pad`); int64 arrays, which
    torch and the exported ONNX graph both take."""
    import numpy as np

    batch = tokenizer.pad(encoded, padding="longest", return_tensors="np")
    return {k: np.asarray(batch[k], dtype=np.int64) for k in ("input_ids", "attention_mask")}


def mean_pooled(model, tokenizer, encoded: dict[str, list[list[int]]], normalize: bool, batch_size: int = 32):
    """(texts, hidden) float32: the mean of the encoder's last hidden states over each text's tokens,
    L2-normalised when `normalize`. The features a linear head reads in the frozen_encoder and setfit
    recipes: training embeds with this same function, so the head sees at fit what it sees in serving."""
    import numpy as np
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(encoded["input_ids"]), batch_size):
            batch = pad_batch(tokenizer, {k: v[start : start + batch_size] for k, v in encoded.items()})
            tensors = {k: torch.from_numpy(v) for k, v in batch.items()}
            states = model(**tensors).last_hidden_state
            mask = tensors["attention_mask"].unsqueeze(-1).to(states.dtype)
            out.append(((states * mask).sum(1) / mask.sum(1).clamp(min=1)).float().numpy())
    vectors = np.concatenate(out) if out else np.zeros((0, model.config.hidden_size), dtype=np.float32)
    if normalize:
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    return vectors.astype(np.float32)
