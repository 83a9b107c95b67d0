"""The MLflow UI as a user opens it: a baseline and a tiny transformer trained into a temp store,
`imr ui` started on it, and its pages rendered by a real headless Chromium (Debian's `chromium`;
`make test` installs it when it is missing).

- the runs page `imr ui` links to shows both families' top-level runs by name, with the headline
  metric columns and their values, and no fold runs;
- the compare view of the two runs lists the `Headline/` metrics first.

Screenshots of both pages are saved under test-artifacts/ui/ (IMR_TEST_ARTIFACTS overrides the
folder). Without Chromium these tests fail; IMR_ALLOW_NO_BROWSER=1 turns that into a skip that
names the reason, for machines that cannot install it.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import ARTIFACTS as ARTIFACTS_ROOT
from browser import free_port
from conftest_transformer import tf_config

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ARTIFACTS_ROOT / "ui"
EXPERIMENT = "imr-tests-ui"
# What a reader compares first, in the order the headline view shows the columns.
FIRST_COLUMNS = ["cv_roc_auc", "cv_roc_auc_ci_low", "cv_roc_auc_ci_high", "cv_pr_auc"]


def render(browser: str, url: str, profile: Path, size: str, *, screenshot: Path | None = None) -> str:
    """The DOM after the single-page app ran its scripts for up to 20 s of virtual time, or a
    screenshot of it. The flags keep Chromium off the (closed) network."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={size}",
        "--virtual-time-budget=20000",
    ]
    command += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    out = subprocess.run([*command, url], capture_output=True, text=True, timeout=180, check=False)
    if screenshot:
        assert screenshot.is_file() and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", out.stderr[-2000:]
        return ""
    return out.stdout


def wait_healthy(base: str, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if urllib.request.urlopen(f"{base}/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            pytest.fail(f"MLflow UI did not become healthy on {base}")
        time.sleep(1)


@pytest.fixture(scope="module")
def trained(tf_env, tf_letters, tiny_base):
    """A baseline and a tiny transformer, each cross-validated on 3 folds, in one experiment."""
    import mlflow

    from training.config_loading import validate_config
    from training.run.train import train

    baseline = validate_config(
        {
            "data": {"sources": [str(tf_letters)]},
            "model": {"family": "baseline", "text_tfidf": {"min_df": 1, "max_features": 2000}},
            "evaluation": {"folds": 3, "repeats": 1, "bootstrap_samples": 50},
            "mlflow": {"experiment": EXPERIMENT, "registered_model_name": "imr-test-ui-baseline", "alias": "testing"},
        }
    )
    transformer = tf_config(
        tf_letters, tiny_base, name="imr-test-ui-transformer", epochs=1, compare_with_baseline=False
    )
    transformer = transformer.model_copy(
        update={
            "evaluation": transformer.evaluation.model_copy(update={"mode": "cv", "folds": 3, "repeats": 1}),
            "mlflow": transformer.mlflow.model_copy(update={"experiment": EXPERIMENT}),
        }
    )
    results = {"baseline": train(baseline), "transformer": train(transformer)}
    client = mlflow.MlflowClient()
    runs = {family: client.get_run(r.run_id) for family, r in results.items()}
    return mlflow.get_experiment_by_name(EXPERIMENT).experiment_id, runs


@pytest.fixture(scope="module")
def ui(trained):
    port = free_port()
    imr = Path(sys.executable).with_name("imr")
    log = ARTIFACTS.parent / "imr-ui.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(imr), "ui", "--port", str(port), "--experiment", EXPERIMENT],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server)
        yield base, log
    finally:
        server.terminate()  # imr ui ends its own process tree (tests/training/reporting/test_ui_process.py checks it)
        server.wait(timeout=60)


def test_runs_page_shows_both_families_by_name_with_headline_columns(chromium, trained, ui, tmp_path):
    from training.reporting.ui_views import runs_page_url

    experiment_id, runs = trained
    base, log = ui
    url = runs_page_url(base, experiment_id)
    assert url in log.read_text(), "imr ui does not print the link to the runs page"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    render(chromium, url, tmp_path / "shot", "3600,900", screenshot=ARTIFACTS / "runs_page.png")
    dom = render(chromium, url, tmp_path / "dom", "3600,900")
    for family, run in runs.items():
        name = run.info.run_name
        assert name.startswith(f"{family}-") and name in dom, f"{family} run {name} not shown by name"
        value = run.data.metrics["Headline/cv_roc_auc"]
        assert repr(value) in dom, f"{name}: its Headline/cv_roc_auc {value} is not in the table"
    # header cells are in the DOM in any order; aria-colindex is their place in the table
    cells = re.findall(r'aria-colindex="(\d+)" col-id="metrics\.`Headline/([^`]+)`"', dom)
    columns = [name for _, name in sorted(cells, key=lambda c: int(c[0]))]
    assert columns[: len(FIRST_COLUMNS)] == FIRST_COLUMNS, columns
    assert {"cv_brier_skill", "cv_ece"} <= set(columns), columns
    assert "-fold0" not in dom, "fold runs are listed beside the top-level runs"


def compare_metric_rows(dom: str) -> list[str]:
    """The metric names of the compare view's Metrics table, top to bottom (the table is virtualised:
    only its first rows are in the DOM). Each row links to the metric's chart ("Plot chart")."""
    rows = re.findall(
        r'<div class="[^"]*" style="height: \d+px; left: 0px; position: absolute; top: (\d+)px;[^"]*">'
        r'<a title="Plot chart" href="[^"]*">([^<]+)<',
        dom,
    )
    return [html.unescape(name) for _, name in sorted(rows, key=lambda r: int(r[0]))]


def test_compare_view_lists_headline_metrics_first(chromium, trained, ui, tmp_path):
    from training.reporting.ui_views import compare_url

    experiment_id, runs = trained
    base, _ = ui
    url = compare_url(base, experiment_id, [r.info.run_id for r in runs.values()])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    render(chromium, url, tmp_path / "shot", "1600,2400", screenshot=ARTIFACTS / "compare_view.png")
    dom = render(chromium, url, tmp_path / "dom", "1600,2400")
    for run in runs.values():
        assert run.info.run_name in dom, f"run {run.info.run_name} not in the compare view"
    shown = compare_metric_rows(dom)
    logged = sorted({k for r in runs.values() for k in r.data.metrics})  # MLflow's order: plain string order
    headline = [k for k in logged if k.startswith("Headline/")]
    assert len(shown) >= 5, f"the Metrics table did not render: {shown}"
    assert shown == logged[: len(shown)], (shown, logged[: len(shown)])
    first = min(len(shown), len(headline))
    assert shown[:first] == headline[:first], f"other metrics listed before the headline ones: {shown}"
    assert "Headline/cv_roc_auc" in headline and "Headline/cv_pr_auc" in headline
