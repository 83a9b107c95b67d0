"""How closely the shipped int8 ONNX model follows the PyTorch one, and how much faster it is,
measured with serving's own scorer on some training items and logged with the run (the model
card reports it)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from serving.model_dir import ModelMeta, sha256_file
from serving.transformer_scorer import TransformerScorer

SAMPLE = 64  # items: enough to bound the difference and time a few batches, seconds on a CPU


def onnx_agreement(model_dir: Path, records: list[dict], feature_view: str, options: dict) -> dict[str, float]:
    """`onnx_max_abs_diff` and `onnx_mean_abs_diff` of P(Overturned) before calibration, and items per
    second of each backend, on up to SAMPLE records. The folder is not packaged yet, so the meta is
    built here, listing every file in it (the scorer reads only listed files)."""
    sample = records[:SAMPLE]
    files = {str(p.relative_to(model_dir)): sha256_file(p) for p in sorted(model_dir.rglob("*")) if p.is_file()}
    meta = ModelMeta(family="transformer", feature_view=feature_view, threshold=0.5, files=files, options=options)
    out: dict[str, np.ndarray] = {}
    speed: dict[str, float] = {}
    for backend in ("torch", "onnx"):
        scorer = TransformerScorer(model_dir, meta, backend)
        scorer.predict_proba(sample[:2])  # warm-up: first calls allocate
        start = time.perf_counter()
        out[backend] = scorer.predict_proba(sample)
        speed[backend] = len(sample) / max(time.perf_counter() - start, 1e-9)
    diff = np.abs(out["torch"] - out["onnx"])
    return {
        "onnx_max_abs_diff": float(diff.max()),
        "onnx_mean_abs_diff": float(diff.mean()),
        "onnx_items": float(len(sample)),
        "onnx_items_per_s": speed["onnx"],
        "torch_items_per_s": speed["torch"],
    }
