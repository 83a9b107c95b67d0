"""One writer per ingest output: `imr ingest` holds an exclusive flock(2) on `.NAME.lock` beside
`--out` from before it looks at the output until it has replaced it.

flock is the kernel's: a lock dies with the process that held it (SIGKILL, a crash, a power cut
included), so a killed writer never blocks the next one, and no PID-file protocol decides who
holds it. The holder writes its pid into the file only so that a refused writer can name it.
The lock file is removed by its holder, while still holding it; a writer that locked a file
which was removed meanwhile finds it no longer at that path (another inode) and tries again.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from features.errors import InputError


class OutputBusy(InputError):
    """Another writer holds the output."""


def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


@contextmanager
def hold_output(out: Path, wait: bool = False, notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold `out` for writing. Held elsewhere: OutputBusy naming the holder's pid, or with
    wait=True, one note to `notify` and a wait until the holder is done (Ctrl-C stops it)."""
    path = lock_path(out)
    noted = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by the workers (PEP 446)
        try:
            if not _try_lock(fd):
                holder = _holder(fd)
                if not wait:
                    raise OutputBusy(
                        f"--out {out} is being written by another imr ingest ({holder}); "
                        f"wait for it to finish, or run again with --wait to queue behind it"
                    )
                if not noted and notify is not None:
                    notify(f"--out {out} is being written by another imr ingest: waiting for {holder} to finish")
                    noted = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            if _still_at(fd, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed the file we locked: lock the one at the path now
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f"pid {text}" if text.isdigit() else "pid unknown"


def _still_at(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
