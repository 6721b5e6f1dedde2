"""Hybrid FAQ retrieval: dense (faiss inner product) and lexical (character n-grams), fused.

`top_k` is the pure ranking function; `FaissIndex` is a thin wrapper checked against it in the
tests. `FaqIndex` keeps one vector per FAQ phrasing and is rebuilt incrementally when an entry is
added, changed or deleted, so content edits need no retraining.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from bot.core.i18n import LocaleRegistry
from intents.encoder import Embedder
from intents.features import unit_tfidf
from kb_index.store import FaqEntry, FaqStore


def top_k(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k: (scores, indices), each (n_queries, min(k, n_corpus)), best first."""
    if corpus.shape[0] == 0 or k <= 0:
        return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
    return top_k_scores(queries @ corpus.T, min(k, corpus.shape[0]))


def top_k_scores(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns of each row of a score matrix: (scores, columns), best first."""
    idx = np.argpartition(-S, k - 1, axis=1)[:, :k]
    part = np.take_along_axis(S, idx, axis=1)
    order = np.argsort(-part, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(idx, order, axis=1)


class _Searchable:
    """Top-k inner-product search over the faiss index in `self._index`."""

    _index: object

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self._index.ntotal)
        if k == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def __len__(self) -> int:
        return self._index.ntotal


class _ById(_Searchable):
    """Rows added and removed in place by id."""

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if len(vectors):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def remove(self, ids: np.ndarray) -> None:
        import faiss

        self._index.remove_ids(faiss.IDSelectorArray(ids.astype(np.int64)))


class FaissIndex(_Searchable):
    """Flat inner-product faiss index over unit vectors (exact cosine search)."""

    def __init__(self, dim: int):
        import faiss

        self.dim = dim
        self._index = faiss.IndexFlatIP(dim)

    def add(self, vectors: np.ndarray) -> None:
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def vectors(self) -> np.ndarray:
        """Every indexed vector, in insertion order: (len(self), dim)."""
        if not len(self):
            return np.zeros((0, self.dim), np.float32)
        return self._index.reconstruct_n(0, len(self))

    def to_bytes(self) -> bytes:
        import faiss

        return faiss.serialize_index(self._index).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "FaissIndex":
        import faiss

        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        obj = cls.__new__(cls)
        obj.dim, obj._index = index.d, index
        return obj


class ApproximateIndex(_ById):
    """Inverted-file faiss index (IVF, inner product) for large collections: the vectors are
    clustered into `nlist` lists and a query scans the `nprobe` nearest lists. Rows can be added
    and removed in place by id. Parameters from `scripts/ann_benchmark.py` (recall@1 ≥ 0.99 of
    exact search at 1M phrasings).

    The lists hold the vectors in half precision (768 instead of 1,536 bytes a phrasing at 384
    dimensions): a search reads every vector of the lists it probes, so it reads half the memory
    (0.67 -> 0.51 ms a query at 250,000 phrasings), and the index's copy of the vectors takes half
    the space. Scores differ from float32 ones by about 1e-4; the FAQ index scores its candidates
    again from its own float32 matrix."""

    def __init__(self, dim: int, nlist: int, nprobe: int):
        import faiss

        self.dim, self.nlist, self.nprobe = dim, nlist, nprobe
        self._quantizer = faiss.IndexFlatIP(dim)
        self._index = faiss.IndexIVFScalarQuantizer(self._quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                                    faiss.METRIC_INNER_PRODUCT, False)  # not by residual
        self._index.nprobe = nprobe

    @classmethod
    def for_size(cls, dim: int, n: int) -> "ApproximateIndex":
        """Lists ~ 4·sqrt(n) (at least 16); probes 1/64 of them, at least 16: at a million
        phrasings 4,000 lists and 62 probes, recall@1 0.997 of exact search at 0.96 ms a query."""
        nlist = max(16, int(4 * np.sqrt(n)))
        return cls(dim, nlist, nprobe=cls.probes(nlist))

    @staticmethod
    def probes(nlist: int) -> int:
        return min(nlist, max(16, nlist // 64))

    def train(self, sample: np.ndarray, seed: int = 13) -> None:
        rng = np.random.default_rng(seed)
        take = sample if len(sample) <= 64 * self.nlist else sample[rng.choice(len(sample), 64 * self.nlist,
                                                                                replace=False)]
        self._index.train(np.ascontiguousarray(take, dtype=np.float32))

    @classmethod
    def with_centroids(cls, centroids: np.ndarray) -> "ApproximateIndex":
        """An empty index on lists already found (`centroids`, one row per list), without
        clustering again: the clustering is most of a build (30 s of 37 at 250,000 phrasings)."""
        nlist, dim = centroids.shape
        ann = cls(dim, nlist, nprobe=cls.probes(nlist))
        ann._quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
        ann._index.is_trained = True
        return ann

    def centroids(self) -> np.ndarray:
        """The lists' centroids (nlist x dim), for `with_centroids`."""
        return self._quantizer.reconstruct_n(0, self.nlist)


class ExactIndex:
    """Exact inner-product search whose rows are added and removed in place by id (row i has id
    i: rows are appended in order and removed by marking them dead).

    A matrix product through numpy's BLAS and a partial sort: on this project's 2-core machine it
    searched 50,000 phrasings 2-4x faster than faiss's flat index (0.63 against 2.61 ms a query in
    batches of 64, 3.9 against 8.1 ms one query at a time; scripts/exact_search_benchmark.py)."""

    #: Queries multiplied at once (bounds the score matrix: 64 x rows floats).
    CHUNK = 64

    def __init__(self, dim: int):
        self.dim = dim
        # (matrix, dead): swapped together, so a search never sees one without the other.
        self._parts = (np.zeros((0, dim), np.float32), np.zeros(0, bool))

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        matrix, dead = self._parts
        if not len(vectors):
            return
        if not np.array_equal(ids, np.arange(len(matrix), len(matrix) + len(vectors))):
            raise ValueError("exact index rows are appended in order: ids must continue from the last row")
        self._parts = (np.vstack([matrix, np.asarray(vectors, np.float32)]),
                       np.concatenate([dead, np.zeros(len(vectors), bool)]))

    @classmethod
    def over(cls, matrix: np.ndarray) -> "ExactIndex":
        """Exact search over the rows of `matrix` itself, not a copy of them (the FAQ index's own
        matrix: its vectors are then held once). Its owner never rewrites a row, and passes the
        matrix with rows appended to `extend`."""
        index = cls(matrix.shape[1])
        index._parts = (matrix, np.zeros(len(matrix), bool))
        return index

    def extend(self, matrix: np.ndarray) -> None:
        """The rows are now those of `matrix`: the current ones (unchanged), then new ones."""
        old, dead = self._parts
        if len(matrix) < len(old) or matrix.shape[1] != self.dim:
            raise ValueError("an exact index's rows are extended, never shortened")
        self._parts = (matrix, np.concatenate([dead, np.zeros(len(matrix) - len(old), bool)]))

    def remove(self, ids: np.ndarray) -> None:
        self._parts[1][np.asarray(ids, np.int64)] = True

    def __len__(self) -> int:
        matrix, dead = self._parts
        return len(matrix) - int(dead.sum())

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k') with k' = min(k, live rows), best first; -1 ids
        where fewer live rows than k' are found."""
        matrix, dead = self._parts
        live = len(matrix) - int(dead.sum())
        k = min(k, live)
        q = np.asarray(queries, np.float32)
        if k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        any_dead = bool(dead.any())
        D, I = [], []
        for a in range(0, len(q), self.CHUNK):
            S = q[a:a + self.CHUNK] @ matrix.T
            if any_dead:
                S[:, dead] = -np.inf
            d, i = top_k_scores(S, k)
            i[~np.isfinite(d)] = -1
            D.append(d)
            I.append(i)
        return np.vstack(D).astype(np.float32), np.vstack(I).astype(np.int64)


def vector_index(matrix: np.ndarray, approximate_above: int,
                 centroids: np.ndarray | None = None) -> "ExactIndex | ApproximateIndex":
    """Exact search up to `approximate_above` rows (over `matrix` itself: never rewrite its rows),
    an approximate (IVF) index above, on `centroids` when given (lists found before, e.g. in
    training) else clustered here; row i has id i, and rows can be added and removed in place."""
    if len(matrix) <= approximate_above:
        return ExactIndex.over(matrix)
    if centroids is not None and centroids.shape[1] == matrix.shape[1]:
        ann = ApproximateIndex.with_centroids(centroids)
    else:
        ann = ApproximateIndex.for_size(matrix.shape[1], len(matrix))
        ann.train(matrix)
    ann.add(matrix, np.arange(len(matrix)))
    return ann


_scratch = threading.local()


def _row_dots(mat: sparse.csr_matrix, rows: np.ndarray, q_idx: np.ndarray, q_val: np.ndarray) -> np.ndarray:
    """Dot products of `rows` of `mat` with one sparse vector (`q_idx`, `q_val`), reading only
    those rows' entries (scipy's products would first lay the vector out over every feature
    column: 2^18 of them). The vector is laid out once in a per-thread dense buffer, so each entry
    is one lookup; the buffer is zeroed again after."""
    starts = mat.indptr[rows]
    lengths = mat.indptr[rows + 1] - starts
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    if not len(q_idx) or not total:
        return np.zeros(len(rows), dtype=np.float32)
    offsets = ends - lengths  # where each row's entries begin among those gathered
    # The positions of the chosen rows' entries, row after row.
    pos = np.repeat(starts - offsets, lengths) + np.arange(total)
    buf = getattr(_scratch, "dense", None)
    if buf is None or len(buf) != mat.shape[1]:
        buf = _scratch.dense = np.zeros(mat.shape[1], dtype=np.float32)
    buf[q_idx] = q_val
    try:
        contrib = mat.data[pos] * buf[mat.indices[pos]]
    finally:
        buf[q_idx] = 0.0
    # Each row's sum, accumulated in float64; rows without entries are left out of the reduction
    # (it would take one entry for an empty segment) and score 0.
    sums = np.zeros(len(rows), dtype=np.float64)
    some = lengths > 0
    sums[some] = np.add.reduceat(contrib, offsets[some], dtype=np.float64)
    return sums.astype(np.float32)


def _known_or_scored(rows: np.ndarray, known: np.ndarray, known_scores: np.ndarray, score) -> np.ndarray:
    """Scores of `rows`: those among `known` from `known_scores`, the others from `score(rows)`."""
    out = np.empty(len(rows), dtype=np.float32)
    hit = np.zeros(len(rows), dtype=bool)
    if len(known):
        order = np.argsort(known)
        at = np.minimum(np.searchsorted(known[order], rows), len(known) - 1)
        hit = known[order][at] == rows
        out[hit] = known_scores[order][at[hit]]
    if not hit.all():
        out[~hit] = score(rows[~hit])
    return out


class LexicalIndex:
    """Character n-gram TF-IDF with hashed features, so new phrasings need no refit.

    Rows are kept in blocks: `rebuild` makes one block (and sets the IDF from its texts); `append`
    adds a block of new rows under the same IDF, and `drop` marks rows dead, so an edit touches
    only its own rows. Blocks are merged when there are many.

    A search asks for candidates (`top`) and then scores the rows it keeps (`score_rows`). Above
    `PRUNE_ABOVE` rows, candidates are found through the rarer features only (those in at most
    `MAX_DF_SHARE` of the rows): single letters and common n-grams match nearly every phrasing, and
    scoring them against every row made each query cost a dense pass over the whole index. The
    scores of the rows kept are exact either way."""

    MAX_BLOCKS = 16
    PRUNE_ABOVE = 20_000
    MAX_DF_SHARE = 0.01

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), n_features: int = 1 << 18):
        self._hv = HashingVectorizer(analyzer="char_wb", ngram_range=ngram_range, n_features=n_features,
                                     alternate_sign=False, norm=None, lowercase=True, dtype=np.float32)
        self._idf = np.ones(n_features, dtype=np.float32)
        #: Features that find candidates (all of them on small indexes).
        self._probe = np.ones(n_features, dtype=bool)
        # Per block: rows × features (to score chosen rows) and the probe features transposed
        # (features × rows, so finding candidates is one sparse product per block).
        # (blocks, first row of each block), swapped in as one value for searches running meanwhile.
        self._parts: tuple[list[tuple[sparse.csr_matrix, sparse.csr_matrix]], np.ndarray] = ([], np.zeros(0, np.int64))
        self._alive = np.zeros(0, dtype=bool)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self._weighted(self._hv.transform(texts).tocsr())

    #: What the vectorizer's "char_wb" analyser does to white space before splitting into words.
    _WHITE_SPACES = re.compile(r"\s\s+")

    def _counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The n-gram counts the vectorizer gives for `texts`, counted once per distinct word.

        "char_wb" n-grams never cross a word boundary (each word is padded with a space and cut
        alone), so a text's counts are the sum of its words' counts: a texts x words count matrix
        times the words' n-gram counts. Phrasings of one knowledge base share most of their words,
        so this hashes each distinct word once instead of every phrasing's n-grams in Python
        (250,000 phrasings: 27 s -> 3 s)."""
        words: dict[str, int] = {}
        cols: list[int] = []
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        for i, text in enumerate(texts):  # the analyser's own steps: lower case, white space, split
            cols += [words.setdefault(w, len(words)) for w in self._WHITE_SPACES.sub(" ", text.lower()).split()]
            indptr[i + 1] = len(cols)
        n_features = self._hv.n_features
        if not words:
            return sparse.csr_matrix((len(texts), n_features), dtype=np.float32)
        per_text = sparse.csr_matrix((np.ones(len(cols), np.float32), np.asarray(cols, np.int64), indptr),
                                     shape=(len(texts), len(words)))
        counts = (per_text @ self._hv.transform(list(words)).tocsr()).tocsr()
        counts.sum_duplicates()
        return counts

    def _weighted(self, m: sparse.csr_matrix) -> sparse.csr_matrix:
        """n-gram counts -> sublinear TF·IDF rows of unit length (in place; scikit-learn's
        `normalize` checked its input for longer than a query's row took to weight)."""
        m.data = unit_tfidf(m.data, self._idf[m.indices], m.indptr)
        return m

    def _block(self, rows: sparse.csr_matrix) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        probe = rows.multiply(self._probe[None, :]).tocsr() if not self._probe.all() else rows
        probe.eliminate_zeros()
        return rows, probe.T.tocsr()

    def _set_blocks(self, blocks: list[tuple[sparse.csr_matrix, sparse.csr_matrix]]) -> None:
        sizes = [b.shape[0] for b, _ in blocks]
        self._parts = (blocks, np.cumsum([0] + sizes[:-1]).astype(np.int64) if sizes else np.zeros(0, np.int64))

    def empty_like(self) -> "LexicalIndex":
        """A lexical index with no rows, weighting new ones as this one does (same IDF)."""
        out = LexicalIndex.__new__(LexicalIndex)
        out._hv, out._idf, out._probe = self._hv, self._idf, self._probe
        out._parts, out._alive = ([], np.zeros(0, np.int64)), np.zeros(0, dtype=bool)
        return out

    def rebuild(self, texts: Sequence[str]) -> None:
        self._alive = np.ones(len(texts), dtype=bool)
        if not texts:
            self._set_blocks([])
            return
        counts = self._counts(texts)
        df = np.bincount(counts.indices, minlength=self._hv.n_features)
        self._idf = (np.log((1 + len(texts)) / (1 + df)) + 1.0).astype(np.float32)
        self._probe = (df <= self.MAX_DF_SHARE * len(texts)) if len(texts) > self.PRUNE_ABOVE else \
            np.ones(self._hv.n_features, dtype=bool)
        self._set_blocks([self._block(self._weighted(counts))])

    def append(self, texts: Sequence[str]) -> None:
        """New rows at the end, weighted with the IDF of the last rebuild."""
        if not texts:
            return
        blocks = self._parts[0] + [self._block(self._weighted(self._counts(texts)))]
        if len(blocks) > self.MAX_BLOCKS:
            blocks = [self._block(sparse.vstack([b for b, _ in blocks], format="csr"))]
        # Rows first: a search running meanwhile never reads past what `_alive` holds.
        self._alive = np.concatenate([self._alive, np.ones(len(texts), dtype=bool)])
        self._set_blocks(blocks)

    def drop(self, rows: Sequence[int]) -> None:
        self._alive[np.asarray(rows, dtype=np.int64)] = False

    def __len__(self) -> int:
        return len(self._alive)

    def top(self, q: sparse.csr_matrix, width: int) -> list[np.ndarray]:
        """Per query (rows of `q`, from `transform`): up to `width` live rows sharing the most
        lexical weight with it, best first."""
        (blocks, starts), alive = self._parts, self._alive
        parts = [(q @ probe).tocsr() for _, probe in blocks]
        out = []
        for i in range(q.shape[0]):
            rows = np.concatenate([p.indices[p.indptr[i]:p.indptr[i + 1]] + s for p, s in zip(parts, starts)]
                                  ) if parts else np.zeros(0, np.int64)
            vals = np.concatenate([p.data[p.indptr[i]:p.indptr[i + 1]] for p in parts]) if parts else np.zeros(0)
            keep = (rows < len(alive))
            rows, vals = rows[keep], vals[keep]
            keep = alive[rows]
            rows, vals = rows[keep], vals[keep]
            if len(rows) > width:
                part = np.argpartition(-vals, width - 1)[:width]
                rows, vals = rows[part], vals[part]
            out.append(rows[np.argsort(-vals, kind="stable")].astype(np.int64))
        return out

    def score_rows(self, q: sparse.csr_matrix, i: int, rows: np.ndarray) -> np.ndarray:
        """Cosine similarity of query `i` of `q` with each of `rows` (dead rows score -1)."""
        out = np.full(len(rows), -1.0, dtype=np.float32)
        if not len(rows):
            return out
        blocks, starts = self._parts
        q_idx, q_val = q.indices[q.indptr[i]:q.indptr[i + 1]], q.data[q.indptr[i]:q.indptr[i + 1]]
        if len(blocks) == 1:  # the usual case (no edits since the last merge): no split by block
            pieces = [(blocks[0][0], rows, slice(None))]
        else:
            which = np.searchsorted(starts, rows, side="right") - 1
            pieces = [(blocks[b][0], rows[which == b] - starts[b], which == b) for b in np.unique(which)]
        for mat, local, sel in pieces:
            ok = local < mat.shape[0]
            vals = np.full(len(local), -1.0, dtype=np.float32)
            vals[ok] = _row_dots(mat, local[ok], q_idx, q_val)
            out[sel] = vals
        alive = self._alive
        known = rows < len(alive)
        out[known & ~alive[np.minimum(rows, len(alive) - 1)]] = -1.0
        return out

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each query with each row (dead rows score -1): (n_queries, n_rows).
        Dense: for tests and small indexes."""
        if len(self._alive) == 0:
            return np.zeros((len(texts), 0), np.float32)
        q = self.transform(texts)
        out = np.hstack([(q @ b.T).toarray() for b, _ in self._parts[0]]).astype(np.float32, copy=False)
        out[:, ~self._alive] = -1.0
        return out


@dataclass(frozen=True)
class LexicalQueries:
    """The part of a search that needs no query vectors (the queries' n-grams and their lexical
    candidates), made by `FaqIndex.lexical_queries` while the encoder runs. Used only on the
    lexical index it was made on and while it holds the same rows: a full rebuild renumbers them,
    and rows added since could be candidates (rows dropped since are skipped when scored)."""

    index: LexicalIndex
    rows: int
    q: sparse.csr_matrix
    top: list[np.ndarray]
    #: Per query: the lexical scores of its `top` rows (the other candidates are scored later).
    scores: list[np.ndarray]
    width: int
    languages: list[str]

    def part(self, a: int, b: int) -> "LexicalQueries":
        if a == 0 and b >= len(self.top):
            return self  # the whole of it (one chunk: slicing the sparse rows costs more than a search step)
        return LexicalQueries(self.index, self.rows, self.q[a:b], self.top[a:b], self.scores[a:b], self.width,
                              self.languages[a:b])


@dataclass(frozen=True)
class Hit:
    faq_id: str
    score: float  # fused, 0..1
    dense: float
    lexical: float
    question: str  # the phrasing that matched best


class FaqIndex:
    """Search FAQ entries by their phrasings. Entry score = best fused score over its phrasings."""

    #: Above this many phrasings the dense channel searches an approximate (IVF) index. One query
    #: of exact search reads every vector (memory-bound: 2.5 ms at 20,000 phrasings, 28 ms at
    #: 200,000 on 2 cores, against 0.07-0.3 ms for IVF; scripts/ann_benchmark.py).
    APPROXIMATE_ABOVE = 20_000

    def __init__(self, embedder: Embedder, locales: LocaleRegistry, dense_weight: float = 0.6,
                 language_weights: dict | None = None, approximate_above: int | None = None):
        self.embedder = embedder
        self.approximate_above = self.APPROXIMATE_ABOVE if approximate_above is None else approximate_above
        self.locales = locales
        self.dense_weight = dense_weight
        #: Weight of the dense channel per query language: `retrieval.dense_weight` of the locale
        #: files unless given (Chinese leans on characters with the English-only bundled encoder).
        self.language_weights = dict(locales.dense_weights() if language_weights is None else language_weights)
        self.store = FaqStore()
        self._vectors: dict[str, np.ndarray] = {}
        # Row i is one phrasing: (entry id, text), or None once its entry changed or went. Rows
        # only grow between full builds; the dense and lexical indexes use the same row numbers.
        self._rows: list[tuple[str, str] | None] = []
        self._entry_rows: dict[str, list[int]] = {}
        self._faiss: ExactIndex | ApproximateIndex | None = None
        self._lexical = LexicalIndex()
        # The phrasing vectors, row i = phrasing i: the first rows of `_buf`, which keeps room to
        # append an edit's rows without copying the others (at 250,000 phrasings the copy was
        # most of an edit's time).
        self._buf = np.zeros((0, 0), np.float32)
        self._matrix = self._buf
        self._edit_lock = threading.RLock()  # edits and copies one at a time (searches take none)
        #: When set, rows are weighted with this lexical index's IDF instead of their own (a draft's
        #: side index scores its rows as the live index would).
        self._idf_from: LexicalIndex | None = None
        #: The approximate index's lists, kept for rebuilds (None: clustered at the next build).
        self._centroids: np.ndarray | None = None

    # -- building ------------------------------------------------------------------------------
    def build(self, entries: Sequence[FaqEntry], vectors: dict[str, np.ndarray] | None = None,
              progress: bool = False, centroids: np.ndarray | None = None) -> "FaqIndex":
        """Index `entries`; `vectors` may carry precomputed phrasing embeddings per entry id, and
        `centroids` the approximate index's lists (`centroids`) when it has one."""
        self.store = FaqStore(entries)
        self._centroids = centroids
        vectors = dict(vectors or {})
        missing = [e for e in entries if e.id not in vectors or len(vectors[e.id]) != len(e.questions)]
        if missing:
            flat = [q for e in missing for q in e.questions]
            V = self.embedder.encode_document(flat, progress=progress)
            pos = 0
            for e in missing:
                vectors[e.id] = V[pos:pos + len(e.questions)]
                pos += len(e.questions)
        self._vectors = {e.id: vectors[e.id] for e in entries}
        self._reindex()
        return self

    def copy(self) -> "FaqIndex":
        """An independent index with the same entries (vectors are shared, not recomputed)."""
        with self._edit_lock:
            entries, vectors = list(self.store), dict(self._vectors)
        return FaqIndex(self.embedder, self.locales, self.dense_weight, self.language_weights,
                        self.approximate_above).build(entries, vectors, centroids=self.centroids)

    def draft(self) -> "DraftIndex":
        """This index as it would be after some edits, without copying it (see `DraftIndex`)."""
        return DraftIndex(self)

    def upsert(self, entry: FaqEntry) -> None:
        """Add or replace one entry; only its own phrasings are encoded."""
        self.apply([entry], [])

    def delete(self, faq_id: str) -> None:
        self.apply([], [faq_id])

    def apply(self, upserts: Sequence[FaqEntry], deletes: Sequence[str]) -> None:
        """Many changes at once, in place: the new phrasings are encoded in one batch, the old
        rows of changed or deleted entries are dropped and the new ones appended (the other
        entries' rows are not touched). Once dead rows outnumber live ones, it is rebuilt."""
        flat = [q for e in upserts for q in e.questions]
        V = self.embedder.encode_document(flat) if flat else None
        with self._edit_lock:
            self._apply(upserts, deletes, V)

    def _apply(self, upserts: Sequence[FaqEntry], deletes: Sequence[str], V: np.ndarray | None) -> None:
        gone = [r for fid in [*(e.id for e in upserts), *deletes] for r in self._entry_rows.pop(fid, [])]
        for faq_id in deletes:
            if faq_id in self.store:
                self.store.delete(faq_id)
            self._vectors.pop(faq_id, None)
        pos, new_rows, start = 0, [], len(self._rows)
        for e in upserts:
            self.store.put(e)
            self._vectors[e.id] = V[pos:pos + len(e.questions)]
            pos += len(e.questions)
            first = start + len(new_rows)
            self._entry_rows[e.id] = list(range(first, first + len(e.questions)))
            new_rows += [(e.id, q) for q in e.questions]
        if not (upserts or deletes):
            return
        dead = sum(r is None for r in self._rows) + len(gone)
        if self._faiss is None or dead > max(1000, start + len(new_rows) - dead):
            self._reindex()
            return
        # Order matters for searches running meanwhile (they take no lock): rows and vectors
        # first, then the search structures that hand out row numbers.
        for r in gone:
            self._rows[r] = None
        if new_rows:
            self._append_vectors(V)
            self._rows += new_rows
            for e in upserts:
                if e.questions:
                    self._vectors[e.id] = self._view(self._buf, self._entry_rows[e.id])
        if gone:
            self._faiss.remove(np.asarray(gone, dtype=np.int64))
            self._lexical.drop(gone)
        if new_rows:
            if isinstance(self._faiss, ExactIndex):
                self._faiss.extend(self._matrix)  # it searches this matrix itself
            else:
                self._faiss.add(V, np.arange(start, start + len(new_rows)))
            self._lexical.append([q for _, q in new_rows])

    def _reindex(self) -> None:
        """Build every row afresh from the store (the first build, and after many edits). The new
        parts are built aside and swapped in together."""
        rows: list[tuple[str, str] | None] = []
        entry_rows: dict[str, list[int]] = {}
        for e in self.store:
            entry_rows[e.id] = list(range(len(rows), len(rows) + len(e.questions)))
            rows += [(e.id, q) for q in e.questions]
        dim = self.embedder.info().dim
        buf = np.empty((self._room(len(rows)), dim), np.float32)
        matrix = buf[:len(rows)]
        if rows:
            np.concatenate([self._vectors[e.id] for e in self.store], axis=0, out=matrix)
        if self._idf_from is not None:
            lexical = self._idf_from.empty_like()
            lexical.append([q for _, q in rows])
        else:
            lexical = LexicalIndex()
            lexical.rebuild([q for _, q in rows])
        faiss_index = vector_index(matrix, self.approximate_above, self._centroids)
        if isinstance(faiss_index, ApproximateIndex):
            self._centroids = faiss_index.centroids()
        self._rows, self._entry_rows, self._buf, self._matrix, self._faiss, self._lexical = (
            rows, entry_rows, buf, matrix, faiss_index, lexical)
        self._vectors = self._views(buf)

    @staticmethod
    def _room(n: int) -> int:
        """Rows to allocate for `n` phrasings: a sixteenth more (at least 1,024), for edits."""
        return n + max(1024, n // 16)

    def _append_vectors(self, V: np.ndarray) -> None:
        """Rows after the current ones, in the spare room (a bigger buffer when it is full). The
        rows searches may be reading are never written."""
        n = len(self._matrix)
        need = n + len(V)
        buf = self._buf
        if need > len(buf):
            buf = np.empty((self._room(need), V.shape[1]), np.float32)
            buf[:n] = self._matrix
        buf[n:need] = V
        grown = buf is not self._buf
        self._buf, self._matrix = buf, buf[:need]
        if grown:  # let the old buffer go
            self._vectors = self._views(buf)

    def _views(self, buf: np.ndarray) -> dict[str, np.ndarray]:
        """Each entry's vectors as a view of its rows in `buf` (an entry's rows are consecutive),
        so the vectors are held once here, not also per entry. Rows are only ever appended to a
        buffer, never rewritten, so a view stays valid."""
        return {fid: self._view(buf, rows) for fid, rows in self._entry_rows.items() if rows}

    @staticmethod
    def _view(buf: np.ndarray, rows: list[int]) -> np.ndarray:
        return buf[rows[0]:rows[-1] + 1]

    @property
    def centroids(self) -> np.ndarray | None:
        """The approximate index's lists (nlist x dim), None while searches are exact: saved with
        a model, so loading it does not cluster the phrasings again."""
        return self._centroids if isinstance(self._faiss, ApproximateIndex) else None

    def phrasing_vectors(self) -> dict[str, np.ndarray]:
        """Each entry's phrasing vectors (views of the index's own matrix: read, do not write)."""
        return dict(self._vectors)

    # -- search --------------------------------------------------------------------------------
    #: Queries searched at once.
    SEARCH_CHUNK = 256
    #: Nearness of a query to the knowledge base: mean similarity of its this many nearest phrasings.
    NEAR_K = 5

    def search(self, query_vecs: np.ndarray, texts: Sequence[str], k: int = 3,
               exclude: Sequence[set[str]] | None = None) -> list[list[Hit]]:
        """Top-k entries per query. `exclude` (per query) hides phrasings, for leave-one-out checks."""
        return self.search_near(query_vecs, texts, k, exclude)[0]

    @staticmethod
    def _width(n_rows: int, k: int) -> int:
        """Candidates taken from each channel."""
        return min(n_rows, max(50, 8 * k))

    @property
    def phrasings(self) -> int:
        """Rows held (deleted ones included until the next rebuild): the size a search works on."""
        return len(self._rows)

    def lexical_queries(self, texts: Sequence[str], k: int = 3) -> LexicalQueries:
        """What a `search_near(…, texts, k)` finds without the query vectors, to run beside the
        encoder (see `TriageEngine.predict`)."""
        return self._lexical_queries(self._lexical, self._width(len(self._rows), k), texts)

    def _lexical_queries(self, lexical: LexicalIndex, width: int, texts: Sequence[str]) -> LexicalQueries:
        rows = len(lexical)
        q = lexical.transform(texts)
        top = lexical.top(q, width)
        return LexicalQueries(lexical, rows, q, top, [lexical.score_rows(q, i, t) for i, t in enumerate(top)], width,
                              [self.locales.detect(t) for t in texts])

    def search_near(self, query_vecs: np.ndarray, texts: Sequence[str], k: int = 3,
                    exclude: Sequence[set[str]] | None = None,
                    lexical: LexicalQueries | None = None) -> tuple[list[list[Hit]], np.ndarray]:
        """`search`, and per query the mean dense similarity of its `NEAR_K` nearest phrasings (how
        close it lies to the knowledge base as a whole; the classifier's nearness of "some FAQ
        entry" when entries are answered through retrieval). `lexical`: the same texts'
        `lexical_queries`, made earlier (made again if the index was rebuilt since)."""
        if not len(self.store):
            return [[] for _ in texts], np.zeros(len(texts))
        hits: list[list[Hit]] = []
        near = []
        n = self.SEARCH_CHUNK
        for a in range(0, len(texts), n):
            part = lexical.part(a, a + n) if lexical is not None else None
            h, nr = self._search_chunk(query_vecs[a:a + n], texts[a:a + n], k,
                                       exclude[a:a + n] if exclude is not None else None, part)
            hits += h
            near.append(nr)
        return hits, np.concatenate(near)

    def _nearness(self, D: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Per query, the mean similarity of its `NEAR_K` nearest phrasings (0 without any): the
        found ones come first in each row, missing ones (id -1) last."""
        found = ids[:, :self.NEAR_K] >= 0
        count = found.sum(axis=1).astype(np.float32)
        total = np.where(found, D[:, :self.NEAR_K], np.float32(0)).sum(axis=1, dtype=np.float32)
        return np.where(count > 0, total / np.maximum(count, 1), 0).astype(np.float64)

    def _search_chunk(self, query_vecs: np.ndarray, texts: Sequence[str], k: int,
                      exclude: Sequence[set[str]] | None,
                      part: LexicalQueries | None) -> tuple[list[list[Hit]], np.ndarray]:
        rows, matrix, faiss_index, lexical = self._rows, self._matrix, self._faiss, self._lexical
        n_rows = len(rows)
        width = self._width(n_rows, k)
        # Dense candidates come from faiss, lexical ones from the character channel; each
        # candidate phrasing then gets both scores and the fused one.
        D, didx = faiss_index.search(query_vecs, width)
        near = self._nearness(D, didx)
        if part is None or part.index is not lexical or part.rows != len(lexical) or part.width != width:
            part = self._lexical_queries(lexical, width, texts)
        q, lex_top = part.q, part.top
        out: list[list[Hit]] = []
        for i in range(len(texts)):
            w = self.language_weights.get(part.languages[i], self.dense_weight)
            cand = np.unique(np.concatenate([didx[i][didx[i] >= 0], lex_top[i]]))
            # An edit may be half applied: never read past what all parts hold.
            cand = cand[(cand < n_rows) & (cand < len(matrix))]
            if exclude is not None and exclude[i]:
                cand = np.array([r for r in cand if rows[r] is not None and rows[r][1] not in exclude[i]],
                                dtype=np.int64)
            if len(cand) == 0:
                out.append([])
                continue
            lex = _known_or_scored(cand, lex_top[i], part.scores[i], lambda rows: lexical.score_rows(q, i, rows))
            dense = matrix[cand] @ query_vecs[i]
            fused = w * np.maximum(dense, 0.0) + (1 - w) * lex
            # entry -> (position in cand, row) of its best phrasing; deleted rows (None) are
            # skipped here rather than filtered out first: only the rows ranked are looked at.
            best: dict[str, tuple[int, tuple[str, str]]] = {}
            for pos in np.argsort(-fused, kind="stable").tolist():
                row = rows[cand[pos]]
                if row is None or lex[pos] < 0:
                    continue  # deleted, or a row its lexical part does not hold yet
                if row[0] not in best:
                    best[row[0]] = (pos, row)
                    if len(best) == k:
                        break
            out.append([Hit(fid, float(fused[p]), float(dense[p]), float(lex[p]), row[1])
                        for fid, (p, row) in best.items()])
        return out, near


class DraftIndex:
    """The live index as it would be after some edits, for trying them before they are published
    (the editors' gate, "try it"), without copying the live index: edited entries go to a small side
    index weighted like the live one, the live index's hits of edited or deleted entries are
    hidden, and the two are merged. An entry's score is its best phrasing's, so the merged ranking
    is the one an in-place edit would give. The nearness of a query to the knowledge base
    (`search_near`) is the live index's: one entry's edit barely moves the mean of the five nearest
    phrasings of a large knowledge base."""

    def __init__(self, live: FaqIndex):
        self.live = live
        self.store = FaqStore(list(live.store))
        self._hidden: set[str] = set()
        self._side = FaqIndex(live.embedder, live.locales, live.dense_weight, live.language_weights,
                              live.approximate_above)
        self._side._idf_from = live._lexical

    def upsert(self, entry: FaqEntry) -> None:
        self.apply([entry], [])

    def delete(self, faq_id: str) -> None:
        self.apply([], [faq_id])

    def apply(self, upserts: Sequence[FaqEntry], deletes: Sequence[str]) -> None:
        self._hidden |= {e.id for e in upserts} | set(deletes)
        for e in upserts:
            self.store.put(e)
        for faq_id in deletes:
            if faq_id in self.store:
                self.store.delete(faq_id)
        self._side.apply(upserts, deletes)

    def search(self, query_vecs: np.ndarray, texts: Sequence[str], k: int = 3,
               exclude: Sequence[set[str]] | None = None) -> list[list[Hit]]:
        return self.search_near(query_vecs, texts, k, exclude)[0]

    @property
    def phrasings(self) -> int:
        return self.live.phrasings

    def lexical_queries(self, texts: Sequence[str], k: int = 3) -> LexicalQueries:
        return self.live.lexical_queries(texts, k + len(self._hidden))

    def search_near(self, query_vecs: np.ndarray, texts: Sequence[str], k: int = 3,
                    exclude: Sequence[set[str]] | None = None,
                    lexical: LexicalQueries | None = None) -> tuple[list[list[Hit]], np.ndarray]:
        hidden = self._hidden
        live, near = self.live.search_near(query_vecs, texts, k + len(hidden), exclude, lexical)
        side = self._side.search(query_vecs, texts, k, exclude) if len(self._side.store) else [[] for _ in texts]
        out = []
        for mine, theirs in zip(live, side):
            merged = [h for h in mine if h.faq_id not in hidden] + list(theirs)
            out.append(sorted(merged, key=lambda h: -h.score)[:k])
        return out, near
