"""Precedents: the decided items most like a request, shipped inside the model package.

    model_dir/precedents/
      items.parquet     one row per decided item: what is shown (case number, decision date,
                        treatment, decision, both guidelines, the rationale's reason sentences)
      matrix.npz        the items' TF-IDF vectors (scipy CSR, loaded with allow_pickle=False)
      vectorizer.json   the two vocabularies with their idf weights and the treatment weight

Every file is listed with its sha256 in imr_model.json and verified before it is read.

Two forms of the vectors: `build_index` learns the vocabularies (every term of the items, for a
corpus that fits in memory); `HashedIndexWriter` builds the index of a corpus of any size a block of
items at a time (the streamed baseline, training.families.streamed_evidence): terms are hashed into
a fixed number of columns (scikit-learn's HashingVectorizer, the same tokens), the idf comes from
document frequencies summed over the blocks, vectorizer.json gives the hashing instead of the
vocabularies and `idf.npz` holds the idf weights. Its matrix is stored by rows (appended a block
at a time) and turned into columns when loaded. Search reads both forms alike.

Similarity is judged on pre-decision text only: `features.views.model_inputs(record,
"pre_decision")`, which never reads the rationale, MAXIMUS guideline or decision. A vector is two
L2-normalised TF-IDF blocks side by side, the treatment (with its category) weighted by
sqrt(w) and the whole pre-decision text by sqrt(1 - w), so one sparse dot product gives
w * cos(treatment) + (1 - w) * cos(context). How w and the method were chosen:
benchmarks/retrieval_quality.py (figures in docs/evidence.md, "How precedents are found (measured)").

The rationale is post-decision text: it is only ever displayed (`rationale_excerpt`), never
indexed nor compared with a request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from features.letter import LABEL_NAMES
from features.views import model_inputs, split_sentences

FOLDER = "precedents"
ITEMS_FILE, MATRIX_FILE, VECTORIZER_FILE = (
    f"{FOLDER}/items.parquet",
    f"{FOLDER}/matrix.npz",
    f"{FOLDER}/vectorizer.json",
)
FILES = (ITEMS_FILE, MATRIX_FILE, VECTORIZER_FILE)
IDF_FILE = f"{FOLDER}/idf.npz"  # the hashed form's idf weights
# Hash columns of the hashed form: treatment names use few distinct terms; the pre-decision texts of a
# million letters have tens of millions of distinct uni- and bigrams, ~10 per column at 2**22.
HASHED_COLUMNS = {"treatment": 2**18, "context": 2**22}
TREATMENT_WEIGHT = 0.7  # chosen by benchmarks/retrieval_quality.py (docs/evidence.md: "How precedents are found")
EXCERPT_CHARS = 400
QUERY_TERMS = 64  # see PrecedentIndex.scores
# Precedents less similar than this are not shown: chosen on labelled queries by
# benchmarks/retrieval_quality.py (docs/evidence.md: "How precedents are found");
# FLOOR is the least a caller may ask for.
MIN_SIMILARITY = 0.18
FLOOR = 0.15
SORTED_PER_K = 20  # see PrecedentIndex._one_per_case
SHOWN = (
    "case_number",
    "decision_date",
    "treatment",
    "treatment_category",
    "decision",
    "claims_administrator_guideline",
    "maximus_guideline",
    "rationale_excerpt",
)
# Sentences that give the reason for a decision, rather than restate the request or the history.
_REASON = re.compile(
    r"\bbecause\b|\bsince\b|\bdue to\b|\btherefore\b|\bthus\b|\bas such\b|\bhowever\b|\bnot (?:been )?documented\b|"
    r"\bno (?:documentation|evidence|indication)\b|\black of\b|\bfail(?:ed|ure)\b|\bguidelines?\b|\brecommend|"
    r"\bindicated\b|\bsupport|\bnecessary\b|\bevidence\b|\bwarranted\b",
    re.IGNORECASE,
)


class Found(NamedTuple):
    rows: list[dict[str, Any]]
    note: str | None  # why fewer than k are shown; None when k are
    items: list[int]  # the rows' positions in the index (for audits and benchmarks)


def precedents_note(shown: int, k: int, searched: int, cutoff: float, filtered: bool) -> str | None:
    """What to say when fewer than k precedents are close enough: never filler in their place."""
    if shown >= k:
        return None
    among = f"the {searched:,} decided items" + (" that match the filters" if filtered else "")
    if not shown:
        return f"no close precedent in {among} (none has similarity {cutoff:.2f} or more)"
    plural = "precedent" if shown == 1 else "precedents"
    return f"only {shown} close {plural} in {among} (similarity {cutoff:.2f} or more, one item per case)"


class PrecedentQueryError(ValueError):
    """A filter value that cannot match (an unknown decision or category, a date that is not ISO)."""


def treatment_text(inputs: Mapping[str, Any]) -> str:
    return f"{inputs['treatment']} {inputs['treatment_category'].replace('_', ' ')}"


def rationale_excerpt(rationale: str, limit: int = EXCERPT_CHARS) -> str:
    """The rationale's sentences that give the reason, in their order, within about `limit`
    characters: reason sentences are taken from the end (where the rationale concludes)."""
    sentences = [s.strip() for s in split_sentences(rationale or "") if s.strip()]
    reasons = [i for i, s in enumerate(sentences) if _REASON.search(s)] or list(range(len(sentences)))
    chosen, used = [], 0
    for i in reversed(reasons):
        if chosen and used + len(sentences[i]) > limit:
            continue  # a long sentence would crowd out the others; a shorter earlier one may fit
        chosen.append(i)
        used += len(sentences[i]) + 1
    text = " ".join(sentences[i] for i in sorted(chosen))
    return text if len(text) <= limit + 100 else text[:limit].rsplit(" ", 1)[0] + " …"


def summary_digest(case_summary: str | None) -> str:
    """Identifies a letter by its case summary (shared by all its items) without storing the text."""
    normal = " ".join((case_summary or "").split()).lower()
    return hashlib.blake2b(normal.encode(), digest_size=8).hexdigest() if normal else ""


def build_index(
    rows: Sequence[Mapping[str, Any]], model_dir: Path, treatment_weight: float = TREATMENT_WEIGHT
) -> list[str]:
    """Write the index of the decided items `rows` (dataset rows, features.dataset.item_rows) into
    model_dir/precedents/; returns the files' paths relative to model_dir, for the manifest."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    inputs = [model_inputs(r, "pre_decision") for r in rows]
    blocks, vocab = [], {}
    for name, texts, weight in (
        ("treatment", [treatment_text(i) for i in inputs], treatment_weight),
        ("context", [i["text"] for i in inputs], 1 - treatment_weight),
    ):
        vectorizer = TfidfVectorizer(**_TFIDF).fit(texts)
        blocks.append(vectorizer.transform(texts) * np.float32(np.sqrt(weight)))
        vocab[name] = {
            "vocabulary": {t: int(i) for t, i in vectorizer.vocabulary_.items()},
            "idf": vectorizer.idf_.astype(float).tolist(),
        }
    (model_dir / FOLDER).mkdir(parents=True, exist_ok=True)
    # Column-major: a query reads only the columns (posting lists) of its own terms.
    sparse.save_npz(model_dir / MATRIX_FILE, sparse.hstack(blocks, format="csc", dtype=np.float32))
    (model_dir / VECTORIZER_FILE).write_text(json.dumps({"treatment_weight": treatment_weight, **vocab}))
    table = shown_table(rows, inputs)
    table.to_parquet(model_dir / ITEMS_FILE, index=False)
    return list(FILES)


def shown_table(rows: Sequence[Mapping[str, Any]], inputs: Sequence[Mapping[str, Any]]):
    """items.parquet's rows: what a search shows of each item, and the digest of its case summary."""
    import pandas as pd

    return pd.DataFrame(
        {
            "case_number": [r.get("case_number") for r in rows],
            "decision_date": [r.get("decision_date") for r in rows],
            "treatment": [r["treatment"] for r in rows],
            "treatment_category": [i["treatment_category"] for i in inputs],
            "decision": [r["decision"] for r in rows],
            "claims_administrator_guideline": [r.get("claims_administrator_guideline") or "" for r in rows],
            "maximus_guideline": [r.get("maximus_guideline") or "" for r in rows],
            "rationale_excerpt": [rationale_excerpt(r.get("rationale") or "") for r in rows],
            "summary_digest": [summary_digest(r.get("case_summary")) for r in rows],
        },
        columns=[*SHOWN, "summary_digest"],
    )


_TFIDF = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1, "dtype": np.float32, "lowercase": True}
ROW_FIELDS = (  # the dataset columns a block of items must carry for the hashed index
    "case_number",
    "decision_date",
    "treatment",
    "decision",
    "claims_administrator_guideline",
    "maximus_guideline",
    "rationale",
    "case_summary",
    "patient_age",
    "patient_sex",
    "days_since_injury",
    "partial_approval",
    "original_request",
    "authorized_portion",
)


def hashing(n_features: int):
    """The hashed form's term counts: the tokens of build_index's TfidfVectorizer, hashed."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        ngram_range=_TFIDF["ngram_range"],
        lowercase=True,
        n_features=n_features,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )


def smooth_idf(df: np.ndarray, n_items: int) -> np.ndarray:
    """The idf TfidfTransformer.fit learns (smooth_idf) from document frequencies, as float32."""
    return np.log(np.float32(n_items + 1) / (df.astype(np.float32) + 1)) + np.float32(1)


def weighting(idf: np.ndarray):
    """sublinear tf x idf, rows L2-normalised: TfidfTransformer with a given idf."""
    from sklearn.feature_extraction.text import TfidfTransformer

    transformer = TfidfTransformer(sublinear_tf=_TFIDF["sublinear_tf"])
    transformer.idf_ = np.asarray(idf, dtype=np.float32)
    transformer.n_features_in_ = len(idf)
    return transformer


@dataclass
class BlockCounts:
    """A block of items for the hashed index: term counts of both texts, and the shown rows."""

    treatment: Any  # scipy CSR, items x HASHED_COLUMNS["treatment"]
    context: Any
    shown: Any  # pandas DataFrame: shown_table


def count_block(rows: Sequence[Mapping[str, Any]]) -> BlockCounts:
    inputs = [model_inputs(r, "pre_decision") for r in rows]
    return BlockCounts(
        hashing(HASHED_COLUMNS["treatment"]).transform([treatment_text(i) for i in inputs]),
        hashing(HASHED_COLUMNS["context"]).transform([i["text"] for i in inputs]),
        shown_table(rows, inputs),
    )


def document_frequencies(counts) -> np.ndarray:
    """Items per column of a block's term counts (one stored value per item and term)."""
    return np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)


class HashedIndexWriter:
    """The hashed index (see the module's docstring), written a block at a time: `add` each block of
    BlockCounts in item order, then `close`. Holds one block and the row pointers (8 bytes an item),
    never the matrix."""

    def __init__(
        self, model_dir: Path, df: dict[str, np.ndarray], n_items: int, treatment_weight: float = TREATMENT_WEIGHT
    ):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.model_dir, self.weight = model_dir, treatment_weight
        self.folder = model_dir / FOLDER
        self.folder.mkdir(parents=True, exist_ok=True)
        self.idf = {name: smooth_idf(df[name], n_items) for name in HASHED_COLUMNS}
        self.weighting = {name: weighting(idf) for name, idf in self.idf.items()}
        self.data, self.indices = (open(self.folder / f".{part}", "wb") for part in ("data", "indices"))
        self.indptr = [np.zeros(1, dtype=np.int64)]
        self.nnz = 0
        schema = pa.schema([(name, pa.string()) for name in (*SHOWN, "summary_digest")])
        self.items = pq.ParquetWriter(model_dir / ITEMS_FILE, schema)
        self.schema = schema

    def add(self, block: BlockCounts) -> None:
        import pyarrow as pa
        from scipy import sparse

        parts = [
            self.weighting["treatment"].transform(block.treatment) * np.float32(np.sqrt(self.weight)),
            self.weighting["context"].transform(block.context) * np.float32(np.sqrt(1 - self.weight)),
        ]
        rows = sparse.hstack(parts, format="csr", dtype=np.float32)
        rows.sort_indices()
        self.data.write(rows.data.astype(np.float32).tobytes())
        self.indices.write(rows.indices.astype(np.int32).tobytes())
        self.indptr.append(rows.indptr[1:].astype(np.int64) + self.nnz)
        self.nnz += rows.nnz
        self.items.write_table(pa.Table.from_pandas(block.shown, schema=self.schema, preserve_index=False))

    def close(self) -> list[str]:
        """Write matrix.npz, vectorizer.json and idf.npz; the files' paths relative to model_dir."""
        self.items.close()
        self.data.close()
        self.indices.close()
        indptr = np.concatenate(self.indptr)
        width = sum(HASHED_COLUMNS.values())
        _write_csr_npz(self.model_dir / MATRIX_FILE, self.folder, indptr, (len(indptr) - 1, width))
        np.savez(self.model_dir / IDF_FILE, **self.idf)
        hashed = {name: {"n_features": n} for name, n in HASHED_COLUMNS.items()}
        (self.model_dir / VECTORIZER_FILE).write_text(json.dumps({"treatment_weight": self.weight, "hashed": hashed}))
        return [*FILES, IDF_FILE]


def _write_csr_npz(path: Path, folder: Path, indptr: np.ndarray, shape: tuple[int, int]) -> None:
    """A scipy.sparse.save_npz file (uncompressed) of a CSR matrix whose data and indices lie in
    folder/.data and folder/.indices (float32 and int32, written by HashedIndexWriter), copied
    into the archive a chunk at a time; the two files are removed."""
    import io
    import shutil
    import zipfile

    def member(zf: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        zf.writestr(name, buffer.getvalue())

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        member(zf, "indptr.npy", indptr)
        member(zf, "format.npy", np.array(b"csr"))
        member(zf, "shape.npy", np.array(shape, dtype=np.int64))
        for name, dtype in (("data", np.float32), ("indices", np.int32)):
            raw = folder / f".{name}"
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False}
            header["shape"] = (raw.stat().st_size // np.dtype(dtype).itemsize,)
            with zf.open(f"{name}.npy", "w", force_zip64=True) as out, raw.open("rb") as src:
                np.lib.format.write_array_header_2_0(out, header)
                shutil.copyfileobj(src, out, 16 * 2**20)
            raw.unlink()


@dataclass
class Filters:
    decision: str | None = None
    category: str | None = None
    since: str | None = None  # ISO dates, inclusive
    until: str | None = None

    def check(self, categories: set[str]) -> None:
        from datetime import date

        if self.decision is not None and self.decision not in LABEL_NAMES:
            raise PrecedentQueryError(f"decision must be one of {', '.join(LABEL_NAMES)}")
        if self.category is not None and self.category not in categories:
            raise PrecedentQueryError(f"unknown treatment category; expected one of {', '.join(sorted(categories))}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise PrecedentQueryError(f"{name} must be an ISO date (YYYY-MM-DD)") from None


class PrecedentIndex:
    """Searches the packaged index. Load only after the model folder's hashes were verified.

    A search filters every item of the index, so the columns it filters on are held as integer
    codes (one comparison of ints per item, where comparing Python strings in object arrays cost
    2-11 ms per filter at 200,000 items; benchmarks/bench_search.py) and the dates by their rank in
    date order (a date bound is then one binary search and one comparison of ints). The shown
    fields are built into a dict only for the k items returned."""

    def __init__(self, model_dir: Path, files: Mapping[str, str] | None = None):
        import pandas as pd
        from scipy import sparse

        spec = json.loads((model_dir / VECTORIZER_FILE).read_text())
        self.weight = float(spec["treatment_weight"])
        self.vectorizers = _hashed(model_dir, spec, files) if "hashed" in spec else _learned(spec)
        self.matrix = sparse.load_npz(model_dir / MATRIX_FILE).tocsc()  # np.load(allow_pickle=False) inside
        table = pd.read_parquet(model_dir / ITEMS_FILE)
        shown = table[list(SHOWN)].astype(object)
        self.shown = {name: column.to_numpy() for name, column in shown.where(shown.notna(), None).items()}
        self.case_numbers, self.digests, self.decisions, self.categories = (
            _Codes(*pd.factorize(table[name].fillna(""), use_na_sentinel=False))
            for name in ("case_number", "summary_digest", "decision", "treatment_category")
        )
        # Missing dates sort below every real date, so a date filter leaves them out.
        dates = table["decision_date"].fillna("").to_numpy(dtype="U10")
        order = np.argsort(dates, kind="stable")
        self.sorted_dates = dates[order]
        self.date_rank = np.empty(len(dates), dtype=np.int64)
        self.date_rank[order] = np.arange(len(dates))
        self.dated = dates != ""
        self.category_names = set(self.categories.values)

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def vector(self, record: Mapping[str, Any]):
        """The request's query vector, from its pre-decision inputs only (never the rationale)."""
        from scipy import sparse

        inputs = model_inputs(record, "pre_decision")
        parts = [
            v.transform([text]) * np.float32(np.sqrt(w))
            for v, text, w in (
                (self.vectorizers[0], treatment_text(inputs), self.weight),
                (self.vectorizers[1], inputs["text"], 1 - self.weight),
            )
        ]
        return sparse.hstack(parts, format="csr", dtype=np.float32)

    def scores(self, record: Mapping[str, Any]) -> np.ndarray:
        """Similarity of every indexed item to the request. Only the query's `QUERY_TERMS` heaviest
        terms are looked up: the rest are frequent words with tiny weights (low idf) whose long
        posting lists would cost more than they change the ranking (benchmarks/retrieval_quality.py)."""
        query = self.vector(record)
        terms, weights = query.indices, query.data
        if len(terms) > QUERY_TERMS:
            keep = np.argpartition(-weights, QUERY_TERMS - 1)[:QUERY_TERMS]
            terms, weights = terms[keep], weights[keep]
        return np.asarray(self.matrix[:, terms] @ weights).ravel()

    def search(
        self,
        record: Mapping[str, Any],
        k: int = 5,
        filters: Filters | None = None,
        case_number: str | None = None,
        min_similarity: float | None = None,
    ) -> list[dict[str, Any]]:
        """The close precedents' rows (see `close_precedents`)."""
        return self.close_precedents(record, k, filters, case_number, min_similarity).rows

    def close_precedents(
        self,
        record: Mapping[str, Any],
        k: int = 5,
        filters: Filters | None = None,
        case_number: str | None = None,
        min_similarity: float | None = None,
    ) -> Found:
        """At most k decided items like the request, each with `similarity` (0-1): none under
        `min_similarity` (MIN_SIMILARITY by default, never under FLOOR), at most one per case (its
        most similar item), items of the request's own treatment category first, then by similarity
        (ties by index). Items of the request's own letter (same case number, or the same case
        summary) are never returned. `note` says why fewer than k are shown."""
        cutoff = MIN_SIMILARITY if min_similarity is None else min_similarity
        if not FLOOR <= cutoff <= 1:
            raise PrecedentQueryError(f"min_similarity must be between {FLOOR} and 1")
        filters = filters or Filters()
        filters.check(self.category_names)
        scores = self.scores(record)
        keep = self._eligible(record, filters, case_number)
        searched = int(keep.sum())
        candidates = np.flatnonzero(keep & (scores >= np.float32(cutoff)))
        if k <= 0:
            return Found([], None, [])
        same = self.categories.equal_to(model_inputs(record, "pre_decision")["treatment_category"])
        chosen = self._one_per_case(candidates, scores, same, k)
        rows = [self.row(i) | {"similarity": round(float(scores[i]), 4)} for i in chosen]
        note = precedents_note(len(rows), k, searched, cutoff, filters != Filters())
        return Found(rows, note, [int(i) for i in chosen])

    def _eligible(self, record: Mapping[str, Any], filters: Filters, case_number: str | None) -> np.ndarray:
        """Which items may be shown: not of the request's own letter, and within the filters."""
        keep = np.ones(len(self), dtype=bool)
        if case_number:
            keep &= self.case_numbers.other_than(case_number)
        digest = summary_digest(record.get("case_summary"))
        if digest:
            keep &= self.digests.other_than(digest)
        if filters.decision:
            keep &= self.decisions.equal_to(filters.decision)
        if filters.category:
            keep &= self.categories.equal_to(filters.category)
        # rank >= the first position of a date >= since  <=>  date >= since (and <= until likewise)
        if filters.since:
            keep &= self.date_rank >= np.searchsorted(self.sorted_dates, filters.since, side="left")
        if filters.until:
            keep &= self.date_rank < np.searchsorted(self.sorted_dates, filters.until, side="right")
        if filters.since or filters.until:
            keep &= self.dated
        return keep

    def _one_per_case(self, candidates: np.ndarray, scores: np.ndarray, same: np.ndarray, k: int) -> np.ndarray:
        """The first k candidates of distinct cases, in the order: same category first, then by
        similarity, then by index. Only the best few are sorted: k cases are found among the top
        `SORTED_PER_K` x k unless many of them share a case, and then every candidate is sorted."""
        rank = scores[candidates] + 2.0 * same[candidates]  # similarity <= 1: a same-category item is always first
        for limit in (SORTED_PER_K * k, len(candidates)):
            top = candidates if limit >= len(candidates) else candidates[np.argpartition(-rank, limit - 1)[:limit]]
            top = top[np.lexsort((top, -scores[top], ~same[top]))]
            _, first = np.unique(self.case_keys[top], return_index=True)
            chosen = top[np.sort(first)][:k]
            if len(chosen) == k or limit >= len(candidates):
                return chosen
        return chosen

    @property
    def case_keys(self) -> np.ndarray:
        """Per item, the id of its case: its case number, else its case summary's digest (a letter
        without a header), else the item alone."""
        if getattr(self, "_case_keys", None) is None:
            numbered = np.array([bool(v) for v in self.case_numbers.values])[self.case_numbers.codes]
            summarised = np.array([bool(v) for v in self.digests.values])[self.digests.codes]
            offset = len(self.case_numbers.values)
            keys = np.where(numbered, self.case_numbers.codes, offset + self.digests.codes).astype(np.int64)
            alone = ~numbered & ~summarised
            keys[alone] = -1 - np.flatnonzero(alone)
            self._case_keys = keys
        return self._case_keys

    def row(self, i: int) -> dict[str, Any]:
        """The shown fields of item i (None where missing)."""
        return {name: column[i] for name, column in self.shown.items()}

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every item's shown fields, in index order (for audits; a search builds only its k)."""
        return [self.row(i) for i in range(len(self))]


def _learned(spec: Mapping[str, Any]) -> list:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizers = []
    for name in ("treatment", "context"):
        vectorizer = TfidfVectorizer(**_TFIDF, vocabulary=spec[name]["vocabulary"])
        vectorizer.idf_ = np.asarray(spec[name]["idf"], dtype=np.float32)
        vectorizers.append(vectorizer)
    return vectorizers


def _hashed(model_dir: Path, spec: Mapping[str, Any], files: Mapping[str, str] | None) -> list:
    """The hashed form's vectorizers; its idf file is read only when the verified manifest lists it."""
    from sklearn.pipeline import make_pipeline

    from serving.model_dir import ModelIntegrityError

    if files is not None and IDF_FILE not in files:
        raise ModelIntegrityError(f"{model_dir / VECTORIZER_FILE}: a hashed index without {IDF_FILE} in the manifest")
    with np.load(model_dir / IDF_FILE, allow_pickle=False) as idf:
        return [
            make_pipeline(hashing(int(spec["hashed"][name]["n_features"])), weighting(idf[name]))
            for name in ("treatment", "context")
        ]


class _Codes:
    """A string column as integer codes, for comparing every item with one value at once."""

    def __init__(self, codes: np.ndarray, values: Sequence[str]):
        self.codes, self.values = codes.astype(np.int32), list(values)
        self.code_of = {value: code for code, value in enumerate(self.values)}

    def equal_to(self, value: str) -> np.ndarray:
        return self.codes == self.code_of.get(value, -1)

    def other_than(self, value: str) -> np.ndarray:
        return self.codes != self.code_of.get(value, -1)


def load_precedents(model_dir: Path, files: Mapping[str, str]) -> PrecedentIndex | None:
    """The index when the (verified) manifest lists it; None for models packaged without one."""
    return PrecedentIndex(model_dir, files) if all(name in files for name in FILES) else None
