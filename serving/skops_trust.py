"""Loading a pipeline saved with skops, trusting exactly the types the project's families save.

skops rebuilds objects from a file's schema and refuses any type it does not vouch for itself
(scikit-learn estimators, NumPy and SciPy ufuncs and dtypes, Python primitives and containers)
unless the caller names it as trusted. The names must be exact: a prefix such as `numpy.` would
also trust `numpy.distutils.exec_command.exec_command`, and a TF-IDF whose `analyzer` is that
function runs each request's text as a shell command. The hash manifest beside the file is no
defence here, since whoever can rewrite the file can rewrite the manifest.

TRUSTED_SKOPS_TYPES is what `skops.io.get_untrusted_types` reports for the pipeline
training.families.baseline saves (the baseline family and every ensemble's baseline member), under each of
its config options; tests/serving/test_model_trust.py checks that training writes nothing outside
it and that it holds nothing training never writes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from serving.model_dir import ModelIntegrityError

TRUSTED_SKOPS_TYPES = frozenset(
    {
        "numpy.dtype",  # SimpleImputer's fitted dtype, in the metadata block (model.metadata_columns: true)
    }
)
_NAMED_AT_MOST = 5  # refused types named in the message; a hostile file may hold thousands


class _Hidden(importlib.abc.MetaPathFinder):
    """An import finder under which the packages named (and their submodules) cannot be imported."""

    def __init__(self, *packages: str):
        self.packages = packages

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.packages:
            raise ModuleNotFoundError(f"{name} is not imported while skops lists scikit-learn's estimators", name=name)
        return None


def skops_io() -> ModuleType:
    """skops.io, imported without torch. When first imported, skops lists every scikit-learn
    estimator as a type it trusts (sklearn.utils.all_estimators), which walks every scikit-learn
    package with pkgutil and so also imports sklearn.externals.array_api_compat.torch and, where torch
    is installed, torch itself: about 3 s and 190 MB for a model that never uses it. No estimator
    lives there (all_estimators skips `externals`), and pkgutil skips a package that cannot be
    imported, so hiding torch for that one import leaves skops's trusted list as it is
    (tests/serving/test_cold_start.py compares it with one listed with torch importable). Once torch
    is loaded (a transformer member loaded first) there is nothing to save, and nothing is hidden."""
    if "skops.io" in sys.modules or "torch" in sys.modules:
        return importlib.import_module("skops.io")
    hidden = _Hidden("torch")
    sys.meta_path.insert(0, hidden)
    try:
        return importlib.import_module("skops.io")
    finally:
        sys.meta_path.remove(hidden)


def load_trusted_skops(path: Path) -> Any:
    """The object in the skops file at `path`, or ModelIntegrityError naming the file and the types
    refused. Errors name exception types only: a message from a hostile or damaged file may quote
    its content (vocabulary terms come from the training letters).

    One pass: skops audits the file's whole tree against its own trusted types and
    TRUSTED_SKOPS_TYPES before it builds anything, and refuses the file if any other type is in it.
    Reading the schema costs as much as the rest of the load (a fitted TF-IDF's vocabulary is
    thousands of nodes), so the file is read a second time only to say why it was refused."""
    sio = skops_io()
    try:
        return sio.load(path, trusted=sorted(TRUSTED_SKOPS_TYPES))
    except Exception as exc:  # whatever the file is, the answer is a one-line refusal
        failure = type(exc).__name__
    try:
        found = set(sio.get_untrusted_types(file=path))
    except Exception as exc:
        raise ModelIntegrityError(f"{path}: not a skops file ({type(exc).__name__}); refusing to load it") from None
    refused = sorted(found - TRUSTED_SKOPS_TYPES)
    if refused:
        named = ", ".join(repr(t[:200]) for t in refused[:_NAMED_AT_MOST])
        more = f" and {len(refused) - _NAMED_AT_MOST} more" if len(refused) > _NAMED_AT_MOST else ""
        raise ModelIntegrityError(f"{path}: refusing to load type(s) this project's models never save: {named}{more}")
    raise ModelIntegrityError(f"{path}: cannot be rebuilt ({failure}); refusing to load it")
