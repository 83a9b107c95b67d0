"""Fine-tuning's inputs, tokenised once: the head+tail token ids of a split's items (serving.encoding.encode,
exactly what serving scores), made by `datasets.map(batched=True, num_proc=...)` into Arrow files and
cached on disk by content. The key is the split's fingerprint (datasets' hash of its in-memory table:
every text and label), the tokenizer's identity (a hash of its serialised vocabulary, normaliser,
pre-tokeniser and special tokens, not of the folder it was loaded from) and the encoding (max_length,
head_fraction). A second fit on the same items with the same tokenizer (a rerun, a repeat, every
process of a multi-process launch after the first) loads the memory-mapped files and tokenises nothing.

Columns: input_ids (int32, unpadded: the collator pads each batch to its own longest member, and
adds the attention mask), labels, length (tokens, read by the length-grouped sampler)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from serving.encoding import encode
from training.config import PROJECT_ROOT

# Bump when the stored columns or the encoding change: older cache entries are then never read.
FORMAT = 1
# Below this many items per process, starting tokeniser processes costs more than it saves.
ITEMS_PER_TOKENIZER_PROCESS = 20_000


def tokenized_cache_dir(configured: str | None) -> Path:
    """The configured folder (a relative one against the project root), else `imr-tokenized` in the
    Hugging Face datasets cache (HF_DATASETS_CACHE, or under HF_HOME)."""
    if configured:
        return Path(configured) if Path(configured).is_absolute() else PROJECT_ROOT / configured
    import datasets

    return Path(datasets.config.HF_DATASETS_CACHE) / "imr-tokenized"


def tokenizer_identity(tokenizer) -> str:
    """sha256 of what decides the token ids: the fast tokenizer's serialised model, normaliser,
    pre-tokeniser and post-processor, and the special tokens encode() adds. Truncation and padding
    state are left out: they are per-call settings, and encode() asks for neither."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError(f"{type(tokenizer).__name__} is not a fast tokenizer; fine-tuning needs one (tokenizer.json)")
    spec = json.loads(backend.to_str())
    spec.pop("truncation", None)
    spec.pop("padding", None)
    spec["special"] = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def cache_key(raw, tokenizer, max_length: int, head_fraction: float) -> str:
    """The cache entry of `raw` (a datasets.Dataset of text and labels) under this tokenizer and encoding."""
    parts = {
        "format": FORMAT,
        # datasets' fingerprint of an in-memory table hashes its content, so equal texts and labels
        # give the same key in every process and every run.
        "data": raw._fingerprint,
        "tokenizer": tokenizer_identity(tokenizer),
        "max_length": max_length,
        "head_fraction": head_fraction,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def default_num_proc(items: int) -> int:
    """One tokeniser process per ITEMS_PER_TOKENIZER_PROCESS items, at most one per core."""
    return max(1, min(os.cpu_count() or 1, items // ITEMS_PER_TOKENIZER_PROCESS))


def tokenized(
    texts: list[str],
    labels: list[int],
    tokenizer,
    max_length: int,
    head_fraction: float,
    cache_dir: Path | None,
    num_proc: int | None = None,
):
    """The datasets.Dataset of (input_ids, labels, length) for `texts`: loaded from `cache_dir` when
    an entry with the same key is there, else tokenised (and, with a cache_dir, stored there first).
    cache_dir None: tokenised in memory, nothing kept."""
    import datasets

    raw = datasets.Dataset.from_dict({"text": list(texts), "labels": [int(v) for v in labels]})
    if cache_dir is None:
        return _tokenize(raw, tokenizer, max_length, head_fraction, num_proc)
    folder = Path(cache_dir) / cache_key(raw, tokenizer, max_length, head_fraction)
    if not folder.is_dir():
        _store(_tokenize(raw, tokenizer, max_length, head_fraction, num_proc), folder)
    return datasets.load_from_disk(str(folder))


def lengths(dataset) -> list[int]:
    """The `length` column as a list, in one read (iterating the column reads it row by row)."""
    return dataset.select_columns("length")[:]["length"]


def _tokenize(raw, tokenizer, max_length: int, head_fraction: float, num_proc: int | None):
    import datasets

    def batch(rows: dict) -> dict:
        ids = encode(tokenizer, rows["text"], max_length, head_fraction)["input_ids"]
        return {"input_ids": ids, "length": [len(i) for i in ids]}

    features = datasets.Features(
        {
            "labels": datasets.Value("int64"),
            "input_ids": datasets.List(datasets.Value("int32")),
            "length": datasets.Value("int32"),
        }
    )
    procs = num_proc or default_num_proc(len(raw))
    return raw.map(
        batch,
        batched=True,
        batch_size=1000,
        num_proc=procs if procs > 1 else None,
        remove_columns=["text"],
        features=features,
        desc="tokenising",
    )


def _store(dataset, folder: Path) -> None:
    """Written beside its final name, then renamed: a reader never sees half an entry, and of two
    writers racing for the same key the second just drops its copy (both hold the same tokens)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    dataset.save_to_disk(str(partial))
    try:
        partial.rename(folder)
    except OSError:
        if not folder.is_dir():
            raise
        shutil.rmtree(partial, ignore_errors=True)
