"""Random-walk engine: first-order (DeepWalk) and second-order (Node2Vec) walks in numba.

Design
------
* **Storage** is the graph's CSR (sorted rows) plus, for weighted graphs, one alias
  table per node stored as two flat arrays aligned with ``indices`` (``alias_prob``
  float32, ``alias_idx`` int32): O(1) per first-order step, O(E) memory.
* **Node2Vec** (``mode="rejection"``, the default when ``p != 1 or q != 1``) samples the
  second-order step by rejection, as KnightKing does: propose ``x`` from the node's
  first-order alias table, accept with ``alpha(t, x) / M`` where ``alpha`` is ``1/p``
  (return), ``1`` (``t -> x`` is an edge) or ``1/q`` and ``M = max(1, 1/q)``. The return
  edge, whose ``1/p`` can exceed ``M``, gets its own region of the envelope (area
  ``w_vt (1/p - M)``) instead of raising ``M`` for every edge. A proposal whose uniform
  falls under the lower bound ``min(alpha)`` is accepted without looking anything up;
  otherwise "is ``x`` a neighbour of ``t``" is a binary search in ``t``'s sorted row.
  Memory stays O(E); after 64 rejections a step falls back to the exact O(deg) draw, so
  extreme ``p``/``q`` cost time, never a hang (the result is exact either way).
* ``mode="alias"`` precomputes one alias table per *edge* (node2vec's original scheme):
  fastest per step but ``sum_v indeg(v) * outdeg(v)`` entries, so it is guarded by
  ``max_alias_bytes``.
* **Randomness** is a splitmix64 stream per walk, seeded from ``hash(seed, walk index)``:
  the walks do not depend on the number of threads or on the chunk size.
* **Output** goes straight into int32 token arrays (a :class:`~recembed.Corpus`), in
  chunks of walks so memory is bounded; no Python object per walk or per step.
* Walk order: ``walks_per_node`` rounds; each round visits every node once, in an order
  shuffled from ``seed`` (DeepWalk's scheme). A walk stops early at a node without
  out-edges (directed dead end, isolated node).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .._alias import vose_fill as _vose
from .._io import InputError, check_positive
from .._search import find_sorted
from ..data.corpus import Corpus
from ..data.vocab import Vocab

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_INV32 = 1.0 / 4294967296.0
_MAX_TRIES = 64

FIRST_ORDER, REJECTION, ALIAS = 0, 1, 2
_MODES = {"first-order": FIRST_ORDER, "rejection": REJECTION, "alias": ALIAS}


# -- random numbers: splitmix64, one stream per walk ---------------------------------
@njit(cache=True, nogil=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def _next(state):
    state = state + _GOLD
    return state, _mix(state)


@njit(cache=True, nogil=True, inline="always")
def _below(z, n):
    """An index in [0, n) from the high 32 bits of ``z`` (multiply-shift; bias < n / 2**32)."""
    return np.int64(((z >> _S32) * np.uint64(n)) >> _S32)


@njit(cache=True, nogil=True, inline="always")
def _unit(z):
    """A float64 in [0, 1) from the low 32 bits of ``z``."""
    return np.float64(z & _LO32) * _INV32


@njit(cache=True, nogil=True)
def _walk_state(seed_hash, walk_id):
    return _mix(np.uint64(seed_hash) ^ _mix(np.uint64(walk_id) + _GOLD))


# -- alias tables -----------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _row_sums(indptr, weights):
    """Weighted out-degree of every row, in float64, without an E-sized temporary."""
    n = len(indptr) - 1
    out = np.zeros(n, dtype=np.float64)
    for u in range(n):
        acc = 0.0
        for j in range(indptr[u], indptr[u + 1]):
            acc += weights[j]
        out[u] = acc
    return out


@njit(cache=True, nogil=True, parallel=True)
def _node_alias_tables(indptr, weights):
    n = len(indptr) - 1
    prob = np.ones(len(weights), dtype=np.float32)
    alias = np.zeros(len(weights), dtype=np.int32)
    for v in prange(n):
        a, b = indptr[v], indptr[v + 1]
        if b - a > 1:
            _vose(weights[a:b].astype(np.float64), prob[a:b], alias[a:b])
    return prob, alias


@njit(cache=True, nogil=True)
def _edge_alias_sizes(indptr, indices):
    e = len(indices)
    ptr = np.zeros(e + 1, dtype=np.int64)
    for i in range(e):
        v = indices[i]
        ptr[i + 1] = ptr[i] + (indptr[v + 1] - indptr[v])
    return ptr


@njit(cache=True, nogil=True, parallel=True)
def _edge_alias_tables(indptr, indices, weights, eptr, inv_p, inv_q):
    n = len(indptr) - 1
    prob = np.ones(eptr[-1], dtype=np.float32)
    alias = np.zeros(eptr[-1], dtype=np.int32)
    for t in prange(n):
        ta, tb = indptr[t], indptr[t + 1]
        for e in range(ta, tb):
            v = indices[e]
            va, vb = indptr[v], indptr[v + 1]
            d = vb - va
            if d == 0:
                continue
            w = np.empty(d, dtype=np.float64)
            j = ta  # merge-walk t's sorted row alongside v's
            for k in range(d):
                x = indices[va + k]
                while j < tb and indices[j] < x:
                    j += 1
                if x == t:
                    a = inv_p
                elif j < tb and indices[j] == x:
                    a = 1.0
                else:
                    a = inv_q
                w[k] = weights[va + k] * a
            o = eptr[e]
            _vose(w, prob[o:o + d], alias[o:o + d])
    return prob, alias


# -- one step ----------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _first_step(state, v, indptr, weighted, aprob, aidx):
    """Position (in ``indices``) of the next edge from ``v``; -1 at a dead end."""
    a = indptr[v]
    d = indptr[v + 1] - a
    if d == 0:
        return state, -1
    state, z = _next(state)
    k = _below(z, d)
    if weighted and _unit(z) >= aprob[a + k]:
        k = aidx[a + k]
    return state, a + k


@njit(cache=True, nogil=True)
def _n2v_bias(indices, ta, tb, t, x, inv_p, inv_q):
    """node2vec's alpha for stepping to ``x`` after ``t``: 1/p back to t, 1 to t's neighbours, else 1/q."""
    if x == t:
        return inv_p
    if find_sorted(indices, ta, tb, x) >= 0:
        return 1.0
    return inv_q


@njit(cache=True, nogil=True)
def _exact_n2v(state, t, v, indptr, indices, weights, inv_p, inv_q):
    a, b = indptr[v], indptr[v + 1]
    ta, tb = indptr[t], indptr[t + 1]
    total = 0.0
    for k in range(a, b):
        total += weights[k] * _n2v_bias(indices, ta, tb, t, indices[k], inv_p, inv_q)
    state, z = _next(state)
    r = (np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)) * total
    acc = 0.0
    for k in range(a, b):
        acc += weights[k] * _n2v_bias(indices, ta, tb, t, indices[k], inv_p, inv_q)
        if r < acc:
            return state, k
    return state, b - 1


@njit(cache=True, nogil=True)
def _rejection_step(state, t, v, prev_pos, indptr, indices, weights, wsum, weighted, directed, aprob, aidx,
                    inv_p, inv_q, bound, lower):
    """Node2Vec step from ``v`` having come from ``t`` (edge at ``prev_pos``); returns the edge position."""
    a = indptr[v]
    d = indptr[v + 1] - a
    if d == 0:
        return state, -1
    # the return edge's excess over the envelope gets its own region
    extra = 0.0
    back = -1  # position of v -> t in v's row; -2: exists, looked up only if chosen
    if inv_p > bound:
        wvt = 0.0
        if directed:
            back = find_sorted(indices, a, a + d, t)
            if back >= 0:
                wvt = weights[back]
        else:
            wvt = weights[prev_pos]  # undirected: w_vt == w_tv
            back = -2
        extra = wvt * (inv_p - bound)
    ta, tb = indptr[t], indptr[t + 1]
    main = wsum[v] * bound
    for _ in range(_MAX_TRIES):
        if extra > 0.0:
            state, z = _next(state)
            if _unit(z) * (main + extra) < extra:
                if back == -2:
                    back = find_sorted(indices, a, a + d, t)
                return state, back
        state, z = _next(state)
        k = _below(z, d)
        if weighted and _unit(z) >= aprob[a + k]:
            k = aidx[a + k]
        x = indices[a + k]
        state, z = _next(state)
        u = _unit(z) * bound
        if u < lower:
            return state, a + k
        if x == t:
            al = inv_p if inv_p < bound else bound
        elif find_sorted(indices, ta, tb, x) >= 0:
            al = 1.0
        else:
            al = inv_q
        if u < al:
            return state, a + k
    return _exact_n2v(state, t, v, indptr, indices, weights, inv_p, inv_q)


@njit(cache=True, nogil=True, parallel=True)
def _walk_kernel(out, lengths, starts, first_id, walk_length, seed_hash, mode, indptr, indices, weights, wsum,
                 weighted, directed, aprob, aidx, eptr, eprob, ealias, inv_p, inv_q, bound, lower):
    """Walk from ``starts[i]`` into ``out[i * walk_length:]``; the walk's stream is (seed, first_id + i)."""
    n = len(starts)
    for i in prange(n):
        state = _walk_state(seed_hash, first_id + i)
        o = i * walk_length
        v = starts[i]
        out[o] = v
        length = 1
        pos = -1
        t = -1
        while length < walk_length:
            if mode == FIRST_ORDER or length == 1:
                state, nxt = _first_step(state, v, indptr, weighted, aprob, aidx)
            elif mode == REJECTION:
                state, nxt = _rejection_step(state, t, v, pos, indptr, indices, weights, wsum, weighted, directed,
                                             aprob, aidx, inv_p, inv_q, bound, lower)
            else:
                a = indptr[v]
                d = indptr[v + 1] - a
                if d == 0:
                    nxt = -1
                else:
                    e0 = eptr[pos]
                    state, z = _next(state)
                    k = _below(z, d)
                    if _unit(z) >= eprob[e0 + k]:
                        k = ealias[e0 + k]
                    nxt = a + k
            if nxt < 0:
                break
            t = v
            pos = nxt
            v = indices[nxt]
            out[o + length] = v
            length += 1
        lengths[i] = length


@njit(cache=True, nogil=True)
def _compact(out, lengths, walk_length):
    """Move walk ``i`` from ``out[i * walk_length:]`` to right after walk ``i - 1``, in place."""
    w = 0
    for i in range(len(lengths)):
        r = i * walk_length
        for j in range(lengths[i]):
            out[w + j] = out[r + j]
        w += lengths[i]
    return w


@njit(cache=True, nogil=True)
def _count(tokens, n):
    # np.bincount would first copy the int32 tokens to int64 (2x the walks' memory)
    counts = np.zeros(n, dtype=np.int64)
    for t in tokens:
        counts[t] += 1
    return counts


# -- Python surface -----------------------------------------------------------------------
class Walker:
    """Random walks on a :class:`~recembed.graphs.Graph`, written into :class:`~recembed.Corpus` objects.

    Parameters
    ----------
    graph : Graph
    p, q : Node2Vec return and in-out parameters (> 0). ``p = q = 1`` is DeepWalk's walk.
    mode : ``"auto"`` (first order when ``p = q = 1``, else ``"rejection"``), ``"first-order"``,
        ``"rejection"`` (O(E) memory) or ``"alias"`` (per-edge tables, small graphs only).
    max_alias_bytes : refuse ``mode="alias"`` when its tables would need more than this.

    Attributes
    ----------
    mode_ : the mode used; ``alias_bytes_`` : bytes of sampling tables held.

    Examples
    --------
    >>> from recembed.graphs import Graph
    >>> g = Graph.from_edges(["a", "b", "c"], ["b", "c", "a"])
    >>> corpus = Walker(g, p=0.5, q=2).walks(walks_per_node=2, walk_length=5, seed=1)
    >>> len(corpus), corpus.n_tokens, sorted(corpus.vocab.keys.tolist())
    (6, 30, ['a', 'b', 'c'])
    """

    def __init__(self, graph, p: float = 1.0, q: float = 1.0, mode: str = "auto", max_alias_bytes: int = 2**30):
        check_positive("p", p)
        check_positive("q", q)
        if mode not in ("auto", *_MODES):
            raise InputError(f"mode must be 'auto', 'first-order', 'rejection' or 'alias', got {mode!r}")
        if graph.n_nodes == 0 or len(graph.indices) == 0:
            raise InputError("the graph has no edges: nothing to walk on")
        self.graph = graph
        self.p, self.q = float(p), float(q)
        if mode == "auto":
            mode = "first-order" if p == 1 and q == 1 else "rejection"
        if mode == "first-order" and not (p == 1 and q == 1):
            raise InputError(f"mode='first-order' ignores p and q; got p={p}, q={q} (use 'rejection' or 'alias')")
        self.mode_ = mode
        g = graph
        self._aprob = np.ones(0, dtype=np.float32)
        self._aidx = np.zeros(0, dtype=np.int32)
        if g.weighted:
            self._aprob, self._aidx = _node_alias_tables(g.indptr, g.weights)
        self._wsum = _row_sums(g.indptr, g.weights)
        self._eptr = np.zeros(1, dtype=np.int64)
        self._eprob = np.ones(0, dtype=np.float32)
        self._ealias = np.zeros(0, dtype=np.int32)
        if mode == "alias":
            eptr = _edge_alias_sizes(g.indptr, g.indices)
            need = int(eptr[-1]) * 8 + eptr.nbytes
            if need > max_alias_bytes:
                raise InputError(f"mode='alias' needs {need / 2**20:.1f} MiB of per-edge alias tables "
                                 f"(max_alias_bytes={max_alias_bytes / 2**20:.1f} MiB); use mode='rejection'")
            self._eptr = eptr
            self._eprob, self._eidx = _edge_alias_tables(g.indptr, g.indices, g.weights, eptr, 1.0 / self.p,
                                                         1.0 / self.q)
            self._ealias = self._eidx
        self.alias_bytes_ = (self._aprob.nbytes + self._aidx.nbytes + self._wsum.nbytes + self._eptr.nbytes
                             + self._eprob.nbytes + self._ealias.nbytes)

    @property
    def _mode_code(self) -> int:
        return _MODES[self.mode_]

    def _run(self, out, lengths, starts, first_id, walk_length, seed_hash):
        g = self.graph
        inv_p, inv_q = 1.0 / self.p, 1.0 / self.q
        bound = max(1.0, inv_q)
        lower = min(1.0, inv_q, min(inv_p, bound))
        _walk_kernel(out, lengths, starts, np.int64(first_id), np.int64(walk_length), seed_hash, self._mode_code,
                     g.indptr, g.indices, g.weights, self._wsum, g.weighted, g.directed, self._aprob, self._aidx,
                     self._eptr, self._eprob, self._ealias, inv_p, inv_q, bound, lower)

    def _plan(self, walks_per_node, walk_length, seed, chunk_size):
        check_positive("walks_per_node", walks_per_node, integer=True)
        check_positive("walk_length", walk_length, integer=True)
        if chunk_size is None:
            chunk_size = max(1, (1 << 23) // walk_length)  # ~32 MiB of int32 tokens per chunk
        check_positive("chunk_size", chunk_size, integer=True)
        # numba returns a Python int; keep it uint64 so the kernel does unsigned arithmetic
        seed_hash = np.uint64(_mix(np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF) ^ np.uint64(0x5EED)))
        return int(chunk_size), seed_hash

    def _starts(self, walks_per_node, seed):
        """Per round, every node once in a shuffled order (one permutation in memory at a time)."""
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x57A27])
        n = self.graph.n_nodes
        for r in range(walks_per_node):
            yield r * n, rng.permutation(n).astype(np.int32)

    def iter_walks(self, walks_per_node: int = 10, walk_length: int = 80, seed: int = 1, chunk_size: int | None = None,
                   threads: int | None = None):
        """Yield :class:`~recembed.Corpus` chunks of at most ``chunk_size`` walks each.

        Each chunk's vocabulary is the graph's (every node, counts = occurrences in the chunk).
        """
        chunk_size, seed_hash = self._plan(walks_per_node, walk_length, seed, chunk_size)
        keys = self.graph.vocab.keys
        for base, perm in self._starts(walks_per_node, seed):
            for c in range(0, len(perm), chunk_size):
                starts = perm[c:c + chunk_size]
                out = np.empty(len(starts) * walk_length, dtype=np.int32)
                lengths = np.empty(len(starts), dtype=np.int64)
                with _threads(threads):
                    self._run(out, lengths, starts, base + c, walk_length, seed_hash)
                yield _to_corpus(out, lengths, walk_length, keys)

    def walks(self, walks_per_node: int = 10, walk_length: int = 80, seed: int = 1, chunk_size: int | None = None,
              threads: int | None = None) -> Corpus:
        """All walks in one :class:`~recembed.Corpus` (same walks as :meth:`iter_walks`, concatenated).

        Writes into one preallocated ``n_nodes * walks_per_node * walk_length`` int32 buffer.
        """
        chunk_size, seed_hash = self._plan(walks_per_node, walk_length, seed, chunk_size)
        n = self.graph.n_nodes
        total = n * walks_per_node
        out = np.empty(total * walk_length, dtype=np.int32)
        lengths = np.empty(total, dtype=np.int64)
        with _threads(threads):
            for base, perm in self._starts(walks_per_node, seed):
                for c in range(0, n, chunk_size):
                    starts = perm[c:c + chunk_size]
                    lo = base + c
                    self._run(out[lo * walk_length:(lo + len(starts)) * walk_length], lengths[lo:lo + len(starts)],
                              starts, lo, walk_length, seed_hash)
        return _to_corpus(out, lengths, walk_length, self.graph.vocab.keys)


def _to_corpus(out, lengths, walk_length, keys) -> Corpus:
    if len(lengths) and lengths.min() < walk_length:
        used = _compact(out, lengths, walk_length)
        out = out[:used].copy() if used < 0.9 * len(out) else out[:used]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    counts = _count(out, len(keys))
    return Corpus(out, offsets, Vocab(keys, counts))


class _threads:
    """Temporarily set numba's thread count (``None``: leave it)."""

    def __init__(self, threads):
        if threads is not None:
            check_positive("threads", threads, integer=True)
        self.threads = threads

    def __enter__(self):
        if self.threads is not None:
            self.old = numba.get_num_threads()
            numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))

    def __exit__(self, *exc):
        if self.threads is not None:
            numba.set_num_threads(self.old)


def random_walks(graph, walks_per_node: int = 10, walk_length: int = 80, p: float = 1.0, q: float = 1.0,
                 seed: int = 1, mode: str = "auto", threads: int | None = None, chunk_size: int | None = None) -> Corpus:
    """Walks on ``graph`` as one :class:`~recembed.Corpus` (see :class:`Walker`).

    Examples
    --------
    >>> from recembed.graphs import Graph
    >>> g = Graph.from_edges(["a", "b"], ["b", "c"])
    >>> c = random_walks(g, walks_per_node=1, walk_length=3, seed=7)
    >>> len(c), all(len(w) == 3 for w in c)
    (3, True)
    """
    return Walker(graph, p=p, q=q, mode=mode).walks(walks_per_node, walk_length, seed, chunk_size, threads)
