"""Cross-validation folds in parallel worker processes (evaluation.n_jobs, training.data.workers):
the out-of-fold predictions equal a serial run's exactly, for the exact and the streamed baseline;
the workers are bounded by the memory available; results come back in the tasks' order."""

from __future__ import annotations

import numpy as np
import pytest
from compose import compose
from conftest import tracking_store

from training.data.workers import Workers, cores


def _square_after(x: int, delay: float) -> int:
    import time

    time.sleep(delay)
    return x * x


@pytest.fixture(scope="module")
def items(small_corpus):
    from training.data.loading import load_splits
    from training.data.splits import corpus_items

    dsd, _ = load_splits(compose("baseline", data={"sources": [str(small_corpus)]}).data)
    return corpus_items(dsd, "pre_decision")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import mlflow

    with tracking_store(tmp_path_factory.mktemp("parallel-store")) as root:
        mlflow.set_experiment("imr-tests-parallel")
        yield root


def out_of_fold(items, n_jobs: int, features: str):
    import mlflow

    from training.data.folds import item_folds
    from training.families.registry import FAMILIES
    from training.run.cross_validation import out_of_fold

    cfg = compose(
        "baseline",
        model={"features": features, "text_tfidf": {"min_df": 1}, "streamed": {"n_features": 2**16}},
        evaluation={"folds": 3, "repeats": 2, "n_jobs": n_jobs},
    )
    folds = item_folds(items.letter_keys, items.y, 3, 2, cfg.seed)
    with mlflow.start_run(run_name=f"parallel-{features}-{n_jobs}"):
        return out_of_fold(cfg, FAMILIES["baseline"], items, folds)


@pytest.mark.parametrize("features", ["exact", "streamed"])
def test_parallel_folds_equal_serial_folds(items, store, features):
    serial, parallel = out_of_fold(items, 1, features), out_of_fold(items, 2, features)
    assert np.isfinite(serial.p).all() and np.ptp(serial.p) > 0
    for name in ("p", "in_distribution", "base_rate", "fold"):
        assert np.array_equal(getattr(serial, name), getattr(parallel, name)), name


def test_fold_runs_are_logged_for_every_fold(store, items):
    import mlflow

    out_of_fold(items, 2, "streamed")
    runs = mlflow.search_runs(filter_string="tags.stage = 'cv_fold'", output_format="list")
    folds = {(r.data.tags["cv_repeat"], r.data.tags["cv_fold"]) for r in runs}
    assert folds == {(str(r), str(k)) for r in range(2) for k in range(3)}
    assert all(r.data.metrics["fold_test_items"] > 0 for r in runs)


def test_results_keep_the_order_of_the_tasks():
    workers = Workers(2)
    tasks = [(x, 0.3 if x == 0 else 0.0) for x in range(5)]  # the first finishes last
    assert workers.map(_square_after, tasks) == [0, 1, 4, 9, 16]


def test_workers_are_bounded_by_the_memory_available(monkeypatch):
    import training.data.workers as workers_module

    monkeypatch.setattr(workers_module, "available_memory", lambda: 1)  # room for no worker beyond the first
    workers = Workers(2)
    assert workers.map(_square_after, [(x, 0.05) for x in range(4)]) == [0, 1, 4, 9]
    assert workers.most_at_once == 1
    assert "limited by the memory" in workers.summary()
    monkeypatch.undo()
    roomy = Workers(2)
    roomy.map(_square_after, [(x, 0.2) for x in range(4)])
    assert roomy.most_at_once == min(2, cores()) and roomy.worker_peak > 0


def _killed(x: int) -> int:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
    return x


def test_a_worker_that_dies_is_one_line_naming_n_jobs():
    from training.config import ConfigError

    with pytest.raises(ConfigError, match=r"^evaluation.n_jobs: a worker process died .* lower evaluation.n_jobs$"):
        Workers(2).map(_killed, [(1,), (2,)])
    assert Workers(2).map(_square_after, [(3, 0.0), (4, 0.0)]) == [9, 16]  # the next pool starts afresh
