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

from pathlib import Path
from typing import Any

from serving.model_dir import ModelIntegrityError

TRUSTED_SKOPS_TYPES = frozenset(
    {
        "numpy.dtype",  # SimpleImputer's fitted dtype, in the metadata block (model.metadata_columns: true)
    }
)
_NAMED_AT_MOST = 5  # refused types named in the message; a hostile file may hold thousands


def load_trusted_skops(path: Path) -> Any:
    """The object in the skops file at `path`, or ModelIntegrityError naming the file and the types
    refused. Errors name exception types only: a message from a hostile or damaged file may quote
    its content (vocabulary terms come from the training letters)."""
    import skops.io as sio

    try:
        found = set(sio.get_untrusted_types(file=path))
    except Exception as exc:  # whatever the file is, reading its schema must end in a one-line refusal
        raise ModelIntegrityError(f"{path}: not a skops file ({type(exc).__name__}); refusing to load it") from None
    refused = sorted(found - TRUSTED_SKOPS_TYPES)
    if refused:
        named = ", ".join(repr(t[:200]) for t in refused[:_NAMED_AT_MOST])
        more = f" and {len(refused) - _NAMED_AT_MOST} more" if len(refused) > _NAMED_AT_MOST else ""
        raise ModelIntegrityError(f"{path}: refusing to load type(s) this project's models never save: {named}{more}")
    try:
        # skops audits the tree again against the same exact list before building anything
        return sio.load(path, trusted=sorted(found))
    except Exception as exc:
        raise ModelIntegrityError(f"{path}: cannot be rebuilt ({type(exc).__name__}); refusing to load it") from None
