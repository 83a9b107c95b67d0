"""Transformer speed on this machine: fine-tune time per epoch, and scoring with PyTorch fp32
versus int8 ONNX (throughput, single-item latency, agreement, peak memory).

    .venv/bin/python benchmarks/bench_transformer.py --model models:/imr-transformer/1
    .venv/bin/python benchmarks/bench_transformer.py --model URI --epoch   # also time one fine-tune epoch

Target on 2 cores: >= 50 items/s at 256 tokens with ONNX int8; ONNX within 0.02 of PyTorch.
Scoring uses every bundled item (case summaries included), so most inputs fill max_length.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_timings(predictor, rows: list[dict], repeat_single: int) -> dict[str, float]:
    predictor.predict(rows[:8])  # warm-up: first call allocates and picks kernels
    start = time.perf_counter()
    p = [r["p_overturned"] for r in predictor.predict(rows)]
    batch_s = time.perf_counter() - start
    latencies = []
    for row in rows[:repeat_single]:
        t = time.perf_counter()
        predictor.predict([row])
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    return {
        "items_per_s": len(rows) / batch_s,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "p": p,
    }


def time_one_epoch(max_length: int) -> dict[str, float]:
    """Fine-tune one epoch of the configured transformer on the bundled train split, in a
    throwaway MLflow store; returns the Trainer's train_runtime."""
    import tempfile

    import mlflow

    from serving.store import open_store
    from training.config_loading import load_config
    from training.data.loading import load_splits
    from training.data.splits import Split
    from training.families.transformer import fit

    cfg = load_config(
        ROOT / "configs" / "transformer.yaml",
        [
            "model.epochs=1",
            "model.domain_adaptation.enabled=false",
            "model.export_onnx=false",
            f"model.max_length={max_length}",
        ],
    )
    dsd, _ = load_splits(cfg.data)
    train = Split.of(dsd["train"], cfg.data.feature_view)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"  # a throwaway store, not ./mlflow.db
        open_store()
        with mlflow.start_run():
            start = time.perf_counter()
            model_dir = Path(tmp) / "model"
            model_dir.mkdir()
            fit(cfg, train, None, model_dir)
            wall = time.perf_counter() - start
            runtime = mlflow.get_run(mlflow.active_run().info.run_id).data.metrics.get("train_runtime", wall)
    return {"epoch_wall_s": wall, "epoch_train_runtime_s": runtime, "train_items": len(train)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a transformer model URI (models:/imr-transformer/1)")
    parser.add_argument("--single", type=int, default=100, help="single-item calls for the latency figures")
    parser.add_argument("--epoch", action="store_true", help="also time one fine-tune epoch")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import datasets

    from features.ingest import ingest
    from serving.predictor import load_predictor
    from training.config import DataConfig

    dsd, _ = ingest(DataConfig().source_paths(), seed=0)
    rows = list(datasets.concatenate_datasets([dsd[s] for s in dsd]))
    test_rows = list(dsd["test"])
    figures: dict[str, float] = {"cpu_count": os.cpu_count(), "items": len(rows)}
    print(
        f"machine: {platform.platform()}  cpu_count {os.cpu_count()}  torch threads "
        f"{__import__('torch').get_num_threads()}  items {len(rows)}"
    )

    results = {}
    for backend in ("torch", "onnx"):
        rss_before = peak_rss_mb()
        t = time.perf_counter()
        predictor = load_predictor(args.model, backend=backend)
        load_s = time.perf_counter() - t
        results[backend] = score_timings(predictor, rows, args.single)
        results[backend]["test_p"] = [r["p_overturned"] for r in predictor.predict(test_rows)]
        results[backend]["load_s"] = load_s
        results[backend]["peak_rss_mb"] = peak_rss_mb()
        max_length = predictor.scorer.max_length
        print(
            f"{backend:<6} max_length {max_length}: {results[backend]['items_per_s']:7.1f} items/s batch, "
            f"p50 {results[backend]['p50_ms']:6.1f} ms, p95 {results[backend]['p95_ms']:6.1f} ms single item, "
            f"load {load_s:.1f} s, peak RSS so far {results[backend]['peak_rss_mb']:.0f} MB (was {rss_before:.0f})"
        )
        for key in ("items_per_s", "p50_ms", "p95_ms", "load_s", "peak_rss_mb"):
            figures[f"{backend}_{key}"] = results[backend][key]

    diff_all = max(abs(a - b) for a, b in zip(results["torch"]["p"], results["onnx"]["p"]))
    diff_test = max(abs(a - b) for a, b in zip(results["torch"]["test_p"], results["onnx"]["test_p"]))
    figures.update({"max_abs_diff_all_items": diff_all, "max_abs_diff_test_items": diff_test})
    onnx_ok = figures["onnx_items_per_s"] >= 50
    print(
        f"ONNX int8 vs PyTorch fp32: max |dp| {diff_test:.4f} on test items, {diff_all:.4f} on all "
        f"({'PASS' if diff_test <= 0.02 else 'FAIL'} <= 0.02)"
    )
    print(
        f"ONNX int8 throughput {figures['onnx_items_per_s']:.1f} items/s ({'PASS' if onnx_ok else 'FAIL'} >= 50), "
        f"speed-up over PyTorch x{figures['onnx_items_per_s'] / figures['torch_items_per_s']:.2f}"
    )
    if args.epoch:
        epoch = time_one_epoch(max_length)
        figures.update(epoch)
        print(
            f"fine-tune: one epoch over {epoch['train_items']} train items at max_length {max_length}: "
            f"{epoch['epoch_train_runtime_s']:.0f} s (Trainer), {epoch['epoch_wall_s']:.0f} s wall with set-up"
        )
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
