"""Mean-pooled embeddings of a frozen encoder, cached per text within a process.

Two users: the transformer family's frozen_encoder recipe (head+tail input of model.max_length
tokens, exactly as serving encodes it, serving.encoding.mean_pooled) and the issue-9 study's
scikit-learn block (SentenceEmbedder: all-MiniLM-L6-v2, long texts cut into 256-token windows
whose embeddings are averaged). Embeddings are L2-normalised, so a linear head on top sees the
text's content rather than its length. The cache is keyed by encoder folder, input settings and
text, so nested cross-validation embeds each item once; nothing is written to disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from serving.encoding import encode, mean_pooled
from training.families.transformer.base_model import MINILM_PACKAGE, MINILM_SHA256, resolve_base_model

_CACHE: dict[tuple, np.ndarray] = {}
_ENCODERS: dict[str, tuple] = {}


def frozen_encoder(folder: Path, cache: bool = True) -> tuple:
    """(tokenizer, model in eval mode) of a verified checkpoint folder; loaded once per process
    unless `cache` is off (a folder whose weights change, e.g. a domain-adapted encoder)."""
    key = str(folder)
    if key in _ENCODERS and cache:
        return _ENCODERS[key]
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True).eval()
    if cache:
        _ENCODERS[key] = (tokenizer, model)
    return tokenizer, model


def embed_head_tail(folder: Path, texts: Sequence[str], max_length: int, head_fraction: float) -> np.ndarray:
    """(len(texts), hidden) unit vectors of the frozen encoder in `folder` (already verified by
    training.families.transformer.base_model.resolve_base_model), one head+tail window per text."""
    key = (str(folder), "head_tail", max_length, head_fraction)
    todo = [t for t in dict.fromkeys(texts) if (*key, t) not in _CACHE]
    if todo:
        tokenizer, model = frozen_encoder(folder)
        vectors = mean_pooled(model, tokenizer, encode(tokenizer, todo, max_length, head_fraction), normalize=True)
        _CACHE.update({(*key, t): v for t, v in zip(todo, vectors)})
    return np.stack([_CACHE[(*key, t)] for t in texts]).astype(np.float32)


def embed(texts: Sequence[str], window: int = 256, max_windows: int = 4) -> np.ndarray:
    """(len(texts), 384) unit vectors of frozen all-MiniLM-L6-v2: up to max_windows windows of
    `window` tokens per text, their mean-pooled embeddings averaged (the issue-9 features)."""
    folder = _minilm()
    key = (str(folder), "windows", window, max_windows)
    todo = [t for t in dict.fromkeys(texts) if (*key, t) not in _CACHE]
    if todo:
        tokenizer, model = frozen_encoder(folder)
        pieces, owner = [], []
        step = window - 2
        for i, text in enumerate(todo):
            ids = tokenizer(text or " ", add_special_tokens=False)["input_ids"]
            chunks = [ids[s : s + step] for s in range(0, max(len(ids), 1), step)][:max_windows] or [[]]
            pieces += [tokenizer.decode(chunk) for chunk in chunks]
            owner += [i] * len(chunks)
        vectors = mean_pooled(model, tokenizer, encode(tokenizer, pieces, window, 1.0), normalize=False)
        owner = np.asarray(owner)
        for i, text in enumerate(todo):
            v = vectors[owner == i].mean(0)
            _CACHE[(*key, text)] = v / max(np.linalg.norm(v), 1e-9)
    return np.stack([_CACHE[(*key, t)] for t in texts]).astype(np.float32)


@cache
def _minilm() -> Path:
    """The verified MiniLM folder, hashed once per process (embed() runs once per grid point)."""
    return resolve_base_model(MINILM_PACKAGE, MINILM_SHA256)


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
