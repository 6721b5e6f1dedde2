import random

import numpy as np
import pytest

from bot.core.i18n import load_registry
from kb_index.retrieval import FaissIndex, FaqIndex, top_k
from kb_index.store import FaqEntry, FaqStore


def _unit(rng, n, d):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_top_k_matches_brute_force():
    rng = np.random.default_rng(1)
    q, c = _unit(rng, 7, 16), _unit(rng, 40, 16)
    scores, idx = top_k(q, c, 5)
    full = q @ c.T
    for i in range(7):
        expected = np.argsort(-full[i])[:5]
        assert list(idx[i]) == list(expected)
        assert np.allclose(scores[i], full[i, expected])
    assert top_k(q, c[:0], 3)[1].shape == (7, 0)


def test_faiss_wrapper_agrees_with_top_k_and_round_trips():
    rng = np.random.default_rng(2)
    q, c = _unit(rng, 5, 32), _unit(rng, 100, 32)
    index = FaissIndex(32)
    index.add(c)
    s1, i1 = index.search(q, 10)
    s2, i2 = top_k(q, c, 10)
    assert (i1 == i2).all() and np.allclose(s1, s2, atol=1e-5)
    again = FaissIndex.from_bytes(index.to_bytes())
    assert (again.search(q, 10)[1] == i1).all()


def _entries():
    return [
        FaqEntry("fees", ["what are the trading fees", "交易手续费是多少"], {"en": "0.1%", "zh": "0.1%"}),
        FaqEntry("reset", ["how do I reset my password", "忘记密码怎么办"], {"en": "Tap forgot password"}),
    ]


def test_faq_index_finds_english_and_chinese(fake_embedder):
    index = FaqIndex(fake_embedder, load_registry()).build(_entries())
    texts = ["trading fees?", "手续费是多少", "reset password"]
    hits = index.search(fake_embedder.embed(texts), texts, k=2)
    assert [h[0].faq_id for h in hits] == ["fees", "fees", "reset"]
    assert hits[1][0].lexical > 0.3  # the character channel carries Chinese


def test_faq_edits_are_live_without_retraining(fake_embedder):
    index = FaqIndex(fake_embedder, load_registry()).build(_entries())
    q = ["how do I close my account"]
    assert index.search(fake_embedder.embed(q), q)[0][0].faq_id != "close"
    index.upsert(FaqEntry("close", ["how do I close my account", "delete my account"], {"en": "Profile > Close"}))
    assert index.search(fake_embedder.embed(q), q)[0][0].faq_id == "close"
    index.upsert(FaqEntry("close", ["cancel membership"], {"en": "changed"}))
    assert index.store.get("close").answers["en"] == "changed"
    index.delete("close")
    assert all(h.faq_id != "close" for h in index.search(fake_embedder.embed(q), q)[0])
    assert len(index.store) == 2


def test_store_json_round_trip():
    store = FaqStore(_entries())
    again = FaqStore.from_json(store.to_json())
    assert [e.to_json() for e in again] == [e.to_json() for e in store]


def test_the_index_takes_its_languages_from_the_registry_it_is_given(fake_embedder, monkeypatch):
    from bot.core import i18n

    def hidden(*a, **k):
        raise AssertionError("FaqIndex must not reach for the process-wide registry")

    monkeypatch.setattr(i18n, "registry", hidden)
    reg = load_registry()
    index = FaqIndex(fake_embedder, reg).build(_entries())
    assert index.language_weights == reg.dense_weights() and index.language_weights["zh"] == 0.0
    assert index.search(fake_embedder.embed(["交易手续费"]), ["交易手续费"], k=1)


def _clustered(n: int, dim: int = 32, centres: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    x = c[rng.integers(0, centres, n)] + 0.15 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_the_approximate_index_is_used_above_the_threshold_and_finds_what_exact_search_finds():
    from kb_index.retrieval import ApproximateIndex, vector_index

    x = _clustered(5000)
    from kb_index.retrieval import ExactIndex

    assert isinstance(vector_index(x[:100], approximate_above=1000), ExactIndex)
    ann = vector_index(x, approximate_above=1000)
    assert isinstance(ann, ApproximateIndex)
    queries = _clustered(200, seed=1)
    _, exact = top_k(queries, x, 1)
    scores, approx = ann.search(queries, 1)
    assert (exact[:, 0] == approx[:, 0]).mean() >= 0.95  # the recall at scale: scripts/ann_benchmark.py
    # The lists hold half-precision vectors (half the memory a search reads); scores stay close.
    assert ann._index.code_size == 2 * x.shape[1]
    assert np.allclose(scores[:, 0], (queries * x[approx[:, 0]]).sum(axis=1), atol=1e-3)


def test_the_exact_index_finds_the_true_top_k_and_skips_removed_rows():
    from kb_index.retrieval import ExactIndex

    x = _clustered(500)
    index = ExactIndex(x.shape[1])
    index.add(x[:300], np.arange(300))
    index.add(x[300:], np.arange(300, 500))                             # appended in place
    queries = _clustered(150, seed=3)                                   # more than one chunk of queries
    s, i = index.search(queries, 4)
    s_true, i_true = top_k(queries, x, 4)
    assert np.array_equal(i, i_true) and np.allclose(s, s_true, atol=1e-5)
    gone = np.unique(i_true[:, 0])
    index.remove(gone)
    keep = np.setdiff1d(np.arange(500), gone)
    s, i = index.search(queries, 4)
    s_true, j = top_k(queries, x[keep], 4)
    assert np.array_equal(i, keep[j]) and len(index) == len(keep)
    small = ExactIndex(x.shape[1])
    small.add(x[:3], np.arange(3))
    small.remove(np.array([1]))
    s, i = small.search(queries[:2], 5)
    assert i.shape == (2, 2) and set(i[0]) == {0, 2}                     # only the live rows
    with pytest.raises(ValueError):
        small.add(x[3:4], np.array([7]))                                 # ids continue from the last row


def test_the_approximate_index_updates_in_place_like_a_rebuild():
    from kb_index.retrieval import ApproximateIndex

    x = _clustered(3000)
    ann = ApproximateIndex.for_size(x.shape[1], len(x))
    ann.train(x)
    ann.add(x, np.arange(len(x)))
    gone = np.arange(0, 3000, 7)
    ann.remove(gone)                                                    # delete in place
    ann.add(x[gone[:10]] * 1.0, np.arange(3000, 3010))                  # re-add some under new ids
    keep = np.setdiff1d(np.arange(3000), gone)
    rebuilt = ApproximateIndex(x.shape[1], ann.nlist, ann.nprobe)
    rebuilt.train(x)
    rebuilt.add(np.vstack([x[keep], x[gone[:10]]]), np.concatenate([keep, np.arange(3000, 3010)]))
    queries = _clustered(100, seed=2)
    s1, i1 = ann.search(queries, 5)
    s2, i2 = rebuilt.search(queries, 5)
    assert len(ann) == len(rebuilt) and np.array_equal(i1, i2) and np.allclose(s1, s2)


def test_a_large_faq_index_searches_through_the_approximate_index(fake_embedder):
    from kb_index.retrieval import ApproximateIndex

    entries = [FaqEntry(f"e{i}", [f"question number {i} about topic {i % 13}", f"topic {i} help"], {"en": f"a{i}"})
               for i in range(400)]
    ix = FaqIndex(fake_embedder, load_registry(), approximate_above=500).build(entries)
    assert isinstance(ix._faiss, ApproximateIndex)
    q = "question number 123 about topic 6"
    (hits,) = ix.search(fake_embedder.encode_query([q]), [q], k=1)
    assert hits[0].faq_id == "e123"


def test_an_index_built_on_saved_centroids_searches_like_the_one_that_found_them(fake_embedder, monkeypatch):
    from kb_index.retrieval import ApproximateIndex

    entries = [FaqEntry(f"e{i}", [f"question number {i} about topic {i % 13}", f"topic {i} help"], {"en": f"a{i}"})
               for i in range(400)]
    first = FaqIndex(fake_embedder, load_registry(), approximate_above=500).build(entries)
    centroids = first.centroids
    assert centroids is not None and centroids.shape == (first._faiss.nlist, fake_embedder.info().dim)

    def no_clustering(self, sample, seed=13):
        raise AssertionError("clustered again")

    monkeypatch.setattr(ApproximateIndex, "train", no_clustering)
    again = FaqIndex(fake_embedder, load_registry(), approximate_above=500).build(entries, centroids=centroids)
    assert again._faiss.nprobe == first._faiss.nprobe
    queries = [e.questions[0] for e in entries[::9]] + ["topic 4 help desk", "something else"]
    vecs = fake_embedder.encode_query(queries)
    assert again.search(vecs, queries, k=3) == first.search(vecs, queries, k=3)
    assert first.copy().search(vecs, queries, k=3) == first.search(vecs, queries, k=3)  # a copy keeps them too
    # Edits keep them; below the threshold searches are exact (no lists).
    again.apply([], [e.id for e in entries[:150]])
    assert again.centroids is not None
    small = FaqIndex(fake_embedder, load_registry(), approximate_above=500).build(entries[:100], centroids=centroids)
    assert small.centroids is None


def test_exact_search_reads_the_index_matrix_itself_through_edits(fake_embedder):
    """Below the approximate threshold the vectors are held once: exact search runs over the FAQ
    index's own matrix, before and after edits (also when the matrix outgrows its room)."""
    entries = [FaqEntry(f"e{i}", [f"question number {i} about topic {i % 13}", f"topic {i} help"], {"en": f"a{i}"})
               for i in range(200)]
    ix = FaqIndex(fake_embedder, load_registry()).build(entries)
    assert np.shares_memory(ix._faiss._parts[0], ix._matrix)
    added = [FaqEntry(f"n{i}", [f"brand new entry {i} about billing", f"billing {i}"], {"en": f"n{i}"})
             for i in range(700)]                                        # more than the spare room
    for chunk in (added[:3], added[3:]):
        ix.apply(chunk, ["e1"])
        assert np.shares_memory(ix._faiss._parts[0], ix._matrix)
        assert len(ix._faiss._parts[0]) == len(ix._matrix) == len(ix._rows)
    q = "brand new entry 650 about billing"
    (hits,) = ix.search(fake_embedder.encode_query([q]), [q], k=1)
    assert hits[0].faq_id == "n650"
    with pytest.raises(ValueError):
        ix._faiss.extend(ix._matrix[:10])                                # rows are never taken away


def test_edits_update_the_index_in_place_and_match_a_full_rebuild(fake_embedder):
    entries = [FaqEntry(f"e{i}", [f"question number {i} about topic {i % 13}", f"topic {i} help desk"],
                        {"en": f"a{i}"}) for i in range(300)]
    live = FaqIndex(fake_embedder, load_registry()).build(entries)
    rows_before = live._rows[:5]
    changed = FaqEntry("e5", ["how do I change the colour of the widget", "widget colour"], {"en": "new"})
    added = FaqEntry("new1", ["where is the annual report", "annual report download"], {"en": "here"})
    live.apply([changed, added], ["e7", "e8"])
    assert live._rows[:5] == rows_before                               # the other rows were not rebuilt
    assert len(live._rows) == 600 + 4 and sum(r is None for r in live._rows) == 6
    current = [e for e in entries if e.id not in ("e5", "e7", "e8")] + [changed, added]
    rebuilt = FaqIndex(fake_embedder, load_registry()).build(current)
    queries = ["widget colour", "annual report download", "question number 7 about topic 7",
               "topic 42 help desk", "question number 199 about topic 4", "where is the annual report"]
    got = live.search(fake_embedder.encode_query(queries), queries, k=3)
    want = rebuilt.search(fake_embedder.encode_query(queries), queries, k=3)
    assert [[h.faq_id for h in hs] for hs in got] == [[h.faq_id for h in hs] for hs in want]
    assert all(h.faq_id not in ("e7", "e8") for hs in got for h in hs)  # deleted entries are gone


def test_many_queries_are_searched_in_chunks_with_the_same_results(fake_embedder, monkeypatch):
    entries = [FaqEntry(f"e{i}", [f"question number {i} about topic {i % 7}"], {"en": f"a{i}"}) for i in range(40)]
    ix = FaqIndex(fake_embedder, load_registry()).build(entries)
    queries = [f"question number {i}" for i in range(9)]
    Q = fake_embedder.encode_query(queries)
    whole = ix.search(Q, queries, k=3, exclude=[{"question number 1 about topic 1"}] * 9)
    monkeypatch.setattr(FaqIndex, "SEARCH_CHUNK", 2)
    chunked = ix.search(Q, queries, k=3, exclude=[{"question number 1 about topic 1"}] * 9)
    assert [[(h.faq_id, h.score) for h in hs] for hs in chunked] == [[(h.faq_id, h.score) for h in hs] for hs in whole]


def _many_entries(n: int) -> list[FaqEntry]:
    import random

    rng = random.Random(5)
    words = ["card", "wallet", "refund", "transfer", "pin", "limit", "fee", "app", "login", "deposit", "statement",
             "currency", "account", "payment", "cash", "bonus", "freeze", "verify", "address", "phone"]
    return [FaqEntry(f"e{i}", [" ".join(rng.sample(words, 4)) + f" case{i} item{i * 7}" for _ in range(3)],
                     {"en": f"answer {i}"}) for i in range(n)]


def test_lexical_candidates_through_rare_features_score_exactly():
    from kb_index.retrieval import LexicalIndex

    texts = [q for e in _many_entries(300) for q in e.questions]
    queries = ["refund card case17 item119", "pin limit case250", "wallet fee"]
    full, pruned = LexicalIndex(), LexicalIndex()
    pruned.PRUNE_ABOVE, pruned.MAX_DF_SHARE = 10, 0.05     # only rare n-grams find candidates
    full.rebuild(texts)
    pruned.rebuild(texts)
    assert not pruned._probe.all() and full._probe.all()
    dense = full.scores(queries)
    for idx in (full, pruned):
        q = idx.transform(queries)
        for i, rows in enumerate(idx.top(q, 20)):
            assert len(rows) <= 20
            assert np.allclose(idx.score_rows(q, i, rows), dense[i, rows], atol=1e-5)  # exact, whatever found them
    # The unpruned candidates are the true lexical top; pruned ones still find the rare-word match.
    q = full.transform(queries)
    assert set(full.top(q, 5)[0]) == set(np.argsort(-dense[0])[:5])
    assert int(np.argmax(dense[0])) in pruned.top(pruned.transform(queries), 5)[0]


def test_row_dots_match_scipy_with_empty_and_repeated_rows():
    """Chosen rows' dot products with one sparse vector, summed per row: rows without entries
    (also last, or several in a row), repeated rows and empty vectors included."""
    from scipy import sparse

    from kb_index.retrieval import _row_dots

    rng = np.random.default_rng(0)
    for trial in range(300):
        n, f = int(rng.integers(1, 30)), 64
        m = sparse.random(n, f, density=rng.uniform(0, 0.3), format="csr", dtype=np.float32, random_state=trial)
        m.sort_indices()
        rows = rng.integers(0, n, int(rng.integers(0, 12))).astype(np.int64)
        q_idx = np.sort(rng.choice(f, int(rng.integers(0, 20)), replace=False)).astype(np.int32)
        q_val = rng.random(len(q_idx)).astype(np.float32)
        q = sparse.csr_matrix((q_val, q_idx, [0, len(q_idx)]), shape=(1, f))
        want = (m[rows] @ q.T).toarray().ravel()
        got = _row_dots(m, rows, q_idx, q_val)
        assert got.dtype == np.float32 and np.allclose(got, want, atol=1e-6), trial


def test_lexical_rows_are_counted_as_the_vectorizer_counts_them():
    """Rows are counted word by word (each distinct word once); the counts must be the
    vectorizer's own, whatever the white space, case or script."""
    from kb_index.retrieval import LexicalIndex

    rng = random.Random(5)
    alphabet = "ab cdé\tΣς我密码\n  '!.-İß\u00a0\x1f0"
    texts = ["", "   ", "Hello  world", "héllo\tWORLD\n\nagain", "ΟΔΟΣ ΟΔΟΣ", "我的密码忘了 怎么办", "x" * 40,
             "a b c", "tab\x1fsep", "a\u00a0b İstanbul straße"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(300)]
    texts += [q for e in _many_entries(50) for q in e.questions]
    index = LexicalIndex()
    mine, theirs = index._counts(texts), index._hv.transform(texts).tocsr()
    assert mine.shape == theirs.shape
    assert abs(mine - theirs).max() == 0
    # And the weighted rows a rebuild keeps are the ones a query is compared with.
    index.rebuild(texts)
    S = index.scores(texts[2:12])
    assert np.allclose([S[i, 2 + i] for i in range(10)], 1.0, atol=1e-5)


def test_large_index_search_matches_the_small_path(fake_embedder, monkeypatch):
    from kb_index.retrieval import LexicalIndex

    entries = _many_entries(400)
    queries = [e.questions[0] for e in entries[::37]] + ["refund case33 item231"]
    vecs = fake_embedder.embed(queries)
    small = FaqIndex(fake_embedder, load_registry()).build(entries)
    monkeypatch.setattr(LexicalIndex, "PRUNE_ABOVE", 100)
    large = FaqIndex(fake_embedder, load_registry()).build(entries)
    assert not large._lexical._probe.all()
    assert [h[0].faq_id for h in large.search(vecs, queries)] == [h[0].faq_id for h in small.search(vecs, queries)]


def test_search_near_is_the_mean_similarity_of_the_nearest_phrasings(fake_embedder):
    entries = _many_entries(30)
    index = FaqIndex(fake_embedder, load_registry()).build(entries)
    queries = ["wallet fee case3", "something else entirely"]
    vecs = fake_embedder.embed(queries)
    hits, near = index.search_near(vecs, queries)
    assert [len(h) for h in hits] == [3, 3]
    allv = np.vstack([index.phrasing_vectors()[e.id] for e in entries])
    for i in range(2):
        expected = np.sort(allv @ vecs[i])[::-1][:FaqIndex.NEAR_K].mean()
        assert abs(near[i] - expected) < 1e-5


def test_a_draft_ranks_as_the_same_edits_applied_in_place(fake_embedder):
    entries = _many_entries(200)
    live = FaqIndex(fake_embedder, load_registry()).build(entries)
    rows_before = len(live._rows)
    edits = [FaqEntry("e3", ["wallet refund pin case3 item21", "how to freeze my card"], {"en": "changed"}),
             FaqEntry("new", ["where is my bonus statement", "bonus statement case999"], {"en": "new"})]
    draft = live.draft()
    draft.apply(edits, ["e5"])
    applied = live.copy()
    applied.apply(edits, ["e5"])
    queries = ["how to freeze my card", "bonus statement", entries[5].questions[0], entries[3].questions[1],
               "refund card case17 item119"]
    vecs = fake_embedder.embed(queries)
    got, want = draft.search(vecs, queries, k=3), applied.search(vecs, queries, k=3)
    assert [[h.faq_id for h in r] for r in got] == [[h.faq_id for h in r] for r in want]
    assert np.allclose([h.score for r in got for h in r], [h.score for r in want for h in r], atol=1e-5)
    assert "e5" not in draft.store and draft.store.get("e3").answers["en"] == "changed"
    assert len(live._rows) == rows_before and live.store.get("e3").answers["en"] == "answer 3"  # live untouched


def test_lexical_queries_made_before_the_vectors_search_the_same(fake_embedder):
    from kb_index.retrieval import FaqIndex

    entries = _many_entries(400)
    index = FaqIndex(fake_embedder, load_registry()).build(entries)
    queries = [e.questions[1] for e in entries[::11]] + ["wallet fee case3", "nothing like it"]
    vecs = fake_embedder.encode_query(queries)

    def same(a, b):
        assert a[0] == b[0] and np.allclose(a[1], b[1])
    index.SEARCH_CHUNK = 4                                               # several chunks
    early = index.lexical_queries(queries, k=10)
    same(index.search_near(vecs, queries, k=10, lexical=early), index.search_near(vecs, queries, k=10))
    # Rows added or renumbered (a full rebuild) since: made again.
    index.upsert(FaqEntry("late", ["wallet fee case3 exactly"], {"en": "late"}))
    same(index.search_near(vecs, queries, k=10, lexical=early), index.search_near(vecs, queries, k=10))
    index.apply([], [e.id for e in entries[:390]])                      # most rows dead: rebuilt
    assert early.index is not index._lexical
    same(index.search_near(vecs, queries, k=10, lexical=early), index.search_near(vecs, queries, k=10))
    draft = index.draft()
    draft.upsert(FaqEntry("d1", ["a drafted wallet question"], {"en": "d"}))
    same(draft.search_near(vecs, queries, k=3, lexical=draft.lexical_queries(queries, k=3)),
         draft.search_near(vecs, queries, k=3))


def test_edits_append_vectors_in_the_spare_room_and_grow_it_when_full(fake_embedder, monkeypatch):
    entries = _many_entries(40)
    assert FaqIndex._room(120) > 120
    monkeypatch.setattr(FaqIndex, "_room", staticmethod(lambda n: n + 3))  # little room, to fill it
    live = FaqIndex(fake_embedder, load_registry()).build(entries)
    buf = live._buf
    assert len(buf) == len(live._matrix) + 3
    live.upsert(FaqEntry("n0", ["a brand new wallet question"], {"en": "new"}))
    assert live._buf is buf                                              # appended without a copy
    added = [FaqEntry(f"n{i}", [f"new question {i} about fees", f"fees {i} again"], {"en": f"n{i}"})
             for i in range(1, 12)]
    for e in added:
        live.upsert(e)
    assert live._buf is not buf
    fresh = FaqIndex(fake_embedder, load_registry()).build(list(live.store))
    queries = [e.questions[0] for e in added] + [e.questions[1] for e in entries[::7]]
    vecs = fake_embedder.encode_query(queries)
    # (lexical scores differ a little: edits are weighted with the IDF of the last full build)
    assert [h[0].faq_id for h in live.search(vecs, queries)] == [h[0].faq_id for h in fresh.search(vecs, queries)]
    for e in live.store:                                                 # every row holds its own vector
        rows = live._entry_rows[e.id]
        assert np.allclose(live._matrix[rows], fake_embedder.encode_document(e.questions), atol=1e-6)
        # held once: each entry's vectors are a view of the current matrix (no old buffer kept)
        assert np.shares_memory(live.phrasing_vectors()[e.id], live._buf)
        assert np.array_equal(live.phrasing_vectors()[e.id], live._matrix[rows])
