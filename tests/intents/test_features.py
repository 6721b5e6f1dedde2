import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from intents.features import Tfidf, words

TEXTS = ["How do I reset my password?", "reset   PASSWORD now!!", "App老是闪退怎么办", "a", "",
         "zzz unknown qqq", "fees fees fees on withdrawals"]


def _reference(tfidf: Tfidf, texts):
    """What scikit-learn's CountVectorizer with the fitted vocabulary, then sublinear TF-IDF and
    L2 normalisation, give: the direct transform must match it."""
    kw = dict(analyzer=words) if tfidf.analyzer == "words" else dict(analyzer="char_wb", ngram_range=tfidf.ngram_range)
    cv = CountVectorizer(vocabulary=tfidf.vocabulary_, dtype=np.float32, **kw)
    counts = cv.transform(texts).astype(np.float32).tocsr()
    counts.data = (1.0 + np.log(counts.data)) * tfidf.idf_[counts.indices]
    return normalize(counts)


@pytest.mark.parametrize("analyzer", ["char_wb", "words"])
def test_transform_matches_the_vectorizer(analyzer):
    tfidf = Tfidf(analyzer, (1, 4)).fit(TEXTS[:3] + ["my password was reset twice"])
    got = tfidf.transform(TEXTS)
    want = _reference(tfidf, TEXTS)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=1e-5, atol=1e-6)
    assert got.has_sorted_indices


def test_a_text_with_no_known_feature_is_an_empty_row():
    tfidf = Tfidf("words").fit(["reset password"])
    m = tfidf.transform(["nothing here", "reset"])
    assert m.getrow(0).nnz == 0
    assert m.getrow(1).nnz == 1 and m.getrow(1).data[0] == pytest.approx(1.0)


def test_serialised_vocabulary_transforms_the_same():
    tfidf = Tfidf("char_wb", (1, 3)).fit(TEXTS)
    again = Tfidf.from_json(tfidf.to_json(), tfidf.idf_)
    np.testing.assert_array_equal(again.transform(TEXTS).toarray(), tfidf.transform(TEXTS).toarray())


@pytest.mark.parametrize("analyzer", ["char_wb", "words"])
def test_dot_is_the_product_of_the_transform(analyzer):
    tfidf = Tfidf(analyzer, (1, 4)).fit(TEXTS[:3] + ["my password was reset twice"])
    W = np.random.default_rng(0).standard_normal((len(tfidf.idf_), 5)).astype(np.float32)
    got = tfidf.dot(TEXTS, W)
    np.testing.assert_allclose(got, _reference(tfidf, TEXTS) @ W, rtol=1e-4, atol=1e-5)
    assert not got[TEXTS.index("")].any()                                # no known feature: zeros
    assert tfidf.dot([], W).shape == (0, 5)
