"""`imr ui`: the MLflow UI as a child process tree that ends with `imr ui`.

`mlflow ui` starts a server that starts worker processes. Killing only `imr ui` (SIGTERM from a
service manager, a closed terminal) would leave that whole tree serving. So the UI runs in its own
process group, and a SIGTERM, SIGINT (Ctrl-C) or SIGHUP to `imr ui` is passed to the whole group:
SIGTERM first, SIGKILL to whatever is left after a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class _Stop(Exception):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of the group exists (owned by someone else)
        return True
    return True


def terminate_group(child: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the child's process group, SIGKILL after `grace` seconds to what is left; returns
    once the child is reaped and no process of the group remains (or after another grace period)."""
    pgid = child.pid  # start_new_session: the child leads its own group
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        if not _group_alive(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            child.poll()  # reap the leader, or the group would stay alive as a zombie
            if child.returncode is not None and not _group_alive(pgid):
                break
            time.sleep(0.05)
    child.poll()


def run_until_signalled(command: list[str], grace: float = 10.0) -> int:
    """Runs `command` in a new process group until it exits, or until this process gets one of
    STOP_SIGNALS: then the group is ended and 128 + the signal number is returned."""
    child = subprocess.Popen(command, start_new_session=True)

    def stop(signum, frame):
        raise _Stop(signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        return child.wait()
    except _Stop as exc:
        terminate_group(child, grace)
        return 128 + exc.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None or _group_alive(child.pid):  # e.g. an exception while waiting
            terminate_group(child, grace)


def ui_links(base: str, experiment: str) -> list[str]:
    """Where to point the browser: the experiment's training runs with the headline columns, and the
    chart view that compares them."""
    import mlflow

    from serving.store import open_store
    from training.reporting.ui_views import compare_url, runs_page_url

    open_store()
    try:
        found = mlflow.get_experiment_by_name(experiment)
    except Exception:  # noqa: BLE001  (an unreadable store: the UI itself will say why)
        return []
    if found is None:
        return [f"no experiment {experiment!r} yet: train a model first (imr train --config ...)"]
    return [
        f"training runs of {experiment!r}, headline metrics first: {runs_page_url(base, found.experiment_id)}",
        f"the families compared in charts: {compare_url(base, found.experiment_id)}",
    ]
