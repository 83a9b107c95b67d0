"""Loading a pretrained checkpoint into a model with a new head, checked here instead of reported.

transformers prints a "LOAD REPORT" table whenever a checkpoint lacks some of the model's weights,
and "This checkpoint seem corrupted" when a tied pair of them is missing. Starting a classifier or
a masked-LM head from an encoder checkpoint does exactly that, by design: the head is new. So the
load runs with those two messages filtered, and its loading info is checked against the weights
the caller expects to be new (or to be dropped); anything else is still warned about, with the
keys named.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

_LOADER_LOGGER = "transformers.modeling_utils"


class _ExpectedReports(logging.Filter):
    def __init__(self, new_prefixes: Sequence[str]):
        super().__init__()
        self.new_prefixes = tuple(new_prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "LOAD REPORT" in message:
            return False  # checked from the loading info below
        if message.startswith("This checkpoint seem corrupted"):
            # Names the tied pair; harmless when both halves belong to the new head.
            names = [w.strip(",.") for w in message.split() if "." in w.strip(",.")]
            return not names or not all(n.startswith(self.new_prefixes) for n in names)
        return True


@contextmanager
def _filtered(new_prefixes: Sequence[str]):
    logger = logging.getLogger(_LOADER_LOGGER)
    flt = _ExpectedReports(new_prefixes)
    logger.addFilter(flt)
    try:
        yield
    finally:
        logger.removeFilter(flt)


def load_with_new_head(model_cls, path: Path, new: Sequence[str] = (), dropped: Sequence[str] = (), **kwargs):
    """`model_cls.from_pretrained(path, **kwargs)`; weights under the `new` prefixes may be missing from
    the checkpoint (initialised fresh), weights under `dropped` may be in it unused. Any other
    missing, unexpected or mismatched weight is warned about."""
    with _filtered(new):
        model, info = model_cls.from_pretrained(path, output_loading_info=True, **kwargs)
    missing = [k for k in info.get("missing_keys", ()) if not k.startswith(tuple(new))]
    unexpected = [k for k in info.get("unexpected_keys", ()) if not k.startswith(tuple(dropped))]
    mismatched = list(info.get("mismatched_keys", ()))
    problems = [
        f"{label}: {sorted(map(str, keys))}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("mismatched", mismatched))
        if keys
    ]
    if problems:
        warnings.warn(
            f"{model_cls.__name__} from {path}: weights not as expected ({'; '.join(problems)})",
            RuntimeWarning,
            stacklevel=2,
        )
    return model
