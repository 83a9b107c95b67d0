"""Shared fixtures. The real letters live outside the repository, in its sibling folder
../shared/data; tests that need them skip (with the path in the reason) when it is absent, and
fail instead when ../shared/data exists (so a broken path can never turn the real-letter tests
into a green run of skips). IMR_REQUIRE_REAL_LETTERS=1 or 0 overrides that: required or not."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import CHROMIUM
from compose import compose
from synthetic_corpus import write_small_corpus

from features.extract import read_letter_text
from features.letter import Letter
from features.parser import parse_letter

# The tiny transformer's fixtures, shared like this file's (found by name, never imported).
pytest_plugins = ["conftest_transformer"]

ROOT_DIR = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT_DIR.parent / "shared" / "data"
PDF_DIR = SHARED_DATA / "dwc-imr-letters"
SEED_DIR = SHARED_DATA / "seed-letters"
TESTS_DATA = Path(__file__).resolve().parent / "data"
# No model cache (serving/model_cache.py) unless a test sets one up: a test never writes into the
# user's ~/.cache, and a version loads from its store as the test arranged it (tests/serving/test_model_cache.py
# tests the cache in folders of its own). Child processes (`imr ...`) inherit it.
os.environ["IMR_MODEL_CACHE"] = "off"


def real_letters_required() -> bool:
    """IMR_REQUIRE_REAL_LETTERS when set (1 or 0), else whether ../shared/data is beside the checkout."""
    setting = os.environ.get("IMR_REQUIRE_REAL_LETTERS", "")
    return setting == "1" if setting else SHARED_DATA.is_dir()


def missing_real_letters(reason: str) -> None:
    """Skip a test that needs the real letters, or fail it where they are required."""
    if real_letters_required():
        why = "IMR_REQUIRE_REAL_LETTERS=1" if os.environ.get("IMR_REQUIRE_REAL_LETTERS") else f"{SHARED_DATA} exists"
        pytest.fail(f"{why} but {reason}")
    pytest.skip(reason)


def _require(folder: Path, pattern: str) -> list[Path]:
    files = sorted(folder.glob(pattern))
    if not files:
        missing_real_letters(f"real letters not found: no {pattern} in {folder}")
    return files


@pytest.fixture(scope="session")
def pdf_paths() -> list[Path]:
    """The 147 bundled PDF letters, sorted by case number."""
    return _require(PDF_DIR, "*.pdf")


@pytest.fixture(scope="session")
def seed_paths() -> list[Path]:
    """The 5 seed letters (text), sorted: 000_..., 001_..., ..."""
    return _require(SEED_DIR, "*.txt")


# The real small corpus (tests/test_real_letters.py): 16 bundled letters, the first 8
# with an overturned item, so every fold holds some overturned items.
OVERTURNED_PDFS = [
    "CM16-0229336",
    "CM16-0230548",
    "CM16-0235991",
    "CM16-0239110",
    "CM16-0240259",
    "CM16-0242419",
    "CM16-0246624",
    "CM17-0005589",
]
UPHELD_PDFS = [
    "CM16-0213037",
    "CM16-0221706",
    "CM16-0224814",
    "CM16-0228949",
    "CM16-0231706",
    "CM16-0231745",
    "CM16-0232182",
    "CM16-0232543",
]
SMALL_CORPUS_PDFS = OVERTURNED_PDFS + UPHELD_PDFS


@pytest.fixture(scope="session")
def real_small_corpus(tmp_path_factory, pdf_paths, seed_paths) -> Path:
    """A folder with copies of the 16 letters above and the 5 seed letters (tests only read it)."""
    folder = tmp_path_factory.mktemp("small-corpus") / "letters"
    folder.mkdir()
    chosen = [p for p in pdf_paths if p.stem in SMALL_CORPUS_PDFS]
    if len(chosen) != len(SMALL_CORPUS_PDFS):
        missing = sorted(set(SMALL_CORPUS_PDFS) - {p.stem for p in chosen})
        missing_real_letters(f"bundled letters incomplete: missing {missing}")
    for path in [*chosen, *seed_paths]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """The synthetic small corpus (tests/synthetic_corpus.py: 36 letters, PDFs and text, with a
    planted signal) that the training and serving tests train and serve on, so they run with or
    without ../shared; tests/test_small_corpus.py checks the variety they rely on."""
    folder = tmp_path_factory.mktemp("small-corpus") / "letters"
    write_small_corpus(folder)
    return folder


_EMPTY_STORE: list[Path] = []  # one initialised, empty MLflow database per session


def new_store_uri(root: Path) -> str:
    """The URI of a new, empty SQLite MLflow store in `root`: a copy of a database initialised once
    per session (MLflow's schema migrations cost a second or more each time; a copy, milliseconds).
    A fresh store made in the same working directory holds the very same rows."""
    import mlflow

    if not _EMPTY_STORE:
        template = Path(tempfile.mkdtemp(prefix="imr-empty-mlflow-")) / "mlflow.db"
        mlflow.MlflowClient(f"sqlite:///{template}").search_experiments()
        _EMPTY_STORE.append(template)
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "mlflow.db").exists():
        shutil.copyfile(_EMPTY_STORE[0], root / "mlflow.db")
    return f"sqlite:///{root}/mlflow.db"


@contextmanager
def tracking_store(root: Path):
    """MLflow at a SQLite store in `root` (artifacts land beside it) until the block ends: the
    environment variable, and MLflow's process-wide tracking and registry URIs, which a run or a
    model load sets and which outrank the variable. Both are put back afterwards. Yields root."""
    import mlflow

    from serving.store import open_store

    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    uri = new_store_uri(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        open_store()
        try:
            yield root
        finally:
            mlflow.set_tracking_uri(before[0])
            mlflow.set_registry_uri(before[1])


def downloaded_model_folder(model_uri: str, dst: Path) -> Path:
    """A registered version, downloaded into `dst`: its packaged folder (imr_model.json and the
    files it lists; MLflow puts it under artifacts/<name>/)."""
    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(dst)))
    return next(local.glob("artifacts/*/imr_model.json")).parent


def wait_ready(client, timeout: float = 60) -> None:
    """Until the app behind a TestClient has loaded its model (GET /health answers 200)."""
    deadline = time.monotonic() + timeout
    while client.get("/health").status_code != 200:
        assert time.monotonic() < deadline, "model did not load"
        time.sleep(0.05)


@dataclass(frozen=True)
class TrainedBaseline:
    """A baseline trained once per session on the small corpus, in its own MLflow store."""

    config: object  # training.config.TrainConfig
    result: object  # training.run.train.TrainResult
    root: Path  # the store's folder (mlflow.db and its artifacts)
    letters: Path
    name: str
    alias: str = "testing"


BASELINE_NAME = "imr-test-baseline-sigmoid"
RAW_BASELINE_NAME = "imr-test-baseline-none"


def _session_baseline(tmp_path_factory, letters: Path, calibration: str) -> TrainedBaseline:
    from training.run.train import train

    name = {"sigmoid": BASELINE_NAME, "none": RAW_BASELINE_NAME}[calibration]
    root = tmp_path_factory.mktemp(name)
    cfg = compose(
        "baseline",
        data={"sources": [str(letters)]},
        model={"text_tfidf": {"min_df": 1, "max_features": 2000}},
        # 3 folds: the small corpus has 9 letters with an overturned item (see training.data.folds)
        evaluation={"folds": 3, "repeats": 1, "bootstrap_samples": 100, "calibration": calibration},
        mlflow={"experiment": "imr-tests-shared", "registered_model_name": name, "alias": "testing"},
    )
    with tracking_store(root):
        return TrainedBaseline(cfg, train(cfg), root, letters, name)


@pytest.fixture(scope="session")
def shared_baseline(tmp_path_factory, small_corpus) -> TrainedBaseline:
    """The default baseline (sigmoid calibration): tests/training/run/test_baseline_train.py checks
    its run, and every serving test that needs a trained model serves it. Tests must not register
    versions or move aliases in its store."""
    return _session_baseline(tmp_path_factory, small_corpus, "sigmoid")


@pytest.fixture(scope="session")
def shared_raw_baseline(tmp_path_factory, small_corpus) -> TrainedBaseline:
    """The same baseline without calibration, for tests of scoring itself: the small corpus's
    pooled out-of-fold scores do not rank its few overturned items, so a sigmoid calibrator rightly
    collapses to the observed rate and every calibrated answer would be the same number."""
    return _session_baseline(tmp_path_factory, small_corpus, "none")


@pytest.fixture(scope="module")
def baseline_store(shared_baseline) -> TrainedBaseline:
    """shared_baseline, with MLFLOW_TRACKING_URI at its store for the requesting module."""
    with tracking_store(shared_baseline.root):
        yield shared_baseline


@pytest.fixture(scope="module")
def raw_baseline_store(shared_raw_baseline) -> TrainedBaseline:
    """shared_raw_baseline, with MLFLOW_TRACKING_URI at its store for the requesting module."""
    with tracking_store(shared_raw_baseline.root):
        yield shared_raw_baseline


@pytest.fixture(scope="session")
def real_letters(pdf_paths) -> dict[str, Letter]:
    """Every bundled PDF parsed once, keyed by file stem (the case number)."""
    return {p.stem: parse_letter(read_letter_text(p)) for p in pdf_paths}


@pytest.fixture(scope="session")
def seed_letters(seed_paths) -> dict[str, Letter]:
    """Seed letters parsed once, keyed by their 3-digit prefix ("000" ... "004")."""
    return {p.name[:3]: parse_letter(read_letter_text(p)) for p in seed_paths}


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium for the browser tests: without it they fail, unless
    IMR_ALLOW_NO_BROWSER=1 (a machine that cannot install it) turns that into a named skip."""
    if CHROMIUM is None:
        if os.environ.get("IMR_ALLOW_NO_BROWSER") == "1":
            pytest.skip("no chromium installed and IMR_ALLOW_NO_BROWSER=1")
        pytest.fail(
            "no chromium on PATH: install Debian's chromium (apt-get install chromium), "
            "or set IMR_ALLOW_NO_BROWSER=1 to skip the browser tests"
        )
    return CHROMIUM


# Fixtures that train a model (each is built once per module or session, but the first test to
# ask for one pays for it): a test that uses one, directly or through another fixture, or drives a
# browser, is `slow`. Besides the fixtures named here, any fixture whose own code (or a helper of
# its module that it calls) calls training.run.train.train, or starts a process with subprocess, counts:
# a new module's training fixture needs no entry. A test that trains or starts a process in its
# own body is marked `slow` where it is written.
TRAINING_FIXTURES = {
    "trained",
    "cv_run",
    "split_run",
    "runs",
    "shared_baseline",
    "shared_raw_baseline",
    "tf_trained",
    "tf_da_trained",
    "tf_env",
}
_SUBPROCESS_STARTS = {"Popen", "run", "call", "check_call", "check_output"}


def _trains_or_starts_a_process(func, depth: int = 2) -> bool:
    """Whether `func`'s code calls training.run.train.train (imported at module level or inside it) or
    starts a subprocess, itself or through a function of its own module that it calls."""
    code, names = getattr(func, "__code__", None), getattr(func, "__globals__", {})
    if code is None:
        return False
    used = set(code.co_names)
    if "train" in used and (
        "training.run.train" in used or getattr(names.get("train"), "__module__", "") == "training.run.train"
    ):
        return True
    if _SUBPROCESS_STARTS & used and ("subprocess" in used or "Popen" in used):
        return True
    helpers = (names.get(n) for n in used)
    return depth > 0 and any(
        getattr(h, "__module__", None) == func.__module__ and _trains_or_starts_a_process(h, depth - 1)
        for h in helpers
        if callable(h) and hasattr(h, "__code__")
    )


def _slow_fixtures(item) -> set[str]:
    """The fixtures, among those `item` uses, that train a model or start a process."""
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return {
        name
        for name in getattr(item, "fixturenames", ())
        if name in TRAINING_FIXTURES
        or any(_trains_or_starts_a_process(d.func) for d in definitions.get(name, ()) if d.func is not None)
    }


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("browser") or _slow_fixtures(item):
            item.add_marker(pytest.mark.slow)
