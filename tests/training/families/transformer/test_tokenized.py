"""Fine-tuning's token cache (training/families/transformer/tokenized.py): the split tokenised once
into Arrow by datasets.map and found again by content, on the tiny test tokenizer (tests/tiny_bert.py)."""

from __future__ import annotations

import shutil

import pytest

import training.families.transformer.tokenized as tok
from features.views import model_inputs
from serving.encoding import encode

MAX_LENGTH, HEAD = 64, 0.75


@pytest.fixture(scope="module")
def tokenizer(tiny_base):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_base.path, local_files_only=True)


@pytest.fixture(scope="module")
def items(tf_splits) -> tuple[list[str], list[int]]:
    """The train split's model inputs (all longer than MAX_LENGTH tokens) and two short requests."""
    rows = list(tf_splits["train"])
    texts = [model_inputs(r)["text"] for r in rows] + ["MRI of the lumbar spine", "Physical therapy, 6 visits"]
    return texts, [int(r["label"]) for r in rows] + [0, 1]


@pytest.fixture
def counted(monkeypatch) -> list[int]:
    """How many items each tokenisation (tokenized._tokenize) was asked for."""
    calls: list[int] = []
    real = tok._tokenize

    def spy(raw, *args):
        calls.append(len(raw))
        return real(raw, *args)

    monkeypatch.setattr(tok, "_tokenize", spy)
    return calls


def entries(cache) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_second_fit_on_the_same_items_tokenises_nothing(tmp_path, tokenizer, items, counted):
    texts, labels = items
    first = tok.tokenized(texts, labels, tokenizer, MAX_LENGTH, HEAD, tmp_path)
    again = tok.tokenized(list(texts), list(labels), tokenizer, MAX_LENGTH, HEAD, tmp_path)
    assert counted == [len(texts)]  # tokenised once, then read from the cache
    assert len(entries(tmp_path)) == 1
    assert again["input_ids"][:] == first["input_ids"][:]
    assert [f["filename"] for f in again.cache_files][0].startswith(str(tmp_path))  # memory-mapped Arrow


def test_cached_ids_are_what_serving_encodes(tmp_path, tokenizer, items):
    texts, labels = items
    ds = tok.tokenized(texts, labels, tokenizer, MAX_LENGTH, HEAD, tmp_path)
    expected = encode(tokenizer, texts, MAX_LENGTH, HEAD)["input_ids"]
    assert ds["input_ids"][:] == expected
    assert ds["labels"][:] == labels
    assert tok.lengths(ds) == [len(ids) for ids in expected]
    assert max(tok.lengths(ds)) == MAX_LENGTH and min(tok.lengths(ds)) < MAX_LENGTH  # stored unpadded
    assert set(ds.column_names) == {"input_ids", "labels", "length"}


@pytest.mark.parametrize(
    "change",
    ["one text", "one label", "max_length", "head_fraction", "another vocabulary"],
)
def test_anything_that_changes_the_ids_is_a_new_entry(tmp_path, tiny_base, tokenizer, items, counted, change):
    from tiny_bert import build_tokenizer

    texts, labels = list(items[0]), list(items[1])
    tok.tokenized(texts, labels, tokenizer, MAX_LENGTH, HEAD, tmp_path)
    length, head, other = MAX_LENGTH, HEAD, tokenizer
    if change == "one text":
        texts[3] = texts[3] + " added"
    elif change == "one label":
        labels[3] = 1 - labels[3]
    elif change == "max_length":
        length = 48
    elif change == "head_fraction":
        head = 0.5
    else:
        other = build_tokenizer(texts[: len(texts) // 2], vocab_size=400)
    tok.tokenized(texts, labels, other, length, head, tmp_path)
    assert counted == [len(texts), len(texts)]
    assert len(entries(tmp_path)) == 2


def test_the_same_tokenizer_from_another_folder_hits_the_cache(tmp_path, tiny_base, tokenizer, items, counted):
    """Keyed by what the tokenizer is, not where it was loaded from: a domain-adapted encoder's
    folder is new in every run, its tokenizer is the base's."""
    from transformers import AutoTokenizer

    copy = shutil.copytree(tiny_base.path, tmp_path / "elsewhere")
    again = AutoTokenizer.from_pretrained(copy, local_files_only=True)
    again("truncated on purpose " * 50, truncation=True, max_length=8)  # leaves truncation set on its backend
    assert tok.tokenizer_identity(again) == tok.tokenizer_identity(tokenizer)
    texts, labels = items
    tok.tokenized(texts, labels, tokenizer, MAX_LENGTH, HEAD, tmp_path / "cache")
    tok.tokenized(texts, labels, again, MAX_LENGTH, HEAD, tmp_path / "cache")
    assert counted == [len(texts)]


def test_without_a_cache_folder_nothing_is_written(tmp_path, tokenizer, items, counted, monkeypatch):
    monkeypatch.chdir(tmp_path)
    texts, labels = items
    ds = tok.tokenized(texts, labels, tokenizer, MAX_LENGTH, HEAD, None)
    assert len(ds) == len(texts) and counted == [len(texts)]
    assert list(tmp_path.iterdir()) == []


def test_a_half_written_entry_is_never_read(tmp_path, tokenizer, items, counted):
    """An entry is complete or absent: a copy left by a killed writer (`.partial-<pid>`) is ignored."""
    texts, labels = items
    tok.tokenized(texts, labels, tokenizer, MAX_LENGTH, HEAD, tmp_path)
    (entry,) = entries(tmp_path)
    (tmp_path / entry).rename(tmp_path / f"{entry}.partial-1")
    ds = tok.tokenized(texts, labels, tokenizer, MAX_LENGTH, HEAD, tmp_path)
    assert counted == [len(texts), len(texts)] and len(ds) == len(texts)
    assert entry in entries(tmp_path)


@pytest.mark.slow  # starts tokeniser processes
def test_tokenising_in_processes_gives_the_same_ids(tmp_path, tokenizer, items):
    texts, labels = items
    one = tok.tokenized(texts, labels, tokenizer, MAX_LENGTH, HEAD, tmp_path / "one", num_proc=1)
    two = tok.tokenized(texts, labels, tokenizer, MAX_LENGTH, HEAD, tmp_path / "two", num_proc=2)
    assert two["input_ids"][:] == one["input_ids"][:] and two["labels"][:] == one["labels"][:]


def test_default_cache_is_in_the_datasets_cache(monkeypatch, tmp_path):
    import datasets

    from training.config import PROJECT_ROOT

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path)
    assert tok.tokenized_cache_dir(None) == tmp_path / "imr-tokenized"
    assert tok.tokenized_cache_dir("cache/tok") == PROJECT_ROOT / "cache" / "tok"
    assert tok.tokenized_cache_dir(str(tmp_path / "abs")) == tmp_path / "abs"
