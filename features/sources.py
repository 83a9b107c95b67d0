"""Files and folders named on the command line to the files to read, with every path that cannot
be read (a dangling link, a link loop, an unreadable folder) reported rather than skipped.

Folders are walked in sorted order; links are followed once: a folder reached again through a
link is not read twice, and a link back into one of its own ancestors is a loop.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

LETTER_SUFFIXES = (".pdf", ".txt")


@dataclass(frozen=True, slots=True)  # slots: one per file of a million-file corpus
class Entry:
    path: Path
    reason: str | None = None  # set: not readable as a file; reported with this reason
    status: str = "rejected"  # the report status when reason is set


def walk(paths: Iterable[str | Path]) -> Iterator[Entry]:
    """Named files as given (whatever their suffix: naming one is asking for it); folders
    recursively, their .pdf/.txt files (a folder's README is not a letter and is skipped)."""
    seen_dirs: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        problem = _link_problem(path)
        if problem:
            yield Entry(path, problem)
        elif not path.exists():
            yield Entry(path, "no such file or folder")
        elif path.is_dir():
            yield from _walk_dir(path, seen_dirs, ())
        else:
            yield Entry(path)


def _link_problem(path: Path) -> str | None:
    """Why a link cannot be followed (None for a good link or a plain path)."""
    if not path.is_symlink():
        return None
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "link loop: the link resolves to itself"
        if exc.errno == errno.ENOENT:
            return "dangling link: its target does not exist"
        return f"cannot follow link: {exc.strerror}"
    return None


def _walk_dir(folder: Path, seen_dirs: dict[str, Path], ancestors: tuple[str, ...]) -> Iterator[Entry]:
    real = os.path.realpath(folder)
    if real in ancestors:
        yield Entry(folder, "link loop: the link leads back into a folder that contains it")
        return
    if real in seen_dirs:
        yield Entry(folder, f"folder already read as {seen_dirs[real]}", status="duplicate")
        return
    seen_dirs[real] = folder
    try:
        with os.scandir(folder) as it:
            children = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield Entry(folder, f"cannot read folder: {exc.strerror}")
        return
    for child in children:
        path = Path(child.path)
        problem = _link_problem(path)
        if problem:
            yield Entry(path, problem)
            continue
        try:
            is_dir = child.is_dir()
            is_file = child.is_file()
        except OSError as exc:
            yield Entry(path, f"cannot read: {exc.strerror}")
            continue
        if is_dir:
            yield from _walk_dir(path, seen_dirs, (*ancestors, real))
        elif path.suffix.lower() in LETTER_SUFFIXES:
            yield Entry(path) if is_file else Entry(path, "not a regular file")
