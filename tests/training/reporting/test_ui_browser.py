"""The MLflow UI as a user opens it: a baseline and a tiny transformer trained into a temp store
(conftest_transformer.two_families), `imr ui` started on it, and its pages rendered by a real headless
Chromium (Debian's `chromium`; `make test` installs it when it is missing).

- the runs page `imr ui` links to shows both families' top-level runs by name, with their `family`
  column and their headline figures as rounded text with the 95% CI in the same cell, and no fold runs;
- the chart view it links to opens on bar charts of the champion rule's figure and the trust sentence's,
  not on a parallel-coordinates plot.

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
from conftest_transformer import FAMILIES_EXPERIMENT as EXPERIMENT

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ARTIFACTS_ROOT / "ui"


def render(
    browser: str, url: str, profile: Path, size: str, *, screenshot: Path | None = None, seconds: int = 20
) -> str:
    """The DOM after the single-page app ran its scripts for up to `seconds` of virtual time, or a
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
        f"--virtual-time-budget={seconds * 1000}",
    ]
    command += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    out = subprocess.run([*command, url], capture_output=True, text=True, timeout=180 + 2 * seconds, check=False)
    if screenshot:
        assert screenshot.is_file() and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", out.stderr[-2000:]
        return ""
    return out.stdout


def wait_healthy(base: str, server: subprocess.Popen, seconds: float = 300) -> None:
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
def trained(two_families_env):
    """A baseline and a tiny transformer, each cross-validated on 3 folds, in one experiment
    (conftest_transformer.two_families)."""
    import mlflow

    client = mlflow.MlflowClient()
    runs = {family: client.get_run(r.run_id) for family, r in two_families_env.results.items()}
    return two_families_env.experiment_id, runs


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


def test_runs_page_shows_the_families_with_their_figures_in_one_cell_each(chromium, trained, ui, tmp_path):
    from training.reporting.headline import CI_TAGS, FAMILY_TAG
    from training.reporting.ui_views import RULE_METRIC, runs_page_url

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
        assert run.data.tags[FAMILY_TAG] == family
        for tag in ("AUROC within fold", "AUROC pooled", "Writer shift AUROC within fold", "Brier skill"):
            text = run.data.tags[tag]  # e.g. "0.63 (95% CI 0.51 to 0.76)": rounded, the CI in the same cell
            assert re.fullmatch(r"-?\d\.\d\d \(95% CI -?\d\.\d\d to -?\d\.\d\d\)", text), (tag, text)
            assert html.escape(text) in dom, f"{name}: its {tag} {text} is not in the table"
        value = run.data.metrics[RULE_METRIC]
        assert value == round(value, 3) and repr(value) in dom  # rounded: no 16-decimal cells
    # header cells are in the DOM in any order; aria-colindex is their place in the table
    cells = re.findall(r'aria-colindex="(\d+)" col-id="(tags|metrics)\.`([^`]+)`"', dom)
    columns = [name for _, _, name in sorted(cells, key=lambda c: int(c[0]))]
    assert columns == [FAMILY_TAG, *CI_TAGS["cv"], RULE_METRIC], columns
    assert "-fold0" not in dom, "fold runs are listed beside the top-level runs"


def chart_titles(dom: str) -> list[str]:
    """The metric of each chart card of the chart view, top to bottom (each card's title)."""
    return [html.unescape(t) for t in re.findall(r'title="(Headline/[^"]+)"', dom)]


def test_compare_view_opens_on_the_charts_of_the_rule_and_the_trust_sentence(chromium, trained, ui, tmp_path):
    """The chart view `imr ui` links to shows the families' bars of the champion rule's figure and the
    trust sentence's first, not MLflow's parallel-coordinates plot of every param and metric."""
    from training.reporting.ui_views import CHART_METRICS, compare_url

    experiment_id, runs = trained
    base, log = ui
    url = compare_url(base, experiment_id)
    assert url in log.read_text(), "imr ui does not print the link to the chart view"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # plotly's charts draw late on a busy machine: a long virtual-time budget
    render(chromium, url, tmp_path / "shot", "1800,1400", screenshot=ARTIFACTS / "compare_view.png", seconds=90)
    dom = render(chromium, url, tmp_path / "dom", "1800,1400", seconds=90)
    for run in runs.values():
        assert run.info.run_name[:20] in dom, f"run {run.info.run_name} not in the chart view"
    titles = chart_titles(dom)
    assert titles[: len(CHART_METRICS)] == CHART_METRICS, titles
    assert "Parallel" not in dom and "parallel" not in dom
