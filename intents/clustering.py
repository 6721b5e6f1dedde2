"""Group texts by meaning: greedy centre clustering of unit embedding vectors.

Repeatedly, the row with the most unassigned neighbours at cosine ≥ `threshold` becomes a
centre and takes those neighbours; ties go to the earlier row, so the result is deterministic.
Unlike single-link grouping it does not chain ("card lost" → "card stolen" → "stolen phone"):
every member is close to its centre."""
from __future__ import annotations

import numpy as np


def centre_clusters(vectors: np.ndarray, threshold: float = 0.6,
                    weights: np.ndarray | None = None) -> list[tuple[int, list[int]]]:
    """(centre row, member rows with the centre first) per cluster, the heaviest first. `weights`
    (e.g. how often each text was seen) count towards a centre's pull; 1 each by default."""
    n = len(vectors)
    if n == 0:
        return []
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    S = vectors @ vectors.T
    near = S >= threshold
    np.fill_diagonal(near, True)
    free = np.ones(n, bool)
    out: list[tuple[int, list[int]]] = []
    while free.any():
        pull = (near[:, free] * w[free]).sum(axis=1)
        pull[~free] = -1
        c = int(np.argmax(pull))
        members = [c] + [int(j) for j in np.flatnonzero(near[c] & free) if j != c]
        members = [members[0]] + sorted(members[1:], key=lambda j: -S[c, j])
        free[members] = False
        out.append((c, members))
    out.sort(key=lambda cm: -float(w[cm[1]].sum()))
    return out
