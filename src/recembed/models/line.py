"""LINE: Large-scale Information Network Embedding (Tang et al., WWW 2015).

A numba port of the reference C++ (``tangjianpku/LINE``, ``line.cpp`` and
``reconstruct.cpp``), written from the paper and the C++'s behaviour:

- edges are sampled in proportion to their weight from an O(1) alias table (built, and
  scaled, once);
- negatives come from the noise distribution ``P_n(v) ∝ d_v^0.75`` (``d_v`` = weighted
  out-degree, as the C++ counts it), also through an alias table;
- hogwild SGD: ``threads`` workers each draw their share of ``samples`` edges with their own
  RNG stream, updating the shared matrices without locks; learning rate
  ``rho_t = rho0 * (1 - t / T)`` (floored at ``rho0 * 1e-4``), refreshed every 10,000 samples;
- first order: ``sigma(u_i . u_j)`` on vertex vectors; second order: ``sigma(u_i . c_j)`` with
  separate context vectors; ``order="both"`` trains each with ``dim / 2``, L2-normalises each
  half and concatenates them (the paper's LINE(1st+2nd)); by default each order has 128
  dimensions, as the reference code's ``-size 128`` per order before its ``concatenate`` step;
- ``reconstruct``: vertices with fewer than ``reconstruct`` neighbours are given their
  second-order neighbours (weight ``w_ik * w_kj / d_k`` summed over ``k``, scaled by the
  vertex's weighted degree), keeping the heaviest, as the C++ ``reconstruct -depth 2``.

An undirected graph is trained on both directions of every edge.
"""
from __future__ import annotations

import math
import time

import numpy as np
from numba import njit, prange

from .._io import InputError, check_positive
from ..embeddings import Embeddings
from ..graphs.structural import (alias_draw, alias_setup, graph_arrays, next_state, numba_threads, seed_state,
                                 uniform)
from .base import EmbeddingEstimator

_ORDERS = ("first", "second", "both")


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _sigmoid(x):
    if x > 30.0:
        return 1.0
    if x < -30.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, nogil=True, inline="always")
def _log_sigmoid(x):
    """log(sigmoid(x)), safe for any x: -softplus(-x)."""
    if x >= 0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@njit(cache=True, nogil=True, fastmath=True, parallel=True)
def _train(emb, ctx, src, dst, e_prob, e_alias, n_prob, n_alias, second, negative, total, rho0, nt, seed,
           done, loss):
    """Hogwild LINE SGD over ``total`` edge samples split across ``nt`` workers.

    ``done[t]`` receives the samples worker ``t`` ran; ``loss[t]`` the mean loss of the
    samples it scored (every 16th, to keep the hot loop lean).
    """
    dim = emb.shape[1]
    n_edges = len(src)
    n_nodes = len(n_prob)
    per = (total + nt - 1) // nt
    for t in prange(nt):
        s = seed_state(seed, t)
        err = np.zeros(dim, dtype=np.float32)
        lo = t * per
        hi = min(total, lo + per)
        rho = rho0
        acc = 0.0
        scored = 0
        for i in range(hi - lo):
            if i % 10000 == 0:
                # progress of all workers, assuming they run at the same pace (hogwild)
                rho = rho0 * (1.0 - (i * nt) / (total + 1.0))
                if rho < rho0 * 1e-4:
                    rho = rho0 * 1e-4
            s = next_state(s)
            e = alias_draw(e_prob, e_alias, 0, n_edges, uniform(s))
            u = src[e]
            score = (i & 15) == 0
            for d in range(dim):
                err[d] = 0.0
            for k in range(negative + 1):
                if k == 0:
                    target = dst[e]
                    label = 1.0
                else:
                    s = next_state(s)
                    target = alias_draw(n_prob, n_alias, 0, n_nodes, uniform(s))
                    label = 0.0
                x = np.float32(0.0)
                if second:
                    for d in range(dim):
                        x += emb[u, d] * ctx[target, d]
                else:
                    for d in range(dim):
                        x += emb[u, d] * emb[target, d]
                g = np.float32((label - _sigmoid(x)) * rho)
                if score:
                    acc -= _log_sigmoid(x) if label > 0 else _log_sigmoid(-x)
                if second:
                    for d in range(dim):
                        err[d] += g * ctx[target, d]
                        ctx[target, d] += g * emb[u, d]
                else:
                    for d in range(dim):
                        err[d] += g * emb[target, d]
                        emb[target, d] += g * emb[u, d]
            if score:
                scored += 1
            for d in range(dim):
                emb[u, d] += err[d]
        done[t] = hi - lo
        loss[t] = acc / scored if scored > 0 else 0.0


@njit(cache=True, nogil=True, parallel=True)
def _reconstruct_counts(indptr, indices, weights, threshold, nt):
    """Second-order neighbour lists for low-degree vertices (C++ ``reconstruct -depth 2``).

    Returns, per vertex, the number of arcs it keeps in the reconstructed graph.
    """
    n = len(indptr) - 1
    out_deg = np.zeros(n, dtype=np.int64)
    chunk = (n + nt - 1) // nt
    for t in prange(nt):
        acc = np.zeros(n, dtype=np.float64)
        seen = np.zeros(n, dtype=np.int64)
        for u in range(t * chunk, min(n, (t + 1) * chunk)):
            deg = indptr[u + 1] - indptr[u]
            if deg >= threshold:
                out_deg[u] = deg
                continue
            m = _expand(indptr, indices, weights, u, acc, seen)
            out_deg[u] = min(m, threshold)
            for i in range(m):
                acc[seen[i]] = 0.0
    return out_deg


@njit(cache=True, nogil=True)
def _expand(indptr, indices, weights, u, acc, seen):
    """Accumulate depth-1 and depth-2 proximities of ``u`` into ``acc``; return #reached."""
    m = 0
    su = 0.0
    for j in range(indptr[u], indptr[u + 1]):
        su += weights[j]
    for j in range(indptr[u], indptr[u + 1]):
        v = indices[j]
        wv = weights[j]
        if v != u:
            if acc[v] == 0.0:
                seen[m] = v
                m += 1
            acc[v] += wv
        sv = 0.0
        for jj in range(indptr[v], indptr[v + 1]):
            sv += weights[jj]
        for jj in range(indptr[v], indptr[v + 1]):
            x = indices[jj]
            if x == u:
                continue
            if acc[x] == 0.0:
                seen[m] = x
                m += 1
            acc[x] += wv * weights[jj] / sv
    return m


@njit(cache=True, nogil=True, parallel=True)
def _reconstruct_fill(indptr, indices, weights, threshold, new_ptr, new_idx, new_w, nt):
    n = len(indptr) - 1
    chunk = (n + nt - 1) // nt
    for t in prange(nt):
        acc = np.zeros(n, dtype=np.float64)
        seen = np.zeros(n, dtype=np.int64)
        for u in range(t * chunk, min(n, (t + 1) * chunk)):
            a = new_ptr[u]
            deg = indptr[u + 1] - indptr[u]
            if deg >= threshold:
                for j in range(deg):
                    new_idx[a + j] = indices[indptr[u] + j]
                    new_w[a + j] = weights[indptr[u] + j]
                continue
            m = _expand(indptr, indices, weights, u, acc, seen)
            vals = np.empty(m, dtype=np.float64)
            for i in range(m):
                vals[i] = -acc[seen[i]]
            order = np.argsort(vals, kind="mergesort")
            keep = new_ptr[u + 1] - a
            for i in range(keep):
                v = seen[order[i]]
                new_idx[a + i] = v
                new_w[a + i] = acc[v]
            for i in range(m):
                acc[seen[i]] = 0.0


def reconstruct_graph(indptr, indices, weights, threshold: int, threads: int = 1):
    """Densify a sparse graph: vertices with fewer than ``threshold`` neighbours get their
    heaviest second-order neighbours added (weights ``d_u * sum_k (w_uk/d_u) (w_kj/d_k)``)
    up to ``threshold`` neighbours. Returns new ``(indptr, indices, weights)``.
    """
    import numba

    with numba_threads(threads):
        nt = numba.get_num_threads()
        counts = _reconstruct_counts(indptr, indices, weights, int(threshold), nt)
        new_ptr = np.zeros(len(indptr), dtype=np.int64)
        np.cumsum(counts, out=new_ptr[1:])
        new_idx = np.empty(int(new_ptr[-1]), dtype=np.int32)
        new_w = np.empty(int(new_ptr[-1]), dtype=np.float32)
        _reconstruct_fill(indptr, indices, weights, int(threshold), new_ptr, new_idx, new_w, nt)
    return new_ptr, new_idx, new_w


def edge_alias(weights):
    """Alias table over arcs, probability proportional to weight."""
    if len(weights) >= 2**31:  # the table's aliases are int32
        raise InputError(f"{len(weights):,} arcs: LINE's edge sampler holds at most 2,147,483,647")
    return alias_setup(np.asarray(weights, dtype=np.float64))


def negative_alias(indptr, weights, power: float = 0.75):
    """Alias table of the negative-sampling distribution ``∝ (weighted out-degree)^power``."""
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    deg = np.bincount(rows, weights=np.asarray(weights, dtype=np.float64), minlength=len(indptr) - 1)
    return alias_setup(deg ** power)


class LINE(EmbeddingEstimator):
    """LINE node embeddings (first order, second order, or both concatenated).

    Parameters
    ----------
    dim : int or None, default None
        Output size (for ``order="both"``, ``dim / 2`` per order; must be even). ``None``: 128 per
        order, as the reference code trains each order with ``-size 128`` and concatenates: 256 for
        ``"both"`` (wiki Micro-F1 0.683-0.688 over seeds 1-2, against 0.669-0.676 with 64 per
        order), 128 for one order.
    order : {"first", "second", "both"}, default "both"
    negative : int, default 10
        Negative samples per edge sample (10 with ``reconstruct=30``: wiki Micro-F1 0.669-0.676
        over seeds 1-3, against 0.654-0.664 with 5 and no reconstruction).
    samples : float or None, default None
        Edge samples per order, in millions (the C++ ``-samples``). ``None``: 400 draws per
        arc (an undirected edge is two arcs), at least 1M and at most 100M (wiki: 9.8M).
    learning_rate : float, default 0.025
        Initial learning rate ``rho0``, decayed linearly to ``rho0 * 1e-4``.
    reconstruct : int, default 30
        If > 0, vertices with fewer than this many neighbours get second-order neighbours
        added until they have this many (the paper's step for sparse graphs); 0: off.
    directed : bool, default False
        How to read an edge-list path (a Graph object carries its own).
    weighted : bool or None, default None
        How to read an edge-list path: ``None`` uses a third column when present.
    threads : int, default 1
        Hogwild workers (numba threads). Results are reproducible for ``threads=1`` only.
    seed : int, default 1
    verbose : bool, default False
        Print progress per order.

    Attributes
    ----------
    embeddings_ : Embeddings
    loss_ : list of float
        Mean negative-sampling loss of scored samples, per trained order.
    samples_per_second_ : float
        Edge samples per second (all threads) of the last trained order.

    Examples
    --------
    >>> import networkx as nx
    >>> model = LINE(dim=16, order="both", samples=0.05, seed=1).fit(nx.karate_club_graph())
    >>> model.embeddings_.vectors.shape
    (34, 16)
    """

    def __init__(self, dim=None, order="both", negative=10, samples=None, learning_rate=0.025, reconstruct=30,
                 directed=False, weighted=None, threads=1, seed=1, verbose=False):
        self.dim = dim
        self.order = order
        self.negative = negative
        self.samples = samples
        self.learning_rate = learning_rate
        self.reconstruct = reconstruct
        self.directed = directed
        self.weighted = weighted
        self.threads = threads
        self.seed = seed
        self.verbose = verbose

    def _dim(self) -> int:
        """Output width: ``dim``, or 128 per order."""
        if self.dim is not None:
            return int(self.dim)
        return 256 if self.order == "both" else 128

    def _validate(self):
        if self.dim is not None:
            check_positive("dim", self.dim, integer=True)
        if self.order not in _ORDERS:
            raise InputError(f"order must be one of {_ORDERS}, got {self.order!r}")
        if self.order == "both" and self._dim() % 2:
            raise InputError(f"order='both' needs an even dim (dim/2 per order), got {self.dim}")
        check_positive("negative", self.negative, integer=True, allow_zero=True)
        if self.samples is not None:
            check_positive("samples", self.samples)
        check_positive("learning_rate", self.learning_rate)
        check_positive("reconstruct", self.reconstruct, integer=True, allow_zero=True)
        check_positive("threads", self.threads, integer=True)
        check_positive("seed", self.seed, integer=True, allow_zero=True)

    def fit(self, graph, y=None):
        """Learn embeddings of ``graph`` (a Graph, an edge-list path or a networkx graph)."""
        self._validate()
        g = graph_arrays(graph, directed=self.directed, weighted=self.weighted)
        indptr, indices, weights = g.indptr, g.indices, g.weights
        if self.reconstruct:
            indptr, indices, weights = reconstruct_graph(indptr, indices, weights, self.reconstruct, self.threads)
        n = len(indptr) - 1
        src = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
        dst = np.ascontiguousarray(indices, dtype=np.int32)
        e_prob, e_alias = edge_alias(weights)
        n_prob, n_alias = negative_alias(indptr, weights)
        total = int(round((self.samples if self.samples is not None else min(100.0, max(1.0, 400 * len(dst) / 1e6))) * 1e6))
        orders = ["first", "second"] if self.order == "both" else [self.order]
        d = self._dim() // 2 if self.order == "both" else self._dim()
        parts, losses = [], []
        rng = np.random.default_rng(self.seed)
        for i, order in enumerate(orders):
            emb = ((rng.random((n, d), dtype=np.float32) - 0.5) / d).astype(np.float32)
            ctx = np.zeros((n, d), dtype=np.float32)
            with numba_threads(self.threads):
                import numba

                nt = numba.get_num_threads()
                done = np.zeros(nt, dtype=np.int64)
                loss = np.zeros(nt, dtype=np.float64)
                t0 = time.perf_counter()
                _train(emb, ctx, src, dst, e_prob, e_alias, n_prob, n_alias, order == "second", int(self.negative),
                       total, np.float32(self.learning_rate), nt, np.uint64(self.seed * 2 + i), done, loss)
                secs = time.perf_counter() - t0
            self.samples_per_second_ = float(done.sum() / max(secs, 1e-9))
            losses.append(float(loss.mean()))
            if self.verbose:
                print(f"LINE {order}-order: {done.sum():,} samples in {secs:.2f}s "
                      f"({self.samples_per_second_ / 1e6:.2f}M/s), loss {losses[-1]:.4f}")
            if not np.all(np.isfinite(emb)):
                raise FloatingPointError("LINE diverged (non-finite embeddings); lower learning_rate")
            parts.append(emb)
        if self.order == "both":
            parts = [p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12) for p in parts]
        vectors = np.hstack(parts).astype(np.float32)
        self.embeddings_ = Embeddings(g.keys, vectors)
        self.loss_ = losses
        return self
