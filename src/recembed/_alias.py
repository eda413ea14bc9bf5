"""Walker/Vose alias tables: the one implementation every sampler in recembed draws from.

Node transitions (walk engine), the noise distribution (Word2Vec, EGES), LINE's edge and
negative samplers and Struc2Vec's layer walks all draw in O(1) from these tables: pick
``k`` uniformly, keep it with probability ``prob[k]``, else take ``alias[k]``.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def vose_fill(w, prob, alias):
    """Fill ``prob``/``alias`` (length ``len(w)``) with the alias table of the weights ``w``.

    ``w`` need not be normalised; its sum must be > 0. Scaling happens once, so
    ``P(k) = (prob[k] + sum(1 - prob[j] for alias[j] == k)) / len(w)`` equals ``w[k] / sum(w)``.
    """
    d = len(w)
    total = 0.0
    for i in range(d):
        total += w[i]
    scaled = np.empty(d, dtype=np.float64)
    small = np.empty(d, dtype=np.int64)
    large = np.empty(d, dtype=np.int64)
    ns = 0
    nl = 0
    for i in range(d):
        scaled[i] = w[i] * d / total
        alias[i] = i
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        if scaled[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):  # only rounding leftovers
        prob[small[i]] = 1.0


@njit(cache=True, nogil=True)
def alias_table(w):
    """Alias table ``(prob float64, alias int32)`` of the weights ``w`` (all zeros if they sum to 0).

    >>> import numpy as np
    >>> prob, alias = alias_table(np.array([1.0, 3.0]))
    >>> prob.tolist(), alias.tolist()
    ([0.5, 1.0], [1, 1])
    """
    n = len(w)
    prob = np.zeros(n, dtype=np.float64)
    alias = np.zeros(n, dtype=np.int32)
    total = 0.0
    for i in range(n):
        total += w[i]
    if n > 0 and total > 0:
        vose_fill(w, prob, alias)
    return prob, alias
