"""The streamed baseline's classifier: SGD over the blocks (what training.families.streamed_fit fits)
against scikit-learn's LogisticRegression (lbfgs, the exact pipeline's solver) fitted on a memory-mapped
sparse matrix of the same hashed TF-IDF features, on the same folds. Quality (pooled out-of-fold
AUROC and Brier skill of each, and their paired difference with a 95% CI over letters: the run's
own training.metrics.out_of_fold.paired_difference), and cost (CPU seconds of the fits, and the
peak memory of a process that only does that: each method runs in its own subprocess).

    python benchmarks/bench_streamed_classifier.py --dataset /tmp/sb-bundled [--repeats 3] [--json out.json]

The memory-mapped matrix is each fold's training rows, TF-IDF-weighted, written to disk once
(float64 data and int32 indices: what lbfgs reads without a copy); the pages the solver reads count
in its resident memory, which is what the comparison is about. Prints a table; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_predict import emit_figures  # noqa: E402

METHODS = ("sgd", "memmap_lr")


def setup(dataset: Path, repeats: int):
    from compose import compose

    from training.data.folds import item_folds
    from training.data.loading import load_splits
    from training.data.splits import corpus_items
    from training.data.workers import Workers
    from training.families import streamed_features
    from training.tracking import progress

    cfg = compose(
        "baseline",
        data={"dataset": str(dataset)},
        model={"features": "streamed"},
        evaluation={"repeats": repeats},
    )
    dsd, _ = load_splits(cfg.data)
    items = corpus_items(dsd, cfg.data.feature_view, cfg.data.dataset_path())
    cache = streamed_features.feature_cache(cfg.model, cfg.data.feature_view, items.source, Workers(1), progress)
    folds = item_folds(items.letter_keys, items.y, cfg.evaluation.folds, repeats, cfg.seed)
    return cfg, items, cache, folds


def memmap_rows(cache, positions, transformer, folder: Path):
    """The TF-IDF rows of `positions` as a CSR matrix over memory-mapped arrays in `folder`."""
    from scipy import sparse

    parts = [transformer.transform(cache.counts(k)[rows]) for k, rows, _ in cache.rows(positions)]
    nnz = sum(p.nnz for p in parts)
    data = np.lib.format.open_memmap(folder / "data.npy", mode="w+", dtype=np.float64, shape=(nnz,))
    indices = np.lib.format.open_memmap(folder / "indices.npy", mode="w+", dtype=np.int32, shape=(nnz,))
    indptr = np.zeros(len(positions) + 1, dtype=np.int32)
    at = row = 0
    for p in parts:
        data[at : at + p.nnz], indices[at : at + p.nnz] = p.data, p.indices
        indptr[row + 1 : row + 1 + p.shape[0]] = p.indptr[1:] + at
        at, row = at + p.nnz, row + p.shape[0]
    data.flush()
    indices.flush()
    del data, indices, parts
    data = np.load(folder / "data.npy", mmap_mode="r")
    indices = np.load(folder / "indices.npy", mmap_mode="r")
    return sparse.csr_matrix((data, indices, indptr), shape=(len(positions), transformer.idf_.shape[0]), copy=False)


def fit_method(method: str, cfg, cache, positions, y, folder: Path):
    from sklearn.linear_model import LogisticRegression

    from serving.precedents import smooth_idf
    from training.families import streamed_fit
    from training.tracking import progress

    n_features = cfg.model.streamed.n_features
    idf = smooth_idf(streamed_fit.document_frequencies(cache, positions, n_features), len(positions))
    transformer = streamed_fit.tfidf_transformer(cfg.model, idf)
    if method == "sgd":
        return transformer, streamed_fit.fit_classifier(cfg, cache, positions, y, transformer, _quiet(progress))
    X = memmap_rows(cache, positions, transformer, folder)
    c = cfg.model.classifier
    model = LogisticRegression(C=c.C, class_weight=c.class_weight, max_iter=c.max_iter, random_state=cfg.seed)
    return transformer, model.fit(X, y)


def _quiet(progress):
    import contextlib

    class Bar:
        def update(self, n=1):
            pass

        def set_postfix_str(self, text):
            pass

    return lambda *a, **k: contextlib.nullcontext(Bar())


def run_method(method: str, dataset: Path, repeats: int, out: Path) -> None:
    """In a subprocess: OOF probabilities of `method` on every fold, its CPU seconds and peak memory."""
    from training.data.workers import peak_memory

    cfg, items, cache, folds = setup(dataset, repeats)
    base = peak_memory()
    p = np.full((repeats, len(items)), np.nan)
    cpu = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for f in folds:
            c0 = time.process_time()
            transformer, model = fit_method(method, cfg, cache, f.train, items.y[f.train], Path(tmp))
            for k, rows, at in cache.rows(f.test):
                p[f.repeat, f.test[at]] = model.predict_proba(transformer.transform(cache.counts(k)[rows]))[:, 1]
            cpu += time.process_time() - c0
    np.save(out / f"{method}.npy", p)
    (out / f"{method}.json").write_text(
        json.dumps(
            {"cpu_s": cpu, "peak_mb": peak_memory() / 2**20, "peak_over_setup_mb": (peak_memory() - base) / 2**20}
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, required=True, help="an imr ingest output")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.method:
        run_method(args.method, args.dataset, args.repeats, args.out)
        return 0
    from training.metrics.out_of_fold import OOFScores, paired_difference
    from training.run.cross_validation import reference_out_of_fold

    out = Path(tempfile.mkdtemp(prefix="bench-classifier-"))
    for method in METHODS:
        cmd = [sys.executable, __file__, "--dataset", str(args.dataset), "--repeats", str(args.repeats)]
        subprocess.run([*cmd, "--method", method, "--out", str(out)], check=True, capture_output=True)
    cfg, items, _, folds = setup(args.dataset, args.repeats)
    base, _ = reference_out_of_fold(items, folds)
    scores = {m: OOFScores.of(np.load(out / f"{m}.npy"), np.load(out / f"{m}.npy"), base) for m in METHODS}
    fig = {"dataset": str(args.dataset), "items": len(items), "repeats": args.repeats}
    for m in METHODS:
        fig[m] = json.loads((out / f"{m}.json").read_text())
    fig["sgd_minus_memmap_lr"] = paired_difference(
        items.y, scores["sgd"], scores["memmap_lr"], items.letter_ids, 1000, 0, ""
    )
    from training.metrics.out_of_fold import _per_repeat

    for m in METHODS:
        per = _per_repeat(items.y, scores[m])
        fig[m].update(roc_auc=float(np.mean(per["roc_auc"])), brier_skill_raw=float(np.mean(per["brier_skill"])))
        print(
            f"{m:>10}: AUROC {fig[m]['roc_auc']:.4f}  CPU {fig[m]['cpu_s']:.1f} s  peak {fig[m]['peak_mb']:.0f} MB "
            f"(+{fig[m]['peak_over_setup_mb']:.0f} MB over loading)"
        )
    d = fig["sgd_minus_memmap_lr"]
    print(
        f"SGD - memmap LR: AUROC {d['roc_auc']:+.4f} (95% CI {d['roc_auc_ci_low']:+.4f} to {d['roc_auc_ci_high']:+.4f})"
    )
    emit_figures(fig, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
