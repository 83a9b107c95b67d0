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
