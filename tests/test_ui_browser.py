"""The MLflow UI, started by `imr ui`, checked in a real headless Chromium.

Marked `browser`: skipped where no Chromium is installed (CI installs Debian's chromium in .ci/run).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RUNS = {"run-alpha": 0.6123, "run-beta": 0.7345}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dump_dom(url: str, profile: Path) -> str:
    """Chromium renders the single-page app, runs its scripts for up to 20 s of virtual time,
    and prints the resulting DOM. The flags keep it off the (closed) network."""
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1600,1000", "--virtual-time-budget=20000", "--dump-dom", url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120).stdout


@pytest.fixture(scope="module")
def ui_with_two_runs(tmp_path_factory):
    store = tmp_path_factory.mktemp("ui-store")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db"}
    script = (
        "import json, mlflow\n"
        "from training.tracking import setup\n"
        "setup('ui-check')\n"
        "ids = {}\n"
        f"for name, auc in {RUNS!r}.items():\n"
        "    with mlflow.start_run(run_name=name) as run:\n"
        "        mlflow.log_metric('test_roc_auc', auc)\n"
        "        mlflow.set_tag('model_family', 'baseline')\n"
        "        ids[name] = run.info.run_id\n"
        "print(json.dumps({'experiment': mlflow.get_experiment_by_name('ui-check').experiment_id, 'runs': ids}))\n"
    )
    created = json.loads(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                        check=True, cwd=Path(__file__).resolve().parents[1]).stdout.strip().splitlines()[-1])
    port = free_port()
    imr = Path(sys.executable).with_name("imr")
    server = subprocess.Popen([str(imr), "ui", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if urllib.request.urlopen(f"{base}/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"MLflow UI did not become healthy on {base}")
            time.sleep(1)
        yield base, created
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium)")
def test_experiment_page_lists_both_runs(ui_with_two_runs, tmp_path):
    base, created = ui_with_two_runs
    dom = dump_dom(f"{base}/#/experiments/{created['experiment']}/runs", tmp_path / "profile")
    for name in RUNS:
        assert name in dom, f"run {name} not rendered on the experiment page"


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium)")
def test_compare_page_renders_both_runs_metrics(ui_with_two_runs, tmp_path):
    base, created = ui_with_two_runs
    run_ids = json.dumps(list(created["runs"].values())).replace(" ", "")
    dom = dump_dom(f"{base}/#/compare-runs?runs={run_ids}&experiments=[\"{created['experiment']}\"]",
                   tmp_path / "profile")
    assert "test_roc_auc" in dom
    for name, auc in RUNS.items():
        assert name in dom and f"{auc}" in dom, f"{name} or its test_roc_auc {auc} not rendered"
