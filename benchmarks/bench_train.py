"""`imr train` of the baseline at corpus scale: seconds per stage, CPU seconds, peak memory, MLflow size.

    python benchmarks/bench_train.py --bundled                      # the bundled letters, plus bare fits
    python benchmarks/bench_train.py --letters 4000                 # synthetic letters (1 repeat)
    python benchmarks/bench_train.py --letters 4000 --keep /tmp/c4k # keep the ingest output for reruns
    python benchmarks/bench_train.py --letters 40000 --keep /tmp/c40k --ingest-only
    python benchmarks/bench_train.py --dataset /tmp/c4k --n-jobs 1,2  # the same ingest, 1 then 2 fold workers
    python benchmarks/bench_train.py --letters 500 --set model.features=streamed --json out.json
    python benchmarks/bench_train.py --project a.json b.json c.json  # per-letter costs -> 1M letters

The letters are ingested first (`imr ingest`, its time reported apart; `--dataset DIR` reuses an
ingest output instead), then the real `imr train --config configs/baseline.yaml` runs in a
subprocess on the ingest output (`data.dataset`), with an MLflow store in a temporary folder.
Synthetic letters are bench_corpus.py's distinct variants of the bundled ones, all text files and
none bad (parsing is bench_corpus.py's subject). They run one repeat of the 5 folds by default
(`evaluation.repeats=1`), the bundled letters the config's 3; writer shift is off (a second
cross-validation, not measured here).

Stage seconds come from training.tracking.stage, which the run marks (load, features: the streamed
pipeline's pass over the corpus, folds, metrics, refit, precedents_index, mlflow: every MLflow call
of the run, the folds' included); "other" is the rest of the process (start-up and imports, the
console summary). CPU seconds are the train process's and its fold workers' (CPU time does not
depend on how busy the machine is; wall-clock does: the load average is printed before and after).
Peak memory is the largest resident memory of the train process plus its workers at once, sampled
every 50 ms (and per stage), and the train process's own high-water mark. MLflow size: the run's
artifacts without the model, the logged model, and the tracking database.

`--n-jobs 1,2` trains once per value of evaluation.n_jobs on the same ingest output and prints the
speed-up of each stage and of the run against the first value. With --bundled (or --letters 0) it
also times the bare scikit-learn fits of the same folds (training.families.baseline.fit_pipeline on
each fold's training items, predict_proba on its held-out items, nothing saved or logged) and
prints the ratio imr train / bare fits. Prints a table and, last, one JSON line of every figure.

`--project` reads JSON lines of runs at several sizes and fits, per stage, the CPU seconds of the
n_jobs 1 runs as a + b x letters by least squares (CPU time: the shared machine's load does not
inflate it as it does wall-clock); at `--project-letters` letters on `--project-cores` cores a stage
whose work runs in workers (features, folds, the first evidence pass) takes its CPU seconds divided
by min(cores, its tasks), the others their CPU seconds (one core, a quiet machine). Peak memory: the
n_jobs 1 runs' peak fitted likewise, plus the per-worker peak of a run with n_jobs > 1 per core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_corpus import SOURCES, generate, templates  # noqa: E402
from bench_predict import emit_figures  # noqa: E402

IMR = Path(sys.executable).parent / "imr"
CONFIG = ROOT / "configs" / "baseline.yaml"
STAGES = ("load", "features", "folds", "metrics", "refit", "precedents_index", "precedents_write", "mlflow")
# Stages whose work runs in evaluation.n_jobs workers: the pass over the corpus (blocks), the folds
# (5 per repeat) and the first pass of the shipped model's evidence (precedents_index; its second
# pass, precedents_write, writes the index alone).
PARALLEL = {"features": 10**9, "folds": 5, "precedents_index": 10**9}


def ingest(paths: list[Path], out: Path) -> float:
    t0 = time.perf_counter()
    cmd = [str(IMR), "ingest", *map(str, paths), "--out", str(out), "--progress", "off"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"imr ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - t0


def overrides(dataset: Path, extra: list[str], synthetic: bool) -> list[str]:
    sets = [f"data.dataset={dataset}", "evaluation.writer_shift=false"]
    if synthetic:
        sets.append("evaluation.repeats=1")
    return sets + extra


def train(sets: list[str], tmp: Path) -> dict:
    """`imr train` in a subprocess (this script's --child mode), in its own MLflow store."""
    store = tmp / f"store-{time.monotonic_ns()}"
    store.mkdir()
    out = store / "child.json"
    argv = ["train", "--config", str(CONFIG), *(a for s in sets for a in ("--set", s))]
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}", "OMP_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(out), "--", *argv], env=env, cwd=store, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"imr train failed ({done.returncode}): {done.stderr[-3000:]}")
    figures = json.loads(out.read_text())
    figures["wall_s"] = wall
    figures["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures["other_s"] = wall - sum(figures["stages"].values())
    figures["progress_lines"] = [line for line in done.stderr.splitlines() if " in " in line and ": " in line][:40]
    figures["mlflow"] = mlflow_sizes(store)
    return figures


def mlflow_sizes(store: Path) -> dict:
    """Bytes of the run's artifacts without the model, of the logged model, and of the database."""
    artifacts = store / "mlartifacts"
    files = [p for p in artifacts.rglob("*") if p.is_file()] if artifacts.exists() else []
    model = sum(p.stat().st_size for p in files if "models" in p.relative_to(artifacts).parts[:1])
    largest = sorted(
        (
            (p.stat().st_size, str(p.relative_to(artifacts)))
            for p in files
            if p.relative_to(artifacts).parts[0] != "models"
        ),
        reverse=True,
    )[:8]
    return {
        "run_artifacts_bytes": sum(p.stat().st_size for p in files) - model,
        "model_bytes": model,
        "db_bytes": (store / "mlflow.db").stat().st_size,
        "largest_run_artifacts": largest,
    }


def child(out: Path, argv: list[str]) -> int:
    """Run `imr train` in this process, then write the stage timer's seconds and the peak memory."""
    import psutil

    from training import tracking
    from training.data.workers import peak_memory
    from training.imr import main

    peaks: dict[str, float] = {}  # per stage: the largest RSS of this process and its workers together
    done = threading.Event()

    def sample() -> None:
        process = psutil.Process()
        while not done.wait(0.05):
            name = tracking.stage.current or "other"
            try:
                rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
            except psutil.Error:
                continue
            peaks[name] = max(peaks.get(name, 0.0), rss / 2**20)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rc = main(argv)
    done.set()
    sampler.join()
    seconds = tracking.stage.stop()
    figures = {
        "rc": rc,
        "stages": seconds,
        "stage_cpu_s": dict(tracking.stage.cpu_seconds),
        "peak_rss_mb": max(peaks.values(), default=0.0),
        "process_peak_rss_mb": peak_memory() / 2**20,
        "stage_peak_rss_mb": peaks,
        "metrics": _run_metrics(),
    }
    out.write_text(json.dumps(figures))
    return rc


def _run_metrics() -> dict:
    """The headline metrics of the run just trained (and the paired differences, when it has them)."""
    import mlflow

    runs = mlflow.search_runs(
        search_all_experiments=True, filter_string="tags.stage != 'cv_fold'", output_format="list"
    )
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    if not parents:
        return {}
    m = parents[0].data.metrics
    keys = [k for k in m if k.startswith(("cv_roc_auc", "cv_brier_skill", "cv_pr_auc", "cv_diff_vs_"))]
    return {k: m[k] for k in sorted(keys)} | {
        "resolved.model.features": parents[0].data.tags.get("resolved.model.features", "")
    }


def bare_fits(sets: list[str]) -> dict:
    """The scikit-learn fits of the folds `imr train` fits: same items, folds and pipeline."""
    from training.config_loading import load_config
    from training.data.folds import item_folds
    from training.data.loading import load_splits
    from training.data.splits import Split, all_items
    from training.families.baseline import fit_pipeline, model_frame

    cfg = load_config(CONFIG, sets)
    dsd, _ = load_splits(cfg.data)
    items = Split.of(all_items(dsd), cfg.data.feature_view)
    ev = cfg.evaluation
    folds = item_folds(items.letter_keys, items.y, ev.folds, ev.repeats, cfg.seed)
    seconds = cpu = 0.0
    for f in folds:
        train_items, test = items.select(f.train), items.select(f.test)
        t0, c0 = time.perf_counter(), time.process_time()
        pipeline = fit_pipeline(cfg.model, train_items, cfg.seed)
        pipeline.predict_proba(model_frame(test.frame, cfg.model))
        seconds, cpu = seconds + time.perf_counter() - t0, cpu + time.process_time() - c0
    return {"folds": len(folds), "seconds": seconds, "cpu_s": cpu}


def print_run(run: dict, label: str) -> None:
    stages = {name: run["stages"].get(name, 0.0) for name in STAGES}
    peaks = run.get("stage_peak_rss_mb", {})
    print(f"## {label}")
    cpu = run.get("stage_cpu_s", {})
    for name, seconds in {**stages, "other": run["other_s"]}.items():
        peak = f"   peak RSS {peaks[name]:.0f} MB" if name in peaks else ""
        used = f"   CPU {cpu[name]:7.1f} s" if name in cpu else ""
        print(f"{name:>17}: {seconds:7.1f} s{used}{peak}")
    size = run["mlflow"]
    print(
        f"{'imr train':>17}: {run['wall_s']:7.1f} s   CPU {run['cpu_s']:.1f} s   peak RSS {run['peak_rss_mb']:.0f} MB "
        f"(train process {run['process_peak_rss_mb']:.0f} MB)\n"
        f"{'MLflow':>17}: run artifacts {size['run_artifacts_bytes'] / 1024:.0f} KiB, model "
        f"{size['model_bytes'] / 2**20:.1f} MiB, database {size['db_bytes'] / 2**20:.1f} MiB",
        flush=True,
    )
    for line in run["progress_lines"]:
        print(f"{'':>19}{line}")
    if run["metrics"]:
        print(
            f"{'metrics':>17}: "
            + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in run["metrics"].items())
        )


def compare_jobs(runs: dict[str, dict]) -> dict:
    """Speed-up of each stage and of the run against the first n_jobs value (wall and CPU)."""
    first, *rest = runs
    out = {}
    for n in rest:
        a, b = runs[first], runs[n]
        out[n] = {
            "wall": a["wall_s"] / b["wall_s"],
            "cpu_ratio": b["cpu_s"] / a["cpu_s"],
            **{s: a["stages"].get(s, 0) / b["stages"][s] for s in STAGES if b["stages"].get(s)},
        }
        stages = ", ".join(f"{s} {v:.2f}x" for s, v in out[n].items() if s in STAGES)
        print(
            f"n_jobs {first} -> {n}: run {out[n]['wall']:.2f}x faster (wall); {stages}; CPU x{out[n]['cpu_ratio']:.2f}"
        )
    return out


def worker_peak_mb(run: dict) -> float:
    """The largest per-worker peak the run's progress lines report (training.data.workers.Workers.summary)."""
    import re

    found = [float(m) for line in run["progress_lines"] for m in re.findall(r"(\d+) MiB peak per worker", line)]
    return max(found, default=0.0)


def project(paths: list[Path], letters: int, cores: int) -> dict:
    """Per-letter costs from runs at several sizes, projected (see the module's docstring): each
    stage's CPU seconds (runs with n_jobs 1, where every stage's work is in the train process) fitted
    as a + b x letters, divided at `letters` by the workers that stage can use on `cores` cores (the
    others run on one); peak memory as the train process's fitted peak plus one worker's measured
    peak (a run with n_jobs > 1) for each core."""
    import numpy as np

    runs = [json.loads(p.read_text().strip().splitlines()[-1]) for p in paths]
    serial = [r for r in runs if r["train"].get("n_jobs", 1) == 1 and "stage_cpu_s" in r["train"]]
    x = np.array([r["parsed_letters"] for r in serial], dtype=float)
    design = np.c_[np.ones_like(x), x]

    def line(values) -> tuple[float, float]:
        a, b = np.linalg.lstsq(design, np.asarray(values, dtype=float), rcond=None)[0]
        return float(a), float(b)

    out = {"letters": letters, "cores": cores, "runs": [int(v) for v in x], "stages": {}}
    total = 0.0
    for stage in (*STAGES, "other"):
        if stage == "other":
            values = [r["train"]["cpu_s"] - sum(r["train"]["stage_cpu_s"].values()) for r in serial]
        else:
            values = [r["train"]["stage_cpu_s"].get(stage, 0.0) for r in serial]
        a, b = line(values)
        workers = min(cores, PARALLEL.get(stage, 1))
        seconds = (a + b * letters) / workers
        out["stages"][stage] = {"a_cpu_s": a, "cpu_s_per_letter": b, "workers": workers, "projected_s": seconds}
        total += seconds
    a, b = line([r["train"]["peak_rss_mb"] for r in serial])
    worker = max([worker_peak_mb(r["train"]) for r in runs] + [0.0])
    memory = a + b * letters + cores * worker
    out.update(projected_wall_s=total, peak_rss_mb={"a": a, "per_letter": b, "worker_mb": worker, "projected": memory})
    print(f"# projection to {letters:,} letters on {cores} cores from n_jobs 1 runs at {out['runs']} letters")
    for stage, v in out["stages"].items():
        print(
            f"{stage:>17}: {v['a_cpu_s']:8.1f} s + {v['cpu_s_per_letter'] * 1000:8.3f} ms/letter of CPU "
            f"/ {v['workers']:2d} -> {v['projected_s'] / 60:6.1f} min"
        )
    print(
        f"{'total':>17}: {total / 60:.1f} min; memory: train process {a:.0f} MB + {b * 1000:.2f} MB per 1,000 "
        f"letters, plus {cores} workers x {worker:.0f} MB -> {memory / 1024:.1f} GiB"
    )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--letters", type=int, default=500, help="synthetic letters; 0: the bundled letters")
    ap.add_argument("--bundled", action="store_true", help="the bundled letters (same as --letters 0)")
    ap.add_argument("--dataset", type=Path, help="an imr ingest output to train on (no generation, no ingest)")
    ap.add_argument("--keep", type=Path, help="keep the ingest output in this folder")
    ap.add_argument("--ingest-only", action="store_true", help="generate and ingest into --keep, train nothing")
    ap.add_argument("--n-jobs", default="", help="comma-separated evaluation.n_jobs values, one run each")
    ap.add_argument("--set", action="append", default=[], help="one more imr train --set key=value")
    ap.add_argument("--tmp", type=Path, default=None, help="where the temporary folder goes")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--project", type=Path, nargs="+", help="JSON lines of runs at several sizes")
    ap.add_argument("--project-letters", type=int, default=1_000_000)
    ap.add_argument("--project-cores", type=int, default=16)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args()
    if args.child:
        return child(args.child, [a for a in rest if a != "--"])
    if args.project:
        emit_figures(project(args.project, args.project_letters, args.project_cores), args.json)
        return 0
    synthetic = args.dataset is None and not args.bundled and args.letters > 0
    cores = len(os.sched_getaffinity(0))
    tmp = Path(tempfile.mkdtemp(prefix="bench-train-", dir=args.tmp))
    try:
        fig: dict = {
            "cores": cores,
            "letters": args.letters if synthetic else "bundled",
            "load_avg_start": os.getloadavg(),
        }
        t0 = time.perf_counter()
        dataset = args.dataset or args.keep or tmp / "ingest"
        if args.dataset is None:
            if synthetic:
                generate(tmp / "letters", args.letters, 0, templates(), seed=1, bad_share=0, pdf_share=0)
                sources = [tmp / "letters"]
            else:
                sources = SOURCES
            fig["generate_s"] = time.perf_counter() - t0
            fig["ingest_s"] = ingest(sources, dataset)
            shutil.rmtree(tmp / "letters", ignore_errors=True)
        report = json.loads((dataset / "report.json").read_text())
        fig["items"], fig["parsed_letters"] = report["items"], report["parsed"]
        if args.dataset is not None and not args.bundled:
            fig["letters"] = report["parsed"]
        if args.ingest_only:
            emit_figures(fig, args.json)
            return 0
        synthetic = synthetic or (args.dataset is not None and not args.bundled)
        sets = overrides(dataset, args.set, synthetic)
        fig["set"] = sets
        print(
            f"# {platform.platform()}, {cores} cores, load {os.getloadavg()[0]:.1f}; {report['parsed']} letters, "
            f"{report['items']} items; {' '.join(sets)}",
            flush=True,
        )
        jobs = [int(n) for n in args.n_jobs.split(",") if n] or [None]
        runs = {}
        for n in jobs:
            run = train(sets + ([f"evaluation.n_jobs={n}"] if n else []), tmp)
            run["n_jobs"] = n or 1
            runs[str(n or 1)] = run
            print_run(run, f"n_jobs {n or 'from the config'} (load {os.getloadavg()[0]:.1f})")
        fig["train"] = next(iter(runs.values()))
        if len(runs) > 1:
            fig["runs"] = runs
            fig["speedup"] = compare_jobs(runs)
        if args.bundled or (not synthetic and args.dataset is None):
            bare = bare_fits(sets)
            run = fig["train"]
            fig["bare_fits"] = bare
            fig["train_over_bare_fits"] = run["wall_s"] / bare["seconds"]
            fig["train_over_bare_fits_cpu"] = run["cpu_s"] / bare["cpu_s"]
            print(
                f"{'bare fits':>17}: {bare['seconds']:7.1f} s   CPU {bare['cpu_s']:.1f} s   "
                f"({bare['folds']} folds: fit_pipeline + predict_proba)\n"
                f"imr train / bare fits: {fig['train_over_bare_fits']:.1f}x wall, "
                f"{fig['train_over_bare_fits_cpu']:.1f}x CPU"
            )
        fig["load_avg_end"] = os.getloadavg()
        emit_figures(fig, args.json)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
