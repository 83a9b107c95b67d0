"""Out-of-distribution checks: is a request like the items the model was trained on?

A model only knows the treatments and case summaries of its training letters. A request whose
treatment shares no word with any training treatment ("asdf qwerty"), or whose case summary is
empty or far shorter than any it learned from, gets a score that means little; such an item is
flagged and its score capped at the training base rate (serving.prediction).

At training, `write_training_vocabulary` writes `training_vocabulary.json` into the model folder:
the normalised treatment words of the train items and the summary-length threshold. Training
lists it among the model's files, so it is sha256-checked like every other model file. It holds
single words of treatment names (the vocabulary the model's own TF-IDF already stores), never a
sentence of a letter.

The summary threshold is `min(20, 1st percentile of the train summaries' word counts)`: under
20 words is "very short" in plain terms, lowered only when the training letters themselves had
summaries that short (the bundled letters' shortest train summary has about 90 words, so the
threshold there is 20).

Reasons name the check that failed and its threshold, never the submitted words.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from serving.model_dir import ModelIntegrityError, ModelMeta

VOCAB_FILE = "training_vocabulary.json"
FORMAT_VERSION = 1
MAX_SHORT_SUMMARY_WORDS = 20

# Words that say nothing about which treatment is asked for: a nonsense treatment padded with
# them ("asdf 2 times a week for the right knee" minus "knee") must still be flagged.
_STOP = frozenset(
    """
a an and as at by for from in into of on or per the to with without w wo plus
right left bilateral both side
one two three four five six seven eight nine ten eleven twelve
time times daily day days week weeks weekly month months monthly year hour hours min mins minute minutes
x q qd qid bid tid prn po hs qhs once twice
mg mcg ug ml cc l g gm gms gram grams kg oz mEq meq iu unit units percent dose doses
qty quantity count refill refills supply session sessions visit visits
request requested retro retrospective prospective purchase rental rent dos date service
""".lower().split()
)

_WORD = re.compile(r"[a-z]+")


def treatment_words(text: str) -> set[str]:
    """Normalised content words: lowercase letters only (numbers and "10/325mg" fall away), no
    stop words or dosage units, a plural "s" dropped so "MRIs" matches "MRI"."""
    words = set()
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 or word in _STOP:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):  # same on both sides, so crude is fine
            word = word[:-1]
        words.add(word)
    return words


def word_count(text: str) -> int:
    return len(text.split())


def write_training_vocabulary(model_dir: Path, records: Iterable[Mapping[str, Any]]) -> str:
    """Write the vocabulary file for the train `records` into `model_dir`; returns its file name."""
    records = list(records)
    vocabulary = set().union(*(treatment_words(_text(r, "treatment")) for r in records))
    lengths = np.array([word_count(_text(r, "case_summary")) for r in records], dtype=np.int64)
    return write_vocabulary(model_dir, vocabulary, lengths)


def write_vocabulary(model_dir: Path, vocabulary: set[str], summary_lengths: np.ndarray) -> str:
    """The vocabulary file from its parts, gathered however the caller read the train items: the
    union of their treatment_words, and the word_count of each one's case summary."""
    lengths = np.asarray(summary_lengths) if len(summary_lengths) else np.array([0])
    p01 = float(np.percentile(lengths, 1))
    content = {
        "format_version": FORMAT_VERSION,
        "n_items": len(summary_lengths),
        "treatment_words": sorted(vocabulary),
        "summary_words": {"p01": p01, "p05": float(np.percentile(lengths, 5)), "median": float(np.median(lengths))},
        "min_summary_words": int(min(MAX_SHORT_SUMMARY_WORDS, math.floor(p01))),
    }
    (Path(model_dir) / VOCAB_FILE).write_text(json.dumps(content, indent=1))
    return VOCAB_FILE


class DistributionCheck:
    def __init__(self, vocabulary: set[str], min_summary_words: int):
        self.vocabulary = vocabulary
        self.min_summary_words = min_summary_words

    def reason(self, record: Mapping[str, Any]) -> str | None:
        """None when the item looks like the training items, else which checks failed."""
        failed = []
        if not treatment_words(_text(record, "treatment")) & self.vocabulary:
            failed.append("treatment: none of its words occur in the training letters' treatments")
        if word_count(_text(record, "case_summary")) < self.min_summary_words:
            failed.append(f"case_summary: empty or shorter than {self.min_summary_words} words")
        return "; ".join(failed) or None


def load_distribution_check(model_dir: Path, meta: ModelMeta) -> DistributionCheck | None:
    """The check for a verified model folder; None for a model packaged before the vocabulary
    existed (it is then scored unchecked: docs/serving.md, "Out-of-distribution check"). Only a
    file listed, and so hash-checked, in the model's meta is read."""
    if VOCAB_FILE not in meta.files:
        return None
    path = Path(model_dir) / VOCAB_FILE
    try:
        content = json.loads(path.read_text())
        if content["format_version"] != FORMAT_VERSION:
            raise ValueError(f"format_version {content['format_version']} (expected {FORMAT_VERSION})")
        return DistributionCheck(set(content["treatment_words"]), int(content["min_summary_words"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"{path}: not a valid training vocabulary ({type(exc).__name__}: {exc})") from None


def _text(record: Mapping[str, Any], field: str) -> str:
    """A text field, "" when absent, None (JSON) or NaN (pandas)."""
    value = record.get(field)
    return value if isinstance(value, str) else ""
