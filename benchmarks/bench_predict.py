"""Training time, model load time, batch throughput and single-item latency of `Predictor.predict`.

    .venv/bin/python benchmarks/bench_predict.py [--model URI] [--config FILE] [--letters PATH ...]
                                                 [--batch-sizes 1000 4000] [--single-calls 500]
                                                 [--repeat 3] [--profile] [--json PATH]

Without --model it trains the model of --config (default configs/baseline.yaml) on the bundled
letters into a temporary MLflow store (your ./mlflow.db is not touched) and times that training.
The scored items are every disputed item of the letters, as dataset rows (case summaries,
guidelines and metadata included, as a real request carries them); batches of 1000+ repeat
the corpus. Single-item latency is one `predict([item])` call per item, in-process. The figures
are printed as a table; the last stdout line is the same figures as JSON.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_CONFIG = ROOT / "configs" / "baseline.yaml"
TARGET_BATCH_ITEMS_PER_S = 2000.0
TARGET_SINGLE_P50_MS = 5.0


def emit_figures(figures: dict, json_path: Path | None) -> None:
    """The benchmarks' last line: the figures as one JSON line on stdout, and in `json_path` when given."""
    line = json.dumps(figures)
    print(line)
    if json_path:
        json_path.write_text(line + "\n")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def best_of(repeat: int, fn) -> float:
    return best_of_both(repeat, fn)[0]


def best_of_both(repeat: int, fn) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds of this process) over `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def stage_breakdown(predictor, items: list[dict], repeat: int) -> list[tuple[str, float, float]]:
    """Baseline only: CPU ms of each step of BaselineScorer.predict_proba, for a batch of 1000
    and per single item: (stage, batch ms, single-item ms)."""
    import pandas as pd

    from features.views import model_inputs

    scorer = predictor.scorer
    pipeline = getattr(scorer, "pipeline", None)
    if pipeline is None:
        return []
    view = scorer.meta.feature_view
    features, classifier = pipeline.steps[0][1], pipeline.steps[-1][1]
    batch = (items * (1000 // len(items) + 1))[:1000]
    one = [items[len(items) // 2]]
    cast = {"treatment_category": object, "patient_sex": object}
    out = []
    for records, n_calls in ((batch, 1), (one, 200)):
        rows = [model_inputs(r, view) for r in records]
        frame = pd.DataFrame(rows)
        typed = frame.astype(cast)
        X = features.transform(typed)
        stages = [
            ("features.views.model_inputs", lambda: [model_inputs(r, view) for r in records]),
            ("pd.DataFrame(rows)", lambda: pd.DataFrame(rows)),
            (".astype(category/sex -> object)", lambda: frame.astype(cast)),
            ("ColumnTransformer.transform (TF-IDF)", lambda: features.transform(typed)),
            (
                "  of which TfidfVectorizer.transform alone",
                lambda: features.transformers_[0][1].transform(typed["text"]),
            ),
            ("LogisticRegression.predict_proba", lambda: classifier.predict_proba(X)),
            ("Predictor.predict, end to end", lambda: predictor.predict(records)),
        ]
        figures = []
        for name, fn in stages:
            cpu = best_of_both(repeat, lambda: [fn() for _ in range(n_calls)])[1]
            figures.append((name, 1e3 * cpu / n_calls))
        out.append(figures)
    return [(name, b, s) for (name, b), (_, s) in zip(*out)]


def train_model(config: Path, overrides: list[str]) -> tuple[str, float, dict]:
    """Train into a temp MLflow store; (registered model URI, seconds, metrics)."""
    from training.config_loading import load_config
    from training.run.train import train

    cfg = load_config(config, overrides)
    # warm the heavy imports so the figure is training work, not module loading
    import mlflow  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import skops.io  # noqa: F401

    import training.run.train  # noqa: F401

    t0 = time.perf_counter()
    result = train(cfg)
    return result.model_uri, time.perf_counter() - t0, result.metrics


def load_items(letters: list[Path]) -> list[dict]:
    import datasets

    from features.ingest import ingest

    datasets.disable_progress_bars()
    dsd, _ = ingest(letters)
    return [dict(row) for split in dsd.values() for row in split]


def profile(fn, top: int = 25) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model URI or folder; default: train --config into a temp MLflow store")
    ap.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help=f"training config (default {DEFAULT_CONFIG.name})"
    )
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override for the training, as in `imr train`",
    )
    ap.add_argument("--letters", type=Path, nargs="+", help="letters to score (default: the config's data.sources)")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--single-calls", type=int, default=500, help="single-item calls timed (default 500, min 300)")
    ap.add_argument("--repeat", type=int, default=3, help="batch repetitions, best taken (default 3)")
    ap.add_argument("--profile", action="store_true", help="print cProfile of one batch and of the single calls")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()
    if args.single_calls < 300:
        ap.error("--single-calls must be at least 300")

    from training.config_loading import load_config

    fig: dict = {"machine": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()}
    fig["loadavg_start"] = os.getloadavg()[0]
    print(
        f"machine: {fig['machine']}  python {fig['python']}  cpu_count {fig['cpu_count']}  "
        f"load average {fig['loadavg_start']:.2f}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            uri = args.model
        else:
            os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
            uri, train_s, metrics = train_model(args.config, args.overrides)
            fig.update(train_s=train_s, trained_model=uri, test_roc_auc=metrics.get("test_roc_auc"))
            print(
                f"training: {train_s:.1f} s  ({args.config.name} on the bundled letters, temp MLflow store; "
                f"includes MLflow logging, plots and registration)  -> {uri}"
            )

        letters = args.letters or load_config(args.config, args.overrides).data.source_paths()
        items = load_items(letters)
        fig["items"] = len(items)

        from serving.predictor import load_predictor

        t0 = time.perf_counter()
        predictor = load_predictor(uri)
        fig["load_cold_s"] = time.perf_counter() - t0
        fig["load_warm_s"] = best_of(3, lambda: load_predictor(uri))
        info = predictor.info()
        fig.update(model_family=info["family"], feature_view=info["feature_view"])
        print(f"model:    {info['name']} v{info['version']} ({info['family']}, {info['feature_view']})")
        print(f"corpus:   {len(items)} items from {', '.join(str(p) for p in letters)}")
        print(
            f"load:     {1e3 * fig['load_cold_s']:.0f} ms first in process, {1e3 * fig['load_warm_s']:.0f} ms warm "
            f"(resolve + download + sha256 check + deserialise)"
        )

        predictor.predict(items[:50])  # warm-up
        print(f"\n{'batch size':>10} {'items/s':>10} {'ms/batch':>10} {'us/item':>9} {'CPU items/s':>12}")
        rates = []
        for size in args.batch_sizes:
            batch = (items * (size // len(items) + 1))[:size]
            secs, cpu = best_of_both(args.repeat, lambda: predictor.predict(batch))
            rates.append(size / secs)
            fig[f"batch_{size}_items_per_s"] = size / secs
            fig[f"batch_{size}_cpu_items_per_s"] = size / cpu
            print(f"{size:>10} {size / secs:>10.0f} {1e3 * secs:>10.1f} {1e6 * secs / size:>9.0f} {size / cpu:>12.0f}")

        singles = (items * (args.single_calls // len(items) + 1))[: args.single_calls]
        for item in singles[:20]:
            predictor.predict([item])
        latencies, cpu_ms = [], []
        for item in singles:
            c0, t0 = time.process_time(), time.perf_counter()
            predictor.predict([item])
            latencies.append(1e3 * (time.perf_counter() - t0))
            cpu_ms.append(1e3 * (time.process_time() - c0))
        fig.update(
            single_calls=len(latencies),
            single_p50_ms=percentile(latencies, 50),
            single_p95_ms=percentile(latencies, 95),
            single_mean_ms=statistics.fmean(latencies),
            single_cpu_p50_ms=percentile(cpu_ms, 50),
        )
        print(
            f"\nsingle item ({len(latencies)} calls): p50 {fig['single_p50_ms']:.2f} ms  "
            f"p95 {fig['single_p95_ms']:.2f} ms  mean {fig['single_mean_ms']:.2f} ms  "
            f"(CPU p50 {fig['single_cpu_p50_ms']:.2f} ms)"
        )

        breakdown = stage_breakdown(predictor, items, args.repeat)
        if breakdown:
            print(f"\n{'where the CPU time goes (baseline)':<44} {'batch 1000 ms':>14} {'1 item ms':>10}")
            for name, batch_ms, single_ms in breakdown:
                print(f"{name:<44} {batch_ms:>14.1f} {single_ms:>10.2f}")
            fig["breakdown_cpu_ms"] = {name: {"batch_1000": b, "single": s} for name, b, s in breakdown}

        fig["batch_pass"] = min(rates) >= TARGET_BATCH_ITEMS_PER_S
        fig["single_pass"] = fig["single_p50_ms"] < TARGET_SINGLE_P50_MS
        print(
            f"\nbatch throughput >= {TARGET_BATCH_ITEMS_PER_S:.0f} items/s (every batch size): "
            f"{min(rates):.0f}  {'PASS' if fig['batch_pass'] else 'FAIL'}"
        )
        print(
            f"single-item p50 < {TARGET_SINGLE_P50_MS:.0f} ms: {fig['single_p50_ms']:.2f} ms  "
            f"{'PASS' if fig['single_pass'] else 'FAIL'}"
        )

        fig["loadavg_end"] = os.getloadavg()[0]
        if max(fig["loadavg_start"], fig["loadavg_end"]) > 0.75 * (os.cpu_count() or 1):
            print(
                f"note: load average {fig['loadavg_end']:.2f} on {os.cpu_count()} CPUs: other processes compete, "
                "so wall-clock figures are pessimistic; the CPU columns are less affected"
            )
        if args.profile:
            batch = (items * (1000 // len(items) + 1))[:1000]
            print("\n--- cProfile: one batch of 1000 ---")
            print(profile(lambda: predictor.predict(batch)))
            print("--- cProfile: 300 single-item calls ---")
            print(profile(lambda: [predictor.predict([item]) for item in singles[:300]]))

    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n")
    print(json.dumps(fig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
