"""The streamed baseline's features: hashed term counts of every item, computed once per run in one
parallel pass over the corpus and kept on disk a block at a time, so that no step holds the corpus.

A HashingVectorizer has no vocabulary to learn, so an item's counts do not depend on which letters a
model is fitted on: one pass serves every cross-validation fold and the refit. What does depend on
them, the idf, is summed from the blocks of a fold's training items (training.families.streamed_fit).
Each block file holds, for items [start, stop) of the corpus (training.data.source):

    counts-<k>.npz   their term counts (CSR, float32), the text exactly as the packaged pipeline
                     reads it (features.views.model_inputs, style-normalised when configured)
    ood-<k>.npz      what the out-of-distribution check reads (serving.ood): the treatment words of
                     each item (a block-local word list and each item's indices into it) and the
                     number of words of its case summary; and the length of each text field
                     (serving.field_limits.TEXT_FIELDS) of each item

The cache lives in the run's scratch folder (ItemSource.scratch), in a subfolder named by a digest
of everything the counts depend on; a `complete` file marks it whole. Building it is the `prepare`
step of the family, before the folds, so that parallel fold workers only ever read it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from features.style import normalise_style
from features.views import item_field_types, model_inputs
from serving.field_limits import TEXT_FIELDS
from serving.ood import treatment_words, word_count
from training.data.source import Block, ItemSource

TEXT_COLUMNS = tuple(item_field_types())  # what model_inputs reads, whatever the view


def hashing_vectorizer(model) -> object:
    """The text block's HashingVectorizer (model: a BaselineModelConfig): the exact pipeline's
    tokens (text_tfidf's analyzer, n-grams, stop words, lowercase), hashed into
    `streamed.n_features` columns, counts kept as they are (the TfidfTransformer after it weighs them)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    t = model.text_tfidf
    return HashingVectorizer(
        analyzer=t.analyzer,
        ngram_range=tuple(t.ngram_range),
        stop_words=t.stop_words,
        lowercase=True,
        n_features=model.streamed.n_features,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )


def item_texts(rows: list[dict], view: str, normalise: bool) -> list[str]:
    texts = [model_inputs(r, view)["text"] for r in rows]
    return [normalise_style(t) for t in texts] if normalise else texts


@dataclass(frozen=True)
class FeatureCache:
    folder: Path
    bounds: tuple[tuple[int, int], ...]  # [start, stop) of each block, in corpus order

    def counts(self, k: int):
        from scipy import sparse

        return sparse.load_npz(self.folder / f"counts-{k:05d}.npz")

    def ood(self, k: int) -> dict[str, np.ndarray]:
        with np.load(self.folder / f"ood-{k:05d}.npz", allow_pickle=False) as data:
            return {name: data[name] for name in data.files}

    def rows(self, positions: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(block, rows within the block, their indices in `positions`) for every block holding
        some of the sorted corpus `positions`."""
        for k, (start, stop) in enumerate(self.bounds):
            lo, hi = np.searchsorted(positions, [start, stop])
            if lo < hi:
                yield k, positions[lo:hi] - start, np.arange(lo, hi)


def cache_key(model, view: str) -> str:
    settings = {
        "view": view,
        "normalise_style": model.normalise_style,
        "hashing": {k: str(v) for k, v in sorted(hashing_vectorizer(model).get_params().items())},
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def feature_cache(model, view: str, source: ItemSource, workers, progress) -> FeatureCache:
    """The cache of `source` for this model config and view, built now if it is not yet complete
    (`workers`: a training.data.workers.Workers; `progress`: training.tracking.progress)."""
    folder = source.scratch() / f"features-{cache_key(model, view)}"
    bounds = tuple((b.start, b.stop) for b in source.blocks)
    if (folder / "complete").exists():
        return FeatureCache(folder, bounds)
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [(block, k, folder, model, view) for k, block in enumerate(source.blocks)]
    with progress(source.n_items, "features (hashed term counts)", "items") as bar:
        workers.map(featurise_block, tasks, done=lambda i, n: bar.update(n))
        bar.set_postfix_str(workers.summary())
    (folder / "complete").write_text(json.dumps({"blocks": len(bounds), "items": source.n_items}))
    return FeatureCache(folder, bounds)


def featurise_block(block: Block, k: int, folder: Path, model, view: str) -> int:
    """Write block k's two files (see the module's docstring); returns its number of items."""
    from scipy import sparse

    rows = block.read([c for c in TEXT_COLUMNS]).to_pylist()
    counts = hashing_vectorizer(model).transform(item_texts(rows, view, model.normalise_style))
    sparse.save_npz(folder / f"counts-{k:05d}.npz", sparse.csr_matrix(counts), compressed=False)
    words = [sorted(treatment_words(r.get("treatment") or "")) for r in rows]
    vocabulary = sorted({w for item in words for w in item})
    index = {w: i for i, w in enumerate(vocabulary)}
    np.savez(
        folder / f"ood-{k:05d}.npz",
        words=np.array(vocabulary, dtype=str),
        word_ids=np.array([index[w] for item in words for w in item], dtype=np.int32),
        word_indptr=np.cumsum([0, *map(len, words)]).astype(np.int64),
        summary_words=np.array([word_count(r.get("case_summary") or "") for r in rows], dtype=np.int32),
        field_lengths=np.array(
            [[len(r[f]) if isinstance(r.get(f), str) else 0 for f in TEXT_FIELDS] for r in rows], dtype=np.int64
        ).reshape(len(rows), len(TEXT_FIELDS)),
    )
    return len(rows)
