"""Numba kernels for structural graph embeddings (Struc2Vec) and helpers shared by LINE/SDNE.

Everything works on CSR arrays (``indptr`` int64, ``indices`` int32, ``weights``
float32); no Python object is touched per node or per edge in a hot loop.

Contents
--------
- :func:`graph_arrays` -- any accepted graph input (a :class:`recembed.graphs.graph.Graph`,
  an edge-list path, a networkx graph) to CSR arrays plus node keys.
- :func:`alias_setup` / :func:`alias_draw` -- Walker/Vose alias tables (O(1) draws).
- :func:`ring_degree_sequences` -- ordered degree sequences of the k-hop rings of every
  node (one BFS per node, parallel), optionally run-length compressed (struc2vec OPT1).
- :func:`dtw` -- exact dynamic time warping with the struc2vec cost
  ``max(a, b) / min(a, b) - 1`` (times ``max(count_a, count_b)`` for compressed sequences).
- :func:`candidate_pairs` -- pairs to compare: all, or ~2 log2 n nearest-degree nodes (OPT2).
- :func:`structural_distances` -- cumulative distances ``f_k(u, v)`` per layer.
- :func:`build_multilayer` / :func:`multilayer_walks` -- the struc2vec context graph and its
  biased walks (seeded per walk, so results do not depend on the thread count).

Examples
--------
>>> import numpy as np
>>> indptr = np.array([0, 1, 3, 4], dtype=np.int64)      # path 0 - 1 - 2
>>> indices = np.array([1, 0, 2, 1], dtype=np.int32)
>>> rings = ring_degree_sequences(indptr, indices, max_layer=2, compress=False)
>>> [rings.sequence(1, k)[0].tolist() for k in range(rings.n_layers[1])]
[[2.0], [1.0, 1.0]]
>>> float(dtw(np.array([1.0, 2.0]), np.ones(2), np.array([2.0]), np.ones(1)))
1.0
"""
from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from .._alias import alias_table as alias_setup  # noqa: F401  (re-exported: LINE, walks here)
from .._io import InputError, check_readable
from ..data.vocab import Vocab

# --------------------------------------------------------------------------------------
# graph input
# --------------------------------------------------------------------------------------


@dataclass
class CSRGraph:
    """Plain CSR view of a graph: row ``u`` holds ``indices[indptr[u]:indptr[u+1]]``.

    An undirected graph stores each edge in both rows.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    keys: np.ndarray
    directed: bool

    @property
    def n_nodes(self) -> int:
        return len(self.indptr) - 1

    @property
    def n_arcs(self) -> int:
        return len(self.indices)


def _csr_from_edges(src, dst, w, n, directed):
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    if not directed:
        loop = src == dst
        src, dst, w = (np.concatenate([src, dst[~loop]]), np.concatenate([dst, src[~loop]]),
                       np.concatenate([w, w[~loop]]))
    order = np.lexsort((dst, src))
    src, dst, w = src[order], dst[order], w[order]
    if len(src):  # merge duplicate arcs by summing weights
        new = np.ones(len(src), dtype=bool)
        new[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        grp = np.cumsum(new) - 1
        w = np.bincount(grp, weights=w)
        src, dst = src[new], dst[new]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst.astype(np.int32), w.astype(np.float32)


def _read_edgelist(path, directed, weighted):
    """Fallback edge-list reader (``u v [w]`` per line, ``#`` comments)."""
    p = check_readable(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"not valid UTF-8 ({e.reason})", p) from None
    us, vs, ws = [], [], []
    ncols = None
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) not in (2, 3):
            raise InputError(f"expected 'u v' or 'u v weight', found {len(parts)} fields", p, lineno)
        if ncols is None:
            ncols = len(parts)
        us.append(parts[0])
        vs.append(parts[1])
        if len(parts) == 3 and weighted is not False:
            try:
                wt = float(parts[2])
            except ValueError:
                raise InputError(f"edge weight {parts[2]!r} is not a number", p, lineno) from None
            if not (wt > 0 and math.isfinite(wt)):
                raise InputError(f"edge weight must be a finite number > 0, got {parts[2]}", p, lineno)
            ws.append(wt)
        else:
            if weighted and len(parts) == 2:
                raise InputError("weighted=True but the line has no weight", p, lineno)
            ws.append(1.0)
    if not us:
        raise InputError("no edges in file", p)
    vocab, codes = Vocab.encode_new(np.asarray(us + vs, dtype=object))
    n = len(vocab)
    m = len(us)
    indptr, indices, weights = _csr_from_edges(codes[:m], codes[m:], ws, n, directed)
    return CSRGraph(indptr, indices, weights, vocab.keys, bool(directed))


def graph_arrays(graph, directed: bool = False, weighted=None) -> CSRGraph:
    """CSR arrays and node keys of ``graph``.

    Parameters
    ----------
    graph : a ``recembed.graphs.graph.Graph`` (anything with ``indptr``, ``indices``,
        ``weights``, ``vocab`` and ``directed``), a path to an edge list (``u v [weight]`` per
        line), or a networkx graph.
    directed, weighted : how to read a path (ignored for graph objects, which carry their own).

    Raises
    ------
    InputError
        Missing/empty/malformed file, or a graph without edges.
    """
    if isinstance(graph, CSRGraph):
        out = graph
    elif isinstance(graph, (str, os.PathLike)):
        try:
            from .graph import Graph  # the shared loader, when present
        except ImportError:
            out = _read_edgelist(graph, directed, weighted)
        else:
            out = graph_arrays(Graph.from_edgelist(graph, directed=directed, weighted=weighted))
    elif all(hasattr(graph, a) for a in ("indptr", "indices", "vocab")):
        w = getattr(graph, "weights", None)
        indices = np.ascontiguousarray(graph.indices, dtype=np.int32)
        w = np.ones(len(indices), np.float32) if w is None else np.ascontiguousarray(w, dtype=np.float32)
        out = CSRGraph(np.ascontiguousarray(graph.indptr, dtype=np.int64), indices, w,
                       np.asarray(graph.vocab.keys, dtype=object), bool(getattr(graph, "directed", False)))
    elif hasattr(graph, "edges") and hasattr(graph, "nodes") and hasattr(graph, "is_directed"):
        nodes = list(graph.nodes())
        keys = np.asarray([str(k) for k in nodes], dtype=object)
        index = {k: i for i, k in enumerate(nodes)}
        edges = list(graph.edges(data="weight", default=1.0))
        src = np.fromiter((index[e[0]] for e in edges), dtype=np.int64, count=len(edges))
        dst = np.fromiter((index[e[1]] for e in edges), dtype=np.int64, count=len(edges))
        w = np.fromiter((float(e[2]) for e in edges), dtype=np.float64, count=len(edges))
        d = bool(graph.is_directed())
        indptr, indices, weights = _csr_from_edges(src, dst, w, len(nodes), d)
        out = CSRGraph(indptr, indices, weights, keys, d)
    else:
        raise InputError(f"expected a Graph, an edge-list path or a networkx graph, got {type(graph).__name__}")
    if out.n_nodes == 0 or out.n_arcs == 0:
        raise InputError("graph has no edges")
    if not np.all(np.isfinite(out.weights)) or np.any(out.weights <= 0):
        raise InputError("edge weights must be finite and > 0")
    return out


def _arcs_without_loops(g: CSRGraph) -> tuple[np.ndarray, np.ndarray]:
    """``(src, dst)`` of every arc of ``g`` between distinct nodes (duplicates kept)."""
    src = np.repeat(np.arange(g.n_nodes, dtype=np.int64), np.diff(g.indptr))
    dst = g.indices.astype(np.int64)
    keep = src != dst
    return src[keep], dst[keep]


def arc_degrees(g: CSRGraph) -> tuple[np.ndarray, np.ndarray]:
    """Out- and in-degrees of ``g`` counted over distinct arcs between distinct nodes."""
    n = g.n_nodes
    src, dst = _arcs_without_loops(g)
    key = np.unique(src * n + dst)
    return np.bincount(key // n, minlength=n), np.bincount(key % n, minlength=n)


def simple_undirected(g: CSRGraph) -> CSRGraph:
    """Structure only: symmetrised, self-loops and duplicate arcs dropped, weights 1."""
    n = g.n_nodes
    src, dst = _arcs_without_loops(g)
    indptr, indices, _ = _csr_from_edges(src, dst, np.ones(len(src)), n, directed=False)
    # _csr_from_edges symmetrises; a pair given in both directions is merged, weights dropped
    return CSRGraph(indptr, indices, np.ones(len(indices), np.float32), g.keys, False)


@contextlib.contextmanager
def numba_threads(threads: int):
    """Run the block with ``threads`` numba threads (clipped to what numba has)."""
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)


# --------------------------------------------------------------------------------------
# random numbers and alias tables
# --------------------------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MUL = np.uint64(0x2545F4914F6CDD1D)


@njit(cache=True, nogil=True, inline="always")
def seed_state(seed, stream):
    """A nonzero xorshift64* state for (seed, stream), mixed by splitmix64."""
    z = np.uint64(seed) * _GOLDEN + np.uint64(stream) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    if z == np.uint64(0):
        z = _GOLDEN
    return z


@njit(cache=True, nogil=True, inline="always")
def next_state(s):
    s ^= s >> np.uint64(12)
    s ^= s << np.uint64(25)
    s ^= s >> np.uint64(27)
    return s


@njit(cache=True, nogil=True, inline="always")
def uniform(s):
    """A float in [0, 1) from state ``s`` (53 random bits)."""
    return np.float64((s * _MUL) >> np.uint64(11)) * (1.0 / 9007199254740992.0)



@njit(cache=True, nogil=True, inline="always")
def alias_draw(prob, alias, start, n, u):
    """Draw from the alias table ``prob/alias[start:start+n]`` with one uniform ``u``."""
    x = u * n
    k = int(x)
    if k >= n:
        k = n - 1
    if x - k < prob[start + k]:
        return k
    return alias[start + k]


@njit(cache=True, nogil=True)
def alias_setup_rows(indptr, weights):
    """One alias table per CSR row (indices local to the row)."""
    prob = np.empty(len(weights), dtype=np.float64)
    alias = np.empty(len(weights), dtype=np.int32)
    for u in range(len(indptr) - 1):
        a, b = indptr[u], indptr[u + 1]
        if b > a:
            p, al = alias_setup(weights[a:b])
            prob[a:b] = p
            alias[a:b] = al
    return prob, alias


# --------------------------------------------------------------------------------------
# ring degree sequences
# --------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _bfs_rings(indptr, indices, root, cap, dist, queue):
    """BFS from ``root`` up to depth ``cap``; fills ``queue[:count]`` in level order.

    Returns ``(count, level_end)`` where ``level_end[k]`` is the end of level ``k`` in ``queue``.
    ``dist`` must be all -1 on entry and is restored before return.
    """
    level_end = np.empty(cap + 1, dtype=np.int64)
    queue[0] = root
    dist[root] = 0
    head = 0
    tail = 1
    depth = 0
    n_levels = 0
    while head < tail:
        level_stop = tail
        while head < level_stop:
            v = queue[head]
            head += 1
            if depth < cap:
                for j in range(indptr[v], indptr[v + 1]):
                    w = indices[j]
                    if dist[w] < 0:
                        dist[w] = depth + 1
                        queue[tail] = w
                        tail += 1
        level_end[n_levels] = level_stop
        n_levels += 1
        depth += 1
        if depth > cap:
            break
    for i in range(tail):
        dist[queue[i]] = -1
    return n_levels, level_end[:n_levels].copy(), tail


@njit(cache=True, nogil=True, parallel=True)
def _eccentricity(indptr, indices, nt):
    n = len(indptr) - 1
    ecc = np.zeros(n, dtype=np.int64)
    chunk = (n + nt - 1) // nt
    for t in prange(nt):
        dist = np.full(n, -1, dtype=np.int64)
        queue = np.empty(n, dtype=np.int32)
        for r in range(t * chunk, min(n, (t + 1) * chunk)):
            nl, _, _ = _bfs_rings(indptr, indices, r, n, dist, queue)
            ecc[r] = nl - 1
    return ecc


@njit(cache=True, nogil=True)
def _ring_sorted_degrees(degree, queue, a, b, buf):
    m = b - a
    for i in range(m):
        buf[i] = degree[queue[a + i]]
    s = np.sort(buf[:m])
    return s


@njit(cache=True, nogil=True)
def _ring_runs(s, compress, write, deg_out, cnt_out, o):
    # the sorted ring s as (degree, count) runs (compress) or one entry per node; returns how
    # many, and writes them from o only when asked: one pass sizes the output, the next fills it
    j = 0
    for i in range(len(s)):
        if compress and i > 0 and s[i] == s[i - 1]:
            if write:
                cnt_out[o + j - 1] += 1
        else:
            if write:
                deg_out[o + j] = s[i]
                cnt_out[o + j] = 1
            j += 1
    return j


@njit(cache=True, nogil=True, parallel=True)
def _ring_pass(indptr, indices, degree_sets, cap, compress, write, lens, nlev, seq_ptr, deg_out, cnt_out, nt):
    # One BFS per root serves every row of degree_sets (directed graphs: out- and in-degrees).
    # write=False fills lens (entries per ring) and nlev; write=True the runs at seq_ptr.
    n = len(indptr) - 1
    m = degree_sets.shape[0]
    chunk = (n + nt - 1) // nt
    for t in prange(nt):
        dist = np.full(n, -1, dtype=np.int64)
        queue = np.empty(n, dtype=np.int32)
        buf = np.empty(n, dtype=np.int64)
        for r in range(t * chunk, min(n, (t + 1) * chunk)):
            nl, level_end, _ = _bfs_rings(indptr, indices, r, cap, dist, queue)
            nlev[r] = nl
            start = 0
            for k in range(nl):
                stop = level_end[k]
                for d in range(m):
                    if compress or write:
                        s = _ring_sorted_degrees(degree_sets[d], queue, start, stop, buf)
                        o = seq_ptr[d, r, k] if write else 0
                        lens[d, r, k] = _ring_runs(s, compress, write, deg_out, cnt_out, o)
                    else:
                        lens[d, r, k] = stop - start
                start = stop


@dataclass
class RingSequences:
    """Ordered degree sequences of the rings around every node.

    ``sequence(u, k)`` gives ``(degrees, counts)`` of the nodes at distance exactly ``k``
    from ``u`` (sorted by degree; counts all 1 unless compressed). ``n_layers[u]`` is the
    number of nonempty rings kept for ``u`` (at most ``max_layer + 1``).
    """

    seq_ptr: np.ndarray  # (n, cap + 2) int64 offsets into degrees/counts
    degrees: np.ndarray  # float64
    counts: np.ndarray   # float64
    n_layers: np.ndarray  # int32
    compressed: bool

    def sequence(self, u: int, k: int):
        a, b = self.seq_ptr[u, k], self.seq_ptr[u, k + 1]
        if k >= self.n_layers[u]:
            a = b
        return self.degrees[a:b], self.counts[a:b]

    @property
    def nbytes(self) -> int:
        return self.seq_ptr.nbytes + self.degrees.nbytes + self.counts.nbytes + self.n_layers.nbytes


_DEEP_LAYERS = 16  # a max_layer above this is capped at the graph's largest eccentricity


def ring_degree_sequences(indptr, indices, max_layer=None, compress=True, degrees=None) -> RingSequences:
    """Ordered degree sequences of the k-hop rings of every node (k = 0..max_layer).

    ``indptr``/``indices`` must be a simple undirected CSR graph (see :func:`simple_undirected`):
    its hops define the rings. The value sorted in each ring is ``degrees[v]`` (default: the
    row length, the node's degree). ``max_layer=None`` keeps every ring (up to the largest
    eccentricity), and so does a ``max_layer`` beyond it (checked when it is above 16). With
    ``compress`` (struc2vec OPT1) each ring becomes sorted ``(degree, count)`` runs. To sort
    several degree arrays over the same rings, use :func:`ring_degree_sequence_sets`.
    """
    degrees = np.diff(np.asarray(indptr)) if degrees is None else degrees
    return ring_degree_sequence_sets(indptr, indices, [degrees], max_layer, compress)[0]


def ring_degree_sequence_sets(indptr, indices, degree_sets, max_layer=None, compress=True) -> list:
    """One :class:`RingSequences` per array in ``degree_sets``, all from one BFS per node.

    A directed graph passes its out- and in-degrees here: the rings (hops in the undirected
    skeleton) are found once and each ring is sorted by both values.
    """
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    n = len(indptr) - 1
    if len(degree_sets) == 0:
        raise ValueError("degree_sets is empty: pass at least one degree array")
    raw = [np.asarray(d) for d in degree_sets]
    if any(d.dtype.kind not in "iub" for d in raw):
        raise ValueError("degree arrays must hold integers (the rings are sorted by them)")
    sets = np.ascontiguousarray(np.stack(raw), dtype=np.int64)
    if sets.ndim != 2 or sets.shape[1] != n:
        raise ValueError(f"each degree array needs {n} entries (one per node), got shape {sets.shape[1:]}")
    cap = None if max_layer is None else min(int(max_layer), max(n - 1, 0))  # no ring is deeper than n - 1
    if cap is None or cap > _DEEP_LAYERS:
        # the offset table holds n x (cap + 2) entries per set: a deep cap pays one BFS pass to
        # size it to the graph's largest eccentricity instead
        ecc = int(_eccentricity(indptr, indices, numba.get_num_threads()).max()) if n > 0 else 0
        cap = ecc if cap is None else min(cap, ecc)
    m = len(sets)
    nt = numba.get_num_threads()
    lens = np.zeros((m, n, cap + 1), dtype=np.int64)
    nlev = np.zeros(n, dtype=np.int32)
    _ring_pass(indptr, indices, sets, cap, bool(compress), False, lens, nlev,
               np.zeros((1, 1, 1), dtype=np.int64), np.empty(0), np.empty(0), nt)
    flat = np.zeros(lens.size + 1, dtype=np.int64)
    np.cumsum(lens.ravel(), out=flat[1:])
    seq_ptr = np.empty((m, n, cap + 2), dtype=np.int64)
    seq_ptr[:, :, : cap + 1] = flat[:-1].reshape(m, n, cap + 1)
    seq_ptr[:, :, cap + 1] = flat[1:].reshape(m, n, cap + 1)[:, :, cap]
    deg = np.empty(int(flat[-1]), dtype=np.float64)
    cnt = np.empty(int(flat[-1]), dtype=np.float64)
    _ring_pass(indptr, indices, sets, cap, bool(compress), True, lens, nlev, seq_ptr, deg, cnt, nt)
    out = []
    for d in range(m):
        # each set's runs are one contiguous block of the flat arrays (set-major order)
        lo, hi = int(flat[d * n * (cap + 1)]), int(flat[(d + 1) * n * (cap + 1)])
        out.append(RingSequences(seq_ptr[d] - lo, deg[lo:hi], cnt[lo:hi], nlev, bool(compress)))
    return out


# --------------------------------------------------------------------------------------
# DTW and structural distances
# --------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _cost(a, b):
    hi = a if a > b else b
    lo = b if a > b else a
    if lo <= 0.0:  # an isolated node (degree 0): shift both by one
        return (hi + 1.0) / (lo + 1.0) - 1.0
    return hi / lo - 1.0


@njit(cache=True, nogil=True)
def dtw_buffered(da, ca, db, cb, row):
    """Exact DTW of two (degree, count) sequences; ``row`` is scratch of len >= len(db) + 1.

    Cost of aligning ``i`` with ``j``: ``(max/min - 1) * max(ca[i], cb[j])`` (plain
    ``max/min - 1`` when all counts are 1).
    """
    m = len(db)
    inf = np.inf
    row[0] = 0.0
    for j in range(1, m + 1):
        row[j] = inf
    for i in range(len(da)):
        diag = row[0]
        row[0] = inf
        for j in range(1, m + 1):
            c = _cost(da[i], db[j - 1])
            w = ca[i] if ca[i] > cb[j - 1] else cb[j - 1]
            best = diag
            if row[j] < best:
                best = row[j]
            if row[j - 1] < best:
                best = row[j - 1]
            diag = row[j]
            row[j] = c * w + best
    return row[m]


@njit(cache=True, nogil=True)
def dtw(da, ca, db, cb):
    """Exact DTW distance of two degree sequences with counts (see :func:`dtw_buffered`)."""
    row = np.empty(len(db) + 1, dtype=np.float64)
    return dtw_buffered(da, ca, db, cb, row)


def candidate_pairs(degrees, opt2=True, n_candidates=None, seed=0):
    """Unordered node pairs ``(u, v)``, ``u < v``, whose structural distance is computed.

    With ``opt2`` each node is paired with the ``n_candidates`` (default ``ceil(2 log2 n)``)
    nodes closest to it in degree, taken from the sorted degree list (ties: ``k`` drawn at random
    among the nodes of equal degree, with ``seed``); otherwise all pairs.
    Returns an ``(m, 2)`` int32 array sorted by ``(u, v)``.
    """
    degrees = np.asarray(degrees, dtype=np.int64)
    n = len(degrees)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int32)
    if not opt2:
        u, v = np.triu_indices(n, 1)
        return np.stack([u, v], 1).astype(np.int32)
    k = int(n_candidates) if n_candidates else int(math.ceil(2 * math.log2(n)))
    k = max(1, min(k, n - 1))
    order = np.argsort(degrees, kind="stable").astype(np.int64)
    pairs = _nearest_degree(order, degrees[order], k, np.uint64(seed))
    lo = np.minimum(pairs[:, 0], pairs[:, 1])
    hi = np.maximum(pairs[:, 0], pairs[:, 1])
    key = np.unique(lo * n + hi)
    return np.stack([key // n, key % n], 1).astype(np.int32)


@njit(cache=True, nogil=True)
def _nearest_degree(order, sdeg, k, seed):
    """For each node, ``k`` partners nearest in degree.

    Nodes of the node's own degree come first; when there are more than ``k`` of them, ``k``
    are drawn at random (seeded per node), so that a large class of equal degree is joined
    like a random graph rather than a band of neighbouring ids; then the block is extended
    outwards by degree difference.
    """
    n = len(order)
    out = np.empty((n * k, 2), dtype=np.int64)
    m = 0
    lo_of = np.empty(n, dtype=np.int64)
    hi_of = np.empty(n, dtype=np.int64)
    a = 0
    while a < n:
        b = a
        while b < n and sdeg[b] == sdeg[a]:
            b += 1
        for i in range(a, b):
            lo_of[i] = a
            hi_of[i] = b
        a = b
    for p in range(n):
        lo = lo_of[p]
        hi = hi_of[p]
        same = hi - lo - 1
        if same >= k:
            # k distinct random members of the block other than p (Floyd's algorithm)
            s = seed_state(seed, p)
            picked = np.empty(k, dtype=np.int64)
            for j in range(same - k, same):
                s = next_state(s)
                t = int(uniform(s) * (j + 1))
                if t > j:
                    t = j
                found = False
                for q in range(j - (same - k)):
                    if picked[q] == t:
                        found = True
                        break
                picked[j - (same - k)] = j if found else t
            for q in range(k):
                idx = picked[q]
                pos = lo + idx
                if pos >= p:
                    pos += 1
                out[m, 0] = order[p]
                out[m, 1] = order[pos]
                m += 1
            continue
        for pos in range(lo, hi):
            if pos != p:
                out[m, 0] = order[p]
                out[m, 1] = order[pos]
                m += 1
        left = lo - 1
        right = hi
        d = sdeg[p]
        for _ in range(k - same):
            if left < 0 and right >= n:
                break
            if left < 0:
                q = right
                right += 1
            elif right >= n:
                q = left
                left -= 1
            elif d - sdeg[left] <= sdeg[right] - d:
                q = left
                left -= 1
            else:
                q = right
                right += 1
            out[m, 0] = order[p]
            out[m, 1] = order[q]
            m += 1
    return out[:m]


@njit(cache=True, nogil=True, parallel=True)
def _pair_distances(pairs, seq_ptr, deg, cnt, nlev, cap, maxlen, nt):
    m = len(pairs)
    dist = np.full((m, cap + 1), np.inf, dtype=np.float64)
    chunk = (m + nt - 1) // nt
    for t in prange(nt):
        row = np.empty(maxlen + 1, dtype=np.float64)
        for p in range(t * chunk, min(m, (t + 1) * chunk)):
            u = pairs[p, 0]
            v = pairs[p, 1]
            L = min(nlev[u], nlev[v], cap + 1)
            acc = 0.0
            for k in range(L):
                a0, a1 = seq_ptr[u, k], seq_ptr[u, k + 1]
                b0, b1 = seq_ptr[v, k], seq_ptr[v, k + 1]
                acc += dtw_buffered(deg[a0:a1], cnt[a0:a1], deg[b0:b1], cnt[b0:b1], row)
                dist[p, k] = acc
    return dist


def structural_distances(rings, pairs) -> np.ndarray:
    """``f_k(u, v)`` for every pair and layer: cumulative DTW over rings 0..k.

    ``rings``: one :class:`RingSequences`, or several over the same rings (a directed graph's
    out- and in-degree sequences), whose distances are averaged.
    Returns an ``(n_pairs, K + 1)`` float64 array, ``K`` the rings' depth cap (``max_layer``,
    at most ``n - 1``), ``inf`` where a node of the pair has no ring ``k``.
    """
    if not isinstance(rings, RingSequences):
        return sum(structural_distances(r, pairs) for r in rings) / len(rings)
    cap = rings.seq_ptr.shape[1] - 2
    maxlen = int(np.max(np.diff(rings.seq_ptr, axis=1))) if rings.seq_ptr.size else 0
    return _pair_distances(np.ascontiguousarray(pairs, dtype=np.int64), rings.seq_ptr, rings.degrees,
                           rings.counts, rings.n_layers, cap, max(maxlen, 1), numba.get_num_threads())


# --------------------------------------------------------------------------------------
# multilayer context graph and walks
# --------------------------------------------------------------------------------------


@dataclass
class MultilayerGraph:
    """The struc2vec context graph: one weighted CSR graph per layer plus layer-move odds.

    Layer ``k`` has edge weights ``exp(-f_k(u, v))``; ``p_up[k, u]`` is the probability of
    moving up (``log(Γ_k(u) + e)`` against a weight of 1 for moving down); rows are
    stacked so that layer ``k``, node ``u`` owns ``indptr[k, u]:indptr[k, u + 1]``.
    """

    indptr: np.ndarray   # (n_layers, n + 1) int64 global offsets
    indices: np.ndarray  # int32
    prob: np.ndarray     # float64 alias probabilities
    alias: np.ndarray    # int32 alias targets (local to the row)
    p_up: np.ndarray     # (n_layers, n) float64

    @property
    def n_layers(self) -> int:
        return self.indptr.shape[0]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.indptr, self.indices, self.prob, self.alias, self.p_up))


@njit(cache=True, nogil=True)
def _build_layers(pairs, dist, n):
    m, L = dist.shape
    deg = np.zeros((L, n), dtype=np.int64)
    total_w = np.zeros(L, dtype=np.float64)
    n_edges = np.zeros(L, dtype=np.int64)
    for p in range(m):
        for k in range(L):
            if np.isfinite(dist[p, k]):
                deg[k, pairs[p, 0]] += 1
                deg[k, pairs[p, 1]] += 1
                total_w[k] += math.exp(-dist[p, k])
                n_edges[k] += 1
    indptr = np.zeros((L, n + 1), dtype=np.int64)
    off = 0
    for k in range(L):
        for u in range(n):
            indptr[k, u] = off
            off += deg[k, u]
        indptr[k, n] = off
    indices = np.empty(off, dtype=np.int32)
    weights = np.empty(off, dtype=np.float64)
    fill = np.zeros((L, n), dtype=np.int64)
    for p in range(m):
        u = pairs[p, 0]
        v = pairs[p, 1]
        for k in range(L):
            if np.isfinite(dist[p, k]):
                w = math.exp(-dist[p, k])
                a = indptr[k, u] + fill[k, u]
                indices[a] = v
                weights[a] = w
                fill[k, u] += 1
                b = indptr[k, v] + fill[k, v]
                indices[b] = u
                weights[b] = w
                fill[k, v] += 1
    # layer-move odds: Γ_k(u) = edges of u heavier than the layer's mean edge weight
    p_up = np.zeros((L, n), dtype=np.float64)
    for k in range(L):
        avg = total_w[k] / n_edges[k] if n_edges[k] > 0 else 0.0
        for u in range(n):
            g = 0
            for j in range(indptr[k, u], indptr[k, u + 1]):
                if weights[j] > avg:
                    g += 1
            x = math.log(g + math.e)
            p_up[k, u] = x / (x + 1.0)
    prob = np.empty(off, dtype=np.float64)
    alias = np.empty(off, dtype=np.int32)
    for k in range(L):
        for u in range(n):
            a, b = indptr[k, u], indptr[k, u + 1]
            if b > a:
                pr, al = alias_setup(weights[a:b])
                prob[a:b] = pr
                alias[a:b] = al
    return indptr, indices, prob, alias, p_up


def build_multilayer(pairs, dist, n_nodes) -> MultilayerGraph:
    """The multilayer context graph from candidate ``pairs`` and their distances ``dist``.

    A layer with no finite distance at all is dropped (it could not be walked).
    """
    dist = np.ascontiguousarray(dist, dtype=np.float64)
    keep = np.isfinite(dist).any(axis=0) if dist.size else np.zeros(dist.shape[1], bool)
    if dist.shape[1] and not keep[0]:
        keep[:] = False
    last = int(np.argmin(keep)) if not keep.all() else dist.shape[1]
    dist = np.ascontiguousarray(dist[:, : max(last, 1)])
    indptr, indices, prob, alias, p_up = _build_layers(np.ascontiguousarray(pairs, dtype=np.int64), dist, n_nodes)
    return MultilayerGraph(indptr, indices, prob, alias, p_up)


@njit(cache=True, nogil=True, parallel=True)
def _walks(indptr, indices, prob, alias, p_up, starts, walk_length, stay_prob, seed, tokens, lengths):
    L = indptr.shape[0]
    n_walks = len(starts)
    for w in prange(n_walks):
        s = seed_state(seed, w)
        v = starts[w]
        layer = 0
        base = w * walk_length
        tokens[base] = v
        count = 1
        guard = 0
        while count < walk_length:
            s = next_state(s)
            r = uniform(s)
            a = indptr[layer, v]
            deg = indptr[layer, v + 1] - a
            if r < stay_prob:
                if deg == 0:
                    if layer == 0:
                        break
                    layer -= 1
                    continue
                s = next_state(s)
                j = alias_draw(prob, alias, a, deg, uniform(s))
                v = indices[a + j]
                tokens[base + count] = v
                count += 1
                guard = 0
            else:
                s = next_state(s)
                if uniform(s) < p_up[layer, v]:
                    if layer + 1 < L and indptr[layer + 1, v + 1] > indptr[layer + 1, v]:
                        layer += 1
                elif layer > 0:
                    layer -= 1
                guard += 1
                if guard > 1000000:  # cannot happen with stay_prob > 0; a safety net
                    break
        lengths[w] = count


def multilayer_walks(ml: MultilayerGraph, num_walks, walk_length, stay_prob, seed, node_order_seed=None):
    """Biased walks on the multilayer graph, ``num_walks`` from every node.

    Each round visits the nodes in a fresh random order; walk ``i`` uses its own RNG
    stream ``(seed, i)``, so results do not depend on the number of threads.
    Returns ``(tokens int32, offsets int64)`` (CSR walks).
    """
    n = ml.indptr.shape[1] - 1
    rng = np.random.default_rng(seed if node_order_seed is None else node_order_seed)
    starts = np.concatenate([rng.permutation(n) for _ in range(num_walks)]).astype(np.int32)
    tokens = np.empty(len(starts) * walk_length, dtype=np.int32)
    lengths = np.empty(len(starts), dtype=np.int64)
    _walks(ml.indptr, ml.indices, ml.prob, ml.alias, ml.p_up, starts, int(walk_length), float(stay_prob),
           np.uint64(seed), tokens, lengths)
    keep = np.zeros(len(tokens), dtype=bool)
    pos = np.arange(walk_length)
    keep = (pos[None, :] < lengths[:, None]).ravel()
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return tokens[keep], offsets
