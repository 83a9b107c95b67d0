"""A local copy of each registered model version loaded, so that the next `imr predict` or `imr serve`
reads it from disk instead of downloading it from the artifact store again.

    $IMR_MODEL_CACHE  (default: $XDG_CACHE_HOME/imr-outcome/models, else ~/.cache/imr-outcome/models)
      <name>/<version>/<manifest sha256>/   the version's model folder: imr_model.json and the files it lists
      .downloads/                            downloads in progress (moved into place when they loaded)

An entry is named by the registered name, the version and the manifest sha256 the registry records
for that version (serving.model_dir.MANIFEST_SHA256_TAG), and is written only after the version loaded
from its download with every check passed. A copy is trusted no more than a download: each load
checks the copy's manifest against the registry's tag and every listed file against the manifest
(serving.model_dir) before anything is deserialised, so a cached file that was changed is refused
(the message names the folder to delete). The name is resolved in the registry on every load, so an
alias moved to another version loads that version. Versions registered without the tag, runs:/ and
models:/m- URIs and folders are never cached: there is nothing to check a copy against.

IMR_MODEL_CACHE=off: no cache (each load downloads into a temporary folder). To clear the cache,
delete its folder; nothing else refers to it.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

CACHE_ENV = "IMR_MODEL_CACHE"
OFF = "off"
DOWNLOADS = ".downloads"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def cache_root() -> Path | None:
    """The cache folder, or None when IMR_MODEL_CACHE=off."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return None if configured.strip().lower() == OFF else Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "imr-outcome" / "models"


def entry(name: str, version: str, manifest_sha256: str | None) -> Path | None:
    """Where the version's copy lives; None when the cache is off or the version cannot be named
    safely (no manifest tag, a tag that is not a sha256, a name that would leave the folder)."""
    root = cache_root()
    folder = quote(name, safe="")
    if root is None or manifest_sha256 is None or not _SHA256.fullmatch(manifest_sha256):
        return None
    if folder in (".", "..") or not version.isdigit():
        return None
    return root / folder / version / manifest_sha256


def cached(name: str, version: str, manifest_sha256: str | None) -> Path | None:
    """The version's copy when the cache holds it."""
    path = entry(name, version, manifest_sha256)
    return path if path is not None and path.is_dir() else None


def download_folder() -> Path | None:
    """Where to download a version so that keeping it is a rename on the same disk; None (use the
    system's temporary folder) when the cache is off or cannot be created."""
    root = cache_root()
    if root is None:
        return None
    try:
        (root / DOWNLOADS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("model cache %s cannot be created (%s); models are downloaded on each load", root, exc.strerror)
        return None
    return root / DOWNLOADS


def keep(model_dir: Path, name: str, version: str, manifest_sha256: str | None) -> Path | None:
    """Move a downloaded model folder that loaded into the cache (a rename: a reader never sees half
    a copy); returns the entry, or None when the version is not cached. Another process that cached
    the same version first keeps its copy."""
    target = entry(name, version, manifest_sha256)
    if target is None or target.is_dir():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        model_dir.rename(target)
    except OSError as exc:
        if not target.is_dir():
            log.warning("could not keep %s version %s in the model cache %s (%s)", name, version, target, exc)
            return None
    return target
