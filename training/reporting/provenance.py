"""Where a run came from: the project's git commit and a digest of the letters it was trained on."""

from __future__ import annotations

import subprocess
from pathlib import Path

from serving.store import PROJECT_ROOT
from training.data.loading import report_digest

GIT_COMMIT_TAG = "mlflow.source.git.commit"  # the tag MLflow's UI shows as the run's source version


def _git(root: Path, *args: str) -> subprocess.CompletedProcess | None:
    """`git -C root args...`, or None where git cannot run."""
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    """HEAD's commit, or None outside a git checkout (an unpacked release, a wheel) or without git.
    MLflow would set the tag itself only with GitPython installed and the entry script in the repo."""
    out = _git(root, "rev-parse", "--verify", "HEAD")
    commit = out.stdout.strip() if out else ""
    return commit if out and out.returncode == 0 and len(commit) == 40 else None


def git_dirty(root: Path = PROJECT_ROOT) -> bool | None:
    """Whether tracked files differ from HEAD (the commit alone then does not reproduce the run)."""
    out = _git(root, "status", "--porcelain", "--untracked-files=no")
    return bool(out.stdout.strip()) if out and out.returncode == 0 else None


def data_digest(ingest_report: dict) -> str:
    """12 hex digits over the sha256 of every letter that was ingested (training.data.loading.letters_digest);
    a report read from an ingest output carries it, computed while its files were read."""
    return ingest_report.get("data_digest") or report_digest(ingest_report)


def source_tags(ingest_report: dict) -> dict[str, str]:
    tags = {"data_digest": data_digest(ingest_report)}
    commit = git_commit()
    if commit:
        tags[GIT_COMMIT_TAG] = commit
        dirty = git_dirty()
        if dirty is not None:
            tags["git_dirty"] = str(dirty).lower()
    return tags
