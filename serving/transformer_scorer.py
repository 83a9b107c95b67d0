"""Scores items with a transformer package: PyTorch fp32, or the int8 ONNX model for fast CPU use.

Two layouts, told apart by the family option `recipe`: `fine_tune` (a sequence classifier whose
logits are the scores; packages without the option are this) and `frozen_encoder` / `setfit`
(an encoder whose mean-pooled, L2-normalised embedding a linear head scores: HEAD_FILE holds its
`coef` and `intercept`; PyTorch only, see training.families.transformer).
The backend is chosen at load: `backend="onnx"` (or IMR_BACKEND=onnx) when the model folder has
an ONNX export, else PyTorch. Weights are loaded only after `read_verified_meta` checked their hashes,
and only files the manifest lists are read (serving.model_dir.listed_files_only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax

from serving.encoding import encode, pad_batch
from serving.model_dir import ModelMeta, listed_files_only, require_listed

ONNX_FILE = "onnx/model.int8.onnx"
HEAD_FILE = "head.safetensors"  # the linear head of an encoder + head package (float32 coef, intercept)
POOLED_RECIPES = ("frozen_encoder", "setfit")
BATCH_SIZE = 32


@contextmanager
def _no_loading_bar():
    """transformers draws a "Loading weights" bar for every checkpoint it loads: noise for a model that
    loads in a fraction of a second. Switched off for the load only, then restored."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


class TransformerScorer:
    def __init__(self, model_dir: Path, meta: ModelMeta, backend: str | None = None):
        self.meta = meta
        self.max_length = int(meta.options["max_length"])
        self.head_fraction = float(meta.options["head_fraction"])
        self.recipe = str(meta.options.get("recipe", "fine_tune"))
        self.pooled = self.recipe in POOLED_RECIPES
        if self.pooled and meta.options.get("pooling") != "mean":
            raise ValueError(f"{model_dir}: pooling {meta.options.get('pooling')!r} is not supported (only 'mean')")
        self.normalize = bool(meta.options.get("normalize", True))
        backend = backend or os.environ.get("IMR_BACKEND") or "torch"
        if backend not in ("torch", "onnx"):
            raise ValueError(f"unknown backend {backend!r}; expected 'torch' or 'onnx'")
        if backend == "onnx" and ONNX_FILE not in meta.files:
            raise ValueError(f"{model_dir}: no ONNX export in this model; use backend='torch'")
        weights = (["model.safetensors"] if backend == "torch" else []) + ([HEAD_FILE] if self.pooled else [])
        require_listed(model_dir, meta, "config.json", *weights)
        self.backend = backend
        # transformers reads whichever tokenizer and config files it finds in a folder: it is given
        # one that holds only the files the manifest lists (and read_verified_meta checked).
        with listed_files_only(model_dir, meta) as folder:
            self._load(folder)

    def _load(self, folder: Path) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        if self.backend == "onnx":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = int(os.environ.get("IMR_THREADS", "0"))
            self.session = ort.InferenceSession(str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        elif self.pooled:
            from safetensors.numpy import load_file
            from transformers import AutoModel

            with _no_loading_bar():
                self.model = AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True).eval()
            head = load_file(str(folder / HEAD_FILE))
            self.coef = head["coef"].astype(np.float32).reshape(-1)
            self.intercept = float(head["intercept"].reshape(-1)[0])
        else:
            from transformers import AutoModelForSequenceClassification

            with _no_loading_bar():
                self.model = AutoModelForSequenceClassification.from_pretrained(
                    folder, local_files_only=True, use_safetensors=True
                ).eval()

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        from features.views import model_inputs

        texts = [model_inputs(r, self.meta.feature_view)["text"] for r in records]
        if self.pooled:
            return self._pooled_proba(texts)
        out = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = pad_batch(
                self.tokenizer,
                encode(self.tokenizer, texts[start : start + BATCH_SIZE], self.max_length, self.head_fraction),
            )
            out.append(self._logits(batch))
        logits = np.concatenate(out) if out else np.zeros((0, 2))
        return softmax(logits, axis=1)[:, 1]

    def _pooled_proba(self, texts: list[str]) -> np.ndarray:
        """The linear head on the mean-pooled embedding: P(Overturned) = sigmoid(coef . e + intercept)."""
        from scipy.special import expit

        from serving.encoding import mean_pooled

        encoded = encode(self.tokenizer, texts, self.max_length, self.head_fraction)
        vectors = mean_pooled(self.model, self.tokenizer, encoded, self.normalize, BATCH_SIZE)
        return expit(vectors @ self.coef + self.intercept)

    def _logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        if self.backend == "onnx":
            return self.session.run(["logits"], batch)[0]
        import torch

        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v) for k, v in batch.items()}
            return self.model(**tensors).logits.float().numpy()
