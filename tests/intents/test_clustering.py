import numpy as np

from intents.clustering import centre_clusters


def unit(*rows):
    x = np.array(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_members_are_close_to_their_centre_and_chains_are_not_followed():
    # a ~ b ~ c ~ d in a chain, 37 degrees apart (cosine 0.8 to a neighbour, 0.28 two steps on).
    angles = np.radians([0, 37, 74, 111])
    v = unit(*[[np.cos(a), np.sin(a)] for a in angles])
    out = centre_clusters(v, threshold=0.75)
    assert sorted(sorted(m) for _, m in out) == [[0, 1, 2], [3]]            # b's neighbours; d is left out
    assert out[0][0] == 1 and all(v[c] @ v[j] >= 0.75 for c, m in out for j in m)


def test_the_heaviest_cluster_comes_first_and_weights_count():
    v = unit([1, 0], [0.99, 0.1], [0, 1])
    assert [sorted(m) for _, m in centre_clusters(v, 0.9)] == [[0, 1], [2]]
    assert [sorted(m) for _, m in centre_clusters(v, 0.9, weights=[1, 1, 5])] == [[2], [0, 1]]
    assert centre_clusters(np.zeros((0, 2), np.float32)) == []
