"""`imr ui` ends the whole `mlflow ui` process tree when it is stopped: SIGTERM (a service manager,
`kill`), SIGINT (Ctrl-C) or SIGHUP (a closed terminal) sent to `imr ui` alone, never to its group.
Checked on a stand-in tree of shell processes for each signal, and on the real MLflow UI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test starts processes (a stand-in tree, or `imr ui`)

ROOT = Path(__file__).resolve().parents[3]


def children_of() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the command name may hold spaces and parentheses
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, out, todo = children_of(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def wait_for(predicate, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# A stand-in for `mlflow ui`: a shell that starts two long-lived children and waits for them.
STAND_IN = ["sh", "-c", "sleep 300 & sleep 300 & wait"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_ends_the_whole_child_tree(sig):
    code = (
        "import sys\nfrom training.reporting.ui_process import run_until_signalled\n"
        f"sys.exit(run_until_signalled({STAND_IN!r}, grace=5))\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        assert wait_for(lambda: len(descendants(parent.pid)) >= 3, 30), "the stand-in tree did not start"
        tree = descendants(parent.pid)
        parent.send_signal(sig)  # to imr ui alone, as `kill` or a service manager would
        assert parent.wait(timeout=30) == 128 + sig
        assert wait_for(lambda: not any(alive(p) for p in tree), 15), (
            f"left running after {sig.name}: {[p for p in tree if alive(p)]}"
        )
    finally:
        for pid in descendants(parent.pid):
            os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()


def test_a_child_that_exits_by_itself_gives_its_exit_status():
    from training.reporting.ui_process import run_until_signalled

    assert run_until_signalled(["sh", "-c", "exit 3"]) == 3


def test_imr_ui_stopped_with_sigterm_leaves_no_mlflow_process(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"}
    imr = Path(sys.executable).with_name("imr")
    ui = subprocess.Popen(
        [str(imr), "ui", "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:

        def healthy() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200
            except OSError:
                return False

        assert wait_for(healthy, 120, step=1), "the MLflow UI did not start"
        tree = descendants(ui.pid)
        assert len(tree) >= 2, f"expected mlflow ui and its server under imr ui, got {tree}"
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=60) == 128 + signal.SIGTERM
        assert wait_for(lambda: not any(alive(p) for p in tree), 30), f"left running: {[p for p in tree if alive(p)]}"
        assert not healthy(), "the UI still answers after imr ui ended"
    finally:
        for pid in descendants(ui.pid):
            os.kill(pid, signal.SIGKILL)
        if ui.poll() is None:
            ui.kill()
