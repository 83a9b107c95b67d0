"""`imr train` of the baseline at corpus scale: seconds per stage and peak memory.

    .venv/bin/python benchmarks/bench_train.py --bundled             # the bundled letters, plus bare fits
    .venv/bin/python benchmarks/bench_train.py --letters 5000        # synthetic letters (1 repeat)
    .venv/bin/python benchmarks/bench_train.py --letters 500 --set evaluation.repeats=3 --json out.json

The letters are ingested first (`imr ingest`, its time reported apart), then the real `imr train
--config configs/baseline.yaml` runs in a subprocess on the ingest output (`data.dataset`), with an
MLflow store in a temporary folder. Synthetic letters are bench_corpus.py's distinct variants of
the bundled ones, all text files and none bad (parsing is bench_corpus.py's subject). They run one
repeat of the 5 folds by default (`evaluation.repeats=1`), the bundled letters the config's 3.

Stage seconds come from training.tracking.stage, which the run marks (load, folds, metrics,
refit, precedents_index, mlflow: every MLflow call of the run, the folds' included); "other" is
the rest of the process (start-up and imports, the console summary). Peak RSS and CPU seconds
are the train process's (CPU time does not depend on how busy the machine is; wall-clock does).
With --bundled (or --letters 0) it also times the bare scikit-learn fits of the same folds
(training.families.baseline.fit_pipeline on each fold's training items, predict_proba on its held-out
items, nothing saved or logged) and prints the ratio imr train / bare fits, in wall-clock and in
CPU seconds. Prints a table and, last, one JSON line of every figure.
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

IMR = ROOT / ".venv" / "bin" / "imr"
CONFIG = ROOT / "configs" / "baseline.yaml"
STAGES = ("load", "folds", "metrics", "refit", "precedents_index", "mlflow")


def ingest(paths: list[Path], out: Path) -> float:
    t0 = time.perf_counter()
    cmd = [str(IMR), "ingest", *map(str, paths), "--out", str(out), "--progress", "off"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"imr ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - t0


def overrides(dataset: Path, extra: list[str], synthetic: bool) -> list[str]:
    from training.config import EvaluationConfig

    sets = [f"data.dataset={dataset}"]
    if synthetic:
        sets.append("evaluation.repeats=1")
    if "writer_shift" in EvaluationConfig.model_fields:  # a second cross-validation, not measured here
        sets.append("evaluation.writer_shift=false")
    return sets + extra


def train(sets: list[str], tmp: Path) -> dict:
    """`imr train` in a subprocess (this script's --child mode); its wall time, stages and peak RSS."""
    out = tmp / "child.json"
    argv = ["train", "--config", str(CONFIG), *(a for s in sets for a in ("--set", s))]
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}", "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(out), "--", *argv], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"imr train failed ({done.returncode}): {done.stderr[-3000:]}")
    figures = json.loads(out.read_text())
    figures["wall_s"] = wall
    figures["other_s"] = wall - sum(figures["stages"].values())
    return figures


def child(out: Path, argv: list[str]) -> int:
    """Run `imr train` in this process, then write the stage timer's seconds and the peak RSS."""
    import psutil

    from training import tracking
    from training.imr import main

    peaks: dict[str, float] = {}  # the largest RSS seen during each stage, sampled every 50 ms
    done = threading.Event()

    def sample() -> None:
        process = psutil.Process()
        while not done.wait(0.05):
            name = tracking.stage.current or "other"
            peaks[name] = max(peaks.get(name, 0.0), process.memory_info().rss / 2**20)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rc = main(argv)
    done.set()
    sampler.join()
    seconds = tracking.stage.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    figures = {
        "rc": rc,
        "stages": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": cpu,
        "stage_peak_rss_mb": peaks,
    }
    out.write_text(json.dumps(figures))
    return rc


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
        train, test = items.select(f.train), items.select(f.test)
        t0, c0 = time.perf_counter(), time.process_time()
        pipeline = fit_pipeline(cfg.model, train, cfg.seed)
        pipeline.predict_proba(model_frame(test.frame, cfg.model))
        seconds, cpu = seconds + time.perf_counter() - t0, cpu + time.process_time() - c0
    return {"folds": len(folds), "seconds": seconds, "cpu_s": cpu}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--letters", type=int, default=500, help="synthetic letters; 0: the bundled letters")
    ap.add_argument("--bundled", action="store_true", help="the bundled letters (same as --letters 0)")
    ap.add_argument("--set", action="append", default=[], help="one more imr train --set key=value")
    ap.add_argument("--tmp", type=Path, default=None, help="where the temporary folder goes")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args()
    if args.child:
        return child(args.child, [a for a in rest if a != "--"])
    synthetic = not args.bundled and args.letters > 0
    cores = len(os.sched_getaffinity(0))
    tmp = Path(tempfile.mkdtemp(prefix="bench-train-", dir=args.tmp))
    try:
        fig: dict = {"cores": cores, "letters": args.letters if synthetic else "bundled"}
        t0 = time.perf_counter()
        if synthetic:
            generate(tmp / "letters", args.letters, 0, templates(), seed=1, bad_share=0, pdf_share=0)
            sources = [tmp / "letters"]
        else:
            sources = SOURCES
        fig["generate_s"] = time.perf_counter() - t0
        fig["ingest_s"] = ingest(sources, tmp / "ingest")
        report = json.loads((tmp / "ingest" / "report.json").read_text())
        fig["items"], fig["parsed_letters"] = report["items"], report["parsed"]
        sets = overrides(tmp / "ingest", args.set, synthetic)
        fig["set"] = sets
        print(
            f"# {platform.platform()}, {cores} cores, load {os.getloadavg()[0]:.1f}; {report['parsed']} letters, "
            f"{report['items']} items (generated {fig['generate_s']:.0f} s, ingested {fig['ingest_s']:.0f} s)",
            flush=True,
        )
        run = train(sets, tmp)
        fig["train"] = run
        stages = {name: run["stages"].get(name, 0.0) for name in STAGES}
        peaks = run.get("stage_peak_rss_mb", {})
        for name, seconds in {**stages, "other": run["other_s"]}.items():
            peak = f"   peak RSS {peaks[name]:.0f} MB" if name in peaks else ""
            print(f"{name:>17}: {seconds:7.1f} s{peak}")
        print(
            f"{'imr train':>17}: {run['wall_s']:7.1f} s   CPU {run['cpu_s']:.1f} s   "
            f"peak RSS {run['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        if not synthetic:
            bare = bare_fits(sets)
            fig["bare_fits"] = bare
            fig["train_over_bare_fits"] = run["wall_s"] / bare["seconds"]
            fig["train_over_bare_fits_cpu"] = run["cpu_s"] / bare["cpu_s"]
            print(
                f"{'bare fits':>17}: {bare['seconds']:7.1f} s   CPU {bare['cpu_s']:.1f} s   "
                f"({bare['folds']} folds: fit_pipeline + predict_proba)\n"
                f"imr train / bare fits: {fig['train_over_bare_fits']:.1f}x wall, "
                f"{fig['train_over_bare_fits_cpu']:.1f}x CPU"
            )
        fig["load_avg_1m_end"] = os.getloadavg()[0]
        emit_figures(fig, args.json)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
