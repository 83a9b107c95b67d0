"""Transformer speed: fine-tuning throughput of `imr train`'s path against a bare PyTorch loop, what
length grouping and per-batch padding save on the letters' real lengths, a 1M-letter projection; and
CPU scoring with PyTorch fp32 versus int8 ONNX.

    .venv/bin/python benchmarks/bench_transformer.py fit --base tiny
    .venv/bin/python benchmarks/bench_transformer.py fit --base minilm --dataset /tmp/st-ingest --grouping --project
    .venv/bin/python benchmarks/bench_transformer.py score --model models:/imr-transformer/1 [--epoch]

`fit` builds the Trainer exactly as `imr train` does (training.families.transformer.fine_tune.build_trainer:
cached token ids, length-grouped batches padded per batch, class-weighted loss, the configured optimizer,
mixed precision on a GPU) and trains one epoch in a nested MLflow run of a throwaway store; then a bare
loop (forward, loss, backward, optimizer step; the same autocast) runs the very batches the Trainer's
DataLoader yielded, on a fresh copy of the same model. Both are timed per optimizer step after
--warmup steps (with torch.cuda.synchronize on a GPU), by the wall clock and by this process's CPU
time (the steadier figure on a shared CPU); --repeat runs each that many times in turn and keeps the
best. Target on a GPU: Trainer >= 0.8 x bare loop.
`--grouping` also trains with random batches (group_by_length off) to show what grouping buys.
The items are the ingested letters' items (--dataset, an `imr ingest` output; default: the bundled
letters ingested here), repeated to --items when asked.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))  # tiny_bert: the tiny random BERT of the tests

H100_BF16_DENSE_FLOPS = 989e12  # NVIDIA H100 SXM5, dense bf16 tensor-core peak
ASSUMED_UTILISATION = 0.25  # model FLOPs utilisation assumed for a 6-layer, 384-wide encoder (see --help)
DDP_SCALING_8 = 0.9  # assumed efficiency of 8 GPUs over one (a 90 MB gradient all-reduce per step)
ITEMS_1M = 2_200_000  # about 2.2 items per letter


def items_split(dataset: Path | None, items: int):
    """The training items (every split of the ingested letters), repeated to `items` when larger."""
    import numpy as np

    from training.config import DataConfig
    from training.data.loading import load_splits
    from training.data.splits import Split, all_items

    dsd, _ = load_splits(DataConfig(dataset=str(dataset)) if dataset else DataConfig())
    split = Split.of(all_items(dsd), "pre_decision")
    if items and items > len(split):
        split = split.select(np.resize(np.arange(len(split)), items))
    return split


def base_folder(base: str, split, tmp: Path) -> tuple[Path, str, str | None]:
    """(folder, config value, sha256 or None) of the base: the tests' tiny BERT, MiniLM or a folder."""
    from training.families.transformer.base_model import MINILM_PACKAGE, MINILM_SHA256, resolve_base_model

    if base == "tiny":
        from tiny_bert import build_tiny_bert

        folder = build_tiny_bert(tmp / "tiny", list(split.frame["text"]))
        return folder, str(folder), None
    if base == "minilm":
        return resolve_base_model(MINILM_PACKAGE, MINILM_SHA256), MINILM_PACKAGE, MINILM_SHA256
    return Path(base), base, None


class StepTimes:
    """Wall-clock and process CPU time at the end of each optimizer step (after the GPU has finished
    it). On a shared CPU the CPU time is the steadier figure: other work stretches the wall clock."""

    def __init__(self, cuda: bool):
        self.cuda, self.ends, self.cpu = cuda, [], []

    def mark(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()
        self.ends.append(time.perf_counter())
        self.cpu.append(time.process_time())

    def items_per_s(self, batch_items: list[int], warmup: int, clock: str = "wall") -> float:
        """Items of steps warmup+1.. over the time from the end of step `warmup` to the last end."""
        ends = self.ends if clock == "wall" else self.cpu
        return sum(batch_items[warmup + 1 : len(ends)]) / (ends[-1] - ends[warmup])


def trainer_run(cfg, base_dir: Path, split, warmup: int, cuda: bool) -> dict:
    """One epoch of imr train's fine-tuning Trainer; its batches and timing."""
    import mlflow
    from transformers import AutoTokenizer, TrainerCallback

    from training.families.transformer.fine_tune import build_trainer, new_classifier, run_trainer

    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = build_trainer(cfg, new_classifier(cfg, base_dir), tokenizer, split, None, Path(tmp))
        batches = list(trainer.get_train_dataloader())  # a fresh, identically seeded sampler: the epoch to come
        times = StepTimes(cuda)

        class Timer(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                times.mark()

        trainer.add_callback(Timer())
        with mlflow.start_run(run_name="bench"):
            run_trainer(trainer)
    return {"batches": batches, "times": times, "args": trainer.args}


def bare_run(cfg, base_dir: Path, split, batches: list, args, cuda: bool) -> StepTimes:
    """The same batches through forward, loss, backward and an optimizer step, nothing else."""
    import torch

    from training.families.transformer.fine_tune import _class_weights, _optimizer, new_classifier, weighted_loss

    device = torch.device("cuda" if cuda else "cpu")
    model = new_classifier(cfg, base_dir).to(device).train()
    spec = _optimizer(model, cfg.model)
    optimizer = (
        spec[0](**spec[1])
        if spec
        else torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=cfg.model.learning_rate, weight_decay=0.01
        )
    )
    loss_fn = weighted_loss(_class_weights(split.y, cfg.model.class_weight))
    dtype = torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else None
    times = StepTimes(cuda)
    for batch in batches:
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        labels = batch.pop("labels")
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            outputs = model(**batch)
        loss_fn(outputs, labels).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.mark()
    return times


def forward_run(cfg, base_dir: Path, batches: list, args, cuda: bool) -> StepTimes:
    """The same batches through the forward pass only (what scoring the held-out items costs)."""
    import torch

    from training.families.transformer.fine_tune import new_classifier

    device = torch.device("cuda" if cuda else "cpu")
    model = new_classifier(cfg, base_dir).to(device).eval()
    dtype = torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else None
    times = StepTimes(cuda)
    with torch.inference_mode():
        for batch in batches:
            batch = {k: v.to(device) for k, v in batch.items() if k != "labels"}
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                model(**batch)
            times.mark()
    return times


def padding(batches: list) -> dict:
    """Real tokens, tokens after per-batch padding, and items, over the batches."""
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    padded = sum(b["attention_mask"].numel() for b in batches)
    return {"real_tokens": real, "padded_tokens": padded, "items": sum(len(b["labels"]) for b in batches)}


def fit_config(base_value: str, sha: str | None, args, group_by_length: bool, cache: Path):
    from training.config_loading import load_config

    sets = [
        f"model.base_model={base_value}",
        f"model.base_sha256={sha or 'null'}",
        "model.epochs=1",
        "model.export_onnx=false",
        "model.domain_adaptation.enabled=false",
        f"model.group_by_length={str(group_by_length).lower()}",
        f"model.tokenized_cache_dir={cache}",
        *(["model.freeze_layers=0", "model.head_learning_rate=null"] if args.base == "tiny" else []),
        *([f"model.max_length={args.max_length}"] if args.max_length else []),
        *([f"model.batch_size={args.batch}", f"model.gpu_batch_size={args.batch}"] if args.batch else []),
        *args.set,
    ]
    return load_config(ROOT / "configs" / "transformer.yaml", sets)


def measure_fit(args, split, base_dir, base_value, sha, cache: Path, group_by_length: bool, bare: bool) -> dict:
    """The Trainer for one epoch and (with `bare`) the bare loop and a forward-only pass on its
    batches, --repeat times in turn; the best of the repeats of each (other work on a shared machine
    only ever slows a run down): items/s by the wall clock and per CPU-second of this process."""
    import torch

    cuda = torch.cuda.is_available()
    cfg = fit_config(base_value, sha, args, group_by_length, cache)
    best: dict[str, float] = {}

    def keep(name: str, times: StepTimes, sizes: list[int]) -> None:
        for clock, suffix in (("wall", "items_per_s"), ("cpu", "items_per_cpu_s")):
            key = f"{name}_{suffix}"
            best[key] = max(best.get(key, 0.0), times.items_per_s(sizes, args.warmup, clock))

    for _ in range(args.repeat):
        run = trainer_run(cfg, base_dir, split, args.warmup, cuda)
        sizes = [len(b["labels"]) for b in run["batches"]]
        if len(sizes) <= args.warmup + 1:
            raise SystemExit(f"only {len(sizes)} steps: use --items to have more than --warmup + 1")
        keep("trainer", run["times"], sizes)
        if bare:
            keep("bare", bare_run(cfg, base_dir, split, run["batches"], run["args"], cuda), sizes)
            keep("forward", forward_run(cfg, base_dir, run["batches"], run["args"], cuda), sizes)
    out = {
        "group_by_length": group_by_length,
        "max_length": cfg.model.max_length,
        "batch": run["args"].per_device_train_batch_size,
        "freeze_layers": cfg.model.freeze_layers,
        "precision": "bf16" if run["args"].bf16 else "fp16" if run["args"].fp16 else "fp32",
        "steps": len(sizes),
        "repeats": args.repeat,
        **best,
        **padding(run["batches"]),
    }
    out["tokens_per_item"] = out["padded_tokens"] / out["items"]
    out["cpu_s_per_item"] = 1 / out["trainer_items_per_cpu_s"]
    if bare:
        out["ratio"] = out["trainer_items_per_s"] / out["bare_items_per_s"]
        out["ratio_cpu"] = out["trainer_items_per_cpu_s"] / out["bare_items_per_cpu_s"]
    return out


def print_fit(r: dict) -> None:
    waste = 1 - r["real_tokens"] / r["padded_tokens"]
    print(
        f"  {'grouped' if r['group_by_length'] else 'random '} batches of {r['batch']} at max_length "
        f"{r['max_length']} ({r['precision']}, {r['freeze_layers']} frozen layers), {r['steps']} steps: "
        f"tokens {r['real_tokens']:,} real, {r['padded_tokens']:,} padded ({waste:.1%} padding, "
        f"{r['tokens_per_item']:.1f} per item)\n"
        f"    Trainer {r['trainer_items_per_s']:.2f} items/s wall, {r['trainer_items_per_cpu_s']:.2f} items per "
        f"CPU-s ({r['cpu_s_per_item'] * 1000:.1f} CPU-ms/item)"
    )
    if "ratio" in r:
        print(
            f"    bare loop {r['bare_items_per_s']:.2f} items/s wall, {r['bare_items_per_cpu_s']:.2f} items per CPU-s; "
            f"Trainer / bare: {r['ratio']:.3f} wall, {r['ratio_cpu']:.3f} CPU\n"
            f"    forward pass only (scoring): {r['forward_items_per_cpu_s']:.2f} items per CPU-s"
        )


def length_table(
    split, base_dir: Path, lengths: list[int], batches: list[int], sample: int, seed: int = 0
) -> list[dict]:
    """Padded tokens per real token for static padding (every item to max_length), random batches
    padded per batch, and length-grouped batches (as fine-tuning draws them) padded per batch, on
    `sample` items drawn with replacement from the items' token lengths (0: the items themselves).
    Grouping sorts within groups of min(50, n / 4 batches) batches, so a few hundred items show
    little of what it does on a corpus: the sample gives the corpus-sized groups."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from serving.encoding import encode

    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    texts = list(split.frame["text"])
    rows = []
    for max_length in lengths:
        n = np.array([len(i) for i in encode(tokenizer, texts, max_length, 0.75)["input_ids"]])
        if sample:
            n = np.random.default_rng(seed).choice(n, size=sample, replace=True)
        for batch in batches:
            order = {
                "random": np.random.default_rng(seed).permutation(len(n)),
                "grouped": np.array(
                    list(LengthGroupedSampler(batch, lengths=n.tolist(), generator=torch.Generator().manual_seed(seed)))
                ),
            }
            row = {"max_length": max_length, "batch": batch, "items": len(n), "real_tokens": int(n.sum())}
            row["static"] = len(n) * max_length
            for name, idx in order.items():
                row[name] = int(sum(len(c) * n[c].max() for c in np.array_split(idx, np.ceil(len(idx) / batch))))
            rows.append(row)
            print(
                f"  max_length {max_length}, batch {batch}: {row['real_tokens'] / len(n):.1f} real tokens/item; "
                f"padded/real: static {row['static'] / row['real_tokens']:.3f}, random batches "
                f"{row['random'] / row['real_tokens']:.3f}, grouped {row['grouped'] / row['real_tokens']:.3f}"
            )
    return rows


def projection(measured: dict, base_dir: Path, tokens_per_item: float) -> dict:
    """1M letters (ITEMS_1M items) under configs/transformer.yaml's protocol (repeats x folds-fold
    cross-validation plus the refit, its epochs): item-epochs = ITEMS_1M x epochs x (repeats x (folds - 1)
    + 1). CPU: measured seconds per item. GPU: an
    estimate, FLOPs per token = 6 N + 6 L T d (Kaplan et al. 2020: N non-embedding parameters, L
    layers, T tokens in context, d width; 3x the forward pass) at ASSUMED_UTILISATION of an H100's
    dense bf16 peak; 8 GPUs at DDP_SCALING_8 of 8x."""
    from transformers import AutoConfig, AutoModel

    from training.config_loading import load_config

    run = load_config(ROOT / "configs" / "transformer.yaml", [])
    epochs, folds, repeats = run.model.epochs, run.evaluation.folds, run.evaluation.repeats
    config = AutoConfig.from_pretrained(base_dir, local_files_only=True)
    model = AutoModel.from_pretrained(base_dir, local_files_only=True, use_safetensors=True)
    embedding = sum(p.numel() for n, p in model.named_parameters() if "embeddings" in n)
    n = sum(p.numel() for p in model.parameters()) - embedding
    flops_per_token = 6 * n + 6 * config.num_hidden_layers * tokens_per_item * config.hidden_size
    item_epochs = ITEMS_1M * epochs * (repeats * (folds - 1) + 1)  # each repeat: k folds of (k-1)/k; the refit
    gpu_s = item_epochs * tokens_per_item * flops_per_token / (H100_BF16_DENSE_FLOPS * ASSUMED_UTILISATION)
    out = {
        "non_embedding_params": n,
        "flops_per_token": flops_per_token,
        "tokens_per_item": tokens_per_item,
        "item_epochs": item_epochs,
        "cpu_hours_measured_cost": item_epochs * measured["cpu_s_per_item"] / 3600,
        "h100_1_hours_estimate": gpu_s / 3600,
        "h100_8_hours_estimate": gpu_s / (8 * DDP_SCALING_8) / 3600,
        # every held-out item scored once per repeat by serving's scorer (on the CPU, in every process)
        "oof_scoring_core_hours": ITEMS_1M * repeats / measured["forward_items_per_cpu_s"] / 3600,
    }
    print(
        f"1M letters ({ITEMS_1M:,} items), {repeats} x {folds}-fold CV + refit, {epochs:g} epochs: "
        f"{item_epochs:,.0f} item-epochs "
        f"at {tokens_per_item:.0f} tokens/item:\n"
        f"  this CPU (measured {measured['cpu_s_per_item'] * 1000:.1f} CPU-ms/item, one core): "
        f"{out['cpu_hours_measured_cost']:,.0f} core-hours, {out['cpu_hours_measured_cost'] / 16:,.0f} h on 16 cores\n"
        f"  ESTIMATE, not measured: {flops_per_token / 1e6:.1f} MFLOP/token (6 x {n / 1e6:.1f}M non-embedding "
        f"params + attention); 1 H100 at {ASSUMED_UTILISATION:.0%} of {H100_BF16_DENSE_FLOPS / 1e12:.0f} TFLOP/s: "
        f"{out['h100_1_hours_estimate']:.2f} h; 8 H100 (x{8 * DDP_SCALING_8:.1f}): "
        f"{out['h100_8_hours_estimate']:.2f} h\n"
        f"  scoring the held-out items on the CPU (measured forward pass): {out['oof_scoring_core_hours']:,.1f} "
        f"core-hours, {out['oof_scoring_core_hours'] / 16:,.1f} h on 16 cores"
    )
    return out


def cmd_fit(args) -> int:
    import os as _os

    import torch

    from serving.store import open_store

    if args.threads:
        torch.set_num_threads(args.threads)
    figures: dict = {
        "machine": platform.platform(),
        "cpu_count": _os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    figures["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"  # a throwaway store, not ./mlflow.db
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        open_store("bench-transformer")
        split = items_split(args.dataset, args.items)
        base_dir, base_value, sha = base_folder(args.base, split, tmp)
        print(
            f"{args.base} ({base_dir}); {len(split)} items; device {figures['cuda'] or 'CPU'}; "
            f"torch threads {figures['torch_threads']}; load average {os.getloadavg()[0]:.1f}"
        )
        print("fine-tuning, one epoch, imr train's Trainer against a bare loop on the same batches:")
        runs = [measure_fit(args, split, base_dir, base_value, sha, tmp / "cache", True, bare=args.bare)]
        print_fit(runs[0])
        if args.grouping:
            runs.append(measure_fit(args, split, base_dir, base_value, sha, tmp / "cache", False, bare=False))
            print_fit(runs[1])
            wall, cpu = (runs[0][k] / runs[1][k] for k in ("trainer_items_per_s", "trainer_items_per_cpu_s"))
            print(f"  grouped / random batches: x{wall:.2f} items/s wall, x{cpu:.2f} per CPU-s")
        figures["fit"] = runs
        if args.lengths:
            drawn = f"{args.length_sample:,} items drawn from" if args.length_sample else "the items with"
            print(f"padding on {drawn} the items' real token lengths (no training):")
            figures["lengths"] = length_table(split, base_dir, args.lengths, args.length_batches, args.length_sample)
        if args.project:
            figures["projection_1m"] = projection(runs[0], base_dir, runs[0]["tokens_per_item"])
    print(json.dumps(figures, default=str))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


# ---------------------------------------------------------------- score (CPU scoring, PyTorch vs ONNX)


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


def cmd_score(args) -> int:
    """CPU scoring of a trained transformer, PyTorch fp32 against int8 ONNX; --epoch: one fine-tune epoch."""
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
    return 0


def add_score_command(sub) -> None:
    score = sub.add_parser("score", help="CPU scoring of a trained transformer, PyTorch fp32 against int8 ONNX")
    score.add_argument("--model", required=True, help="a transformer model URI (models:/imr-transformer/1)")
    score.add_argument("--single", type=int, default=100, help="single-item calls for the latency figures")
    score.add_argument("--epoch", action="store_true", help="also time one fine-tune epoch")
    score.add_argument("--json", type=Path, help="also write the figures here")
    score.set_defaults(func=cmd_score)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="fine-tuning items/s: imr train's Trainer against a bare loop")
    fit.add_argument("--base", default="tiny", help="tiny (the tests' random BERT), minilm, or a checkpoint folder")
    fit.add_argument("--dataset", type=Path, help="an imr ingest output (default: ingest the bundled letters)")
    fit.add_argument("--items", type=int, default=0, help="repeat the items up to this many")
    fit.add_argument("--max-length", type=int, help="model.max_length (default: the config's)")
    fit.add_argument("--batch", type=int, help="per-device batch (default: the config's)")
    fit.add_argument("--warmup", type=int, default=2, help="steps left out of the timing")
    fit.add_argument("--threads", type=int, help="torch threads (1: CPU time per item is one core's)")
    fit.add_argument("--repeat", type=int, default=1, help="runs of each, in turn; the best is reported")
    fit.add_argument("--grouping", action="store_true", help="also train with random batches")
    fit.add_argument("--lengths", type=int, nargs="*", default=[], help="max_lengths for the padding table")
    fit.add_argument("--length-batches", type=int, nargs="+", default=[16, 64])
    fit.add_argument("--length-sample", type=int, default=100_000, help="items drawn from the lengths (0: as they are)")
    fit.add_argument("--no-bare", dest="bare", action="store_false", help="time the Trainer only")
    fit.add_argument("--project", action="store_true", help="print the 1M-letter projection")
    fit.add_argument("--set", action="append", default=[], help="any other config override, as imr train --set")
    fit.add_argument("--json", type=Path)
    fit.set_defaults(func=cmd_fit)
    add_score_command(sub)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
