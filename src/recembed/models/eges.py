"""EGES, GES and BGE (Wang et al., KDD 2018): item embeddings from the session graph plus side information.

The pipeline of the paper, section 2:

1. **item graph**: consecutive actions of a session (one-hour gap) become weighted,
   directed edges (:func:`recembed.graphs.build_item_graph`);
2. **walks**: weighted first-order random walks on it (:mod:`recembed.walks`);
3. **skip-gram with negative sampling** on (centre, context) pairs of the walks, where
   the centre item's input vector is

   ``H_v = sum_j exp(a_vj) W_vj / sum_j exp(a_vj)``

   over ``j = 0`` (the item-id embedding) and ``j = 1..n`` (one embedding per side-info
   field: category, brand, shop, a price bucket, ...; a multi-valued field such as
   genres contributes the mean of its values' embeddings), and the context item is
   scored with a separate output table ``Z``. ``A`` (``|V| x (n+1)``) holds one weight
   row per item, so an item with a strong behaviour signal can lean on its id while a
   long-tail item leans on its category.

The three models share the walks and the kernel and differ only in ``H_v``:

* **BGE** (base graph embedding): ``H_v`` is the item-id embedding, i.e. DeepWalk on the
  weighted item graph;
* **GES**: the plain mean of the item-id and side-info embeddings (``A`` fixed at 0);
* **EGES**: the learned weighted mean above.

Gradients reach the item-id table, every side-info table, ``A`` and ``Z`` (a test
checks each one moves after a single step; the DGL example's bug was a table that did
not). Training is a hogwild numba kernel (``nogil``, Python threads over jobs of
walks), reusing the random numbers, noise table, subsampling and windows of
:mod:`recembed.word2vec`.

**Cold items** (in the item table, never in the graph) get vectors from side
information alone, see :meth:`EGES.embed_items` and ``cold_start``.
"""
from __future__ import annotations

import math
import threading
import time
import warnings

import numpy as np
import pandas as pd
from numba import njit

from .._io import InputError, check_positive
from ..data.side_info import SideInfo, read_item_table
from ..embeddings import Embeddings
from ..word2vec import engine as w2v
from ..word2vec.model import run_jobs
from .base import EmbeddingEstimator

_JIT = dict(nogil=True, cache=True, fastmath=True)
COLD_START = ("regression", "attention", "mean")


# -- the kernel ----------------------------------------------------------------------------------
@njit(**_JIT)
def _forward(v, T, A, cptr, cidx, F, att, emean, h, d):
    """Fill ``att`` (softmax of ``A[v]``), ``emean`` (per-field mean rows) and ``h`` (their weighted sum)."""
    # read the row once: another thread may be updating it (hogwild)
    for j in range(F):
        att[j] = A[v, j]
    amax = att[0]
    for j in range(1, F):
        if att[j] > amax:
            amax = att[j]
    s = 0.0
    for j in range(F):
        att[j] = math.exp(att[j] - amax)
        s += att[j]
    for j in range(F):
        att[j] /= s
    for k in range(d):
        h[k] = 0.0
    base = v * F
    for j in range(F):
        a, b = cptr[base + j], cptr[base + j + 1]
        inv = np.float32(1.0 / (b - a))
        for k in range(d):
            emean[j, k] = 0.0
        for p in range(a, b):
            row = T[cidx[p]]
            for k in range(d):
                emean[j, k] += row[k]
        w = np.float32(att[j])
        for k in range(d):
            emean[j, k] *= inv
            h[k] += w * emean[j, k]


@njit(**_JIT)
def _backward(v, T, A, cptr, cidx, F, att, emean, h, neu1e, d, learn_a, a_scale, a_decay):
    """Add the accumulated input gradient ``neu1e`` (already times the learning rate) to every table."""
    hn = 0.0
    for k in range(d):
        hn += h[k] * neu1e[k]
    base = v * F
    for j in range(F):
        if learn_a:
            en = 0.0
            for k in range(d):
                en += emean[j, k] * neu1e[k]
            A[v, j] += np.float32(a_scale * att[j] * (en - hn) - a_decay * A[v, j])
        a, b = cptr[base + j], cptr[base + j + 1]
        w = np.float32(att[j] / (b - a))
        for p in range(a, b):
            row = T[cidx[p]]
            for k in range(d):
                row[k] += w * neu1e[k]


@njit(**_JIT)
def train_job(T, Z, A, cptr, cidx, F, learn_a, a_scale, a_l2, tokens, offsets, s_start, s_end, keep_prob,
              noise_prob, noise_alias,
              negative, window, shrink, alpha, min_alpha, word_base, total_words, rng,
              seqbuf, ctxbuf, att, emean, h, neu1e):
    """Skip-gram with negative sampling over walks ``s_start:s_end``; the centre's input is ``H_v``.

    ``T`` stacks the item-id rows and every side-info table; item ``v``'s field ``j``
    is the mean of rows ``cidx[cptr[v*F+j]:cptr[v*F+j+1]]``. For each centre the context
    pairs (with ``negative`` fresh noise items each) accumulate the gradient of ``H_v``,
    which is then spread to the field rows (times the field's weight) and, with
    ``learn_a``, to ``A[v]``. Returns (loss sum, pairs).
    """
    d = T.shape[1]
    loss_prod = 1.0
    loss_sum = 0.0
    n_pairs = 0
    slope = (alpha - min_alpha) / total_words
    subsample = keep_prob.shape[0] > 0
    base0 = offsets[s_start]
    for s in range(s_start, s_end):
        start = offsets[s]
        end = offsets[s + 1]
        rng, n = w2v.subsample_into(tokens, start, end, keep_prob, subsample, rng, seqbuf)
        if n < 2:
            continue
        lr_seq = alpha - slope * (word_base + (start - base0))
        lr_step = slope * (end - start) / n
        for i in range(n):
            lr = lr_seq - lr_step * i
            if lr < min_alpha:
                lr = min_alpha
            b = window
            if shrink:
                rng, r = w2v._randint(rng, window)
                b = window - r
            lo = i - b if i - b > 0 else 0
            hi = i + b + 1 if i + b + 1 < n else n
            v = seqbuf[i]
            nc = 0
            for j in range(lo, hi):
                if j != i and seqbuf[j] != v:
                    ctxbuf[nc] = seqbuf[j]
                    nc += 1
            if nc == 0:
                continue
            n_pairs += nc
            _forward(v, T, A, cptr, cidx, F, att, emean, h, d)
            for k in range(d):
                neu1e[k] = 0.0
            for c in range(nc):
                for t in range(negative + 1):
                    if t == 0:
                        target = ctxbuf[c]
                        label = True
                    else:
                        rng, target = w2v._sample_noise(rng, noise_prob, noise_alias)
                        if target == ctxbuf[c]:
                            continue
                        label = False
                    z = Z[target]
                    f = 0.0
                    for k in range(d):
                        f += h[k] * z[k]
                    g, prob = w2v._sig_term(f, label)
                    loss_prod, loss_sum = w2v._take(prob, loss_prod, loss_sum)
                    w2v._pair_update(z, h, np.float32(g * lr), neu1e, d)
            _backward(v, T, A, cptr, cidx, F, att, emean, h, neu1e, d, learn_a, a_scale, a_l2 * a_scale * lr)
    loss_sum -= math.log(loss_prod)
    return loss_sum, n_pairs


@njit(**_JIT)
def _embed_rows(T, A_rows, cptr, cidx, F, out):
    """``out[i] = sum_j softmax(A_rows[i])_j * mean(T[cells(i, j)])``; a field with no cell is left out."""
    n, d = out.shape
    for i in range(n):
        amax = -1e30
        for j in range(F):
            if cptr[i * F + j + 1] > cptr[i * F + j] and A_rows[i, j] > amax:
                amax = A_rows[i, j]
        s = 0.0
        for j in range(F):
            a, b = cptr[i * F + j], cptr[i * F + j + 1]
            if b == a:
                continue
            w = math.exp(A_rows[i, j] - amax)
            s += w
            inv = w / (b - a)
            for p in range(a, b):
                row = T[cidx[p]]
                for k in range(d):
                    out[i, k] += np.float32(inv) * row[k]
        if s > 0:
            for k in range(d):
                out[i, k] /= np.float32(s)


# -- helpers -------------------------------------------------------------------------------------
def _noise_tables(counts, ns_exponent):
    """Alias tables of the noise distribution ``count**ns_exponent``, built by the word2vec engine."""
    if hasattr(w2v, "noise_probabilities"):
        p = w2v.noise_probabilities(counts, ns_exponent)
    else:  # older engine: probabilities and cumulative table
        p = w2v.noise_cum_table(counts, ns_exponent)[0]
    p = np.asarray(p, dtype=np.float64)
    if hasattr(w2v, "alias_table"):
        prob, alias = w2v.alias_table(p)
    else:
        from ..walks.engine import _vose

        prob, alias = np.ones(len(p), np.float32), np.zeros(len(p), np.int32)
        _vose(p, prob, alias)
    return np.asarray(prob, dtype=np.float64), np.asarray(alias, dtype=np.int32)


def _cells(fields, offsets, n_items, id_rows=None, drop_unknown=None):
    """Interleave per-field CSR codes into one (item, field) CSR over global rows of ``T``.

    ``id_rows`` (int array or None) adds field 0 = the item's id row (-1: no id row).
    ``drop_unknown[f]``: leave field f out where its only value is the unknown index.
    """
    F = len(fields) + (id_rows is not None)
    lens = np.zeros((n_items, F), dtype=np.int64)
    j0 = 0
    if id_rows is not None:
        lens[:, 0] = id_rows >= 0
        j0 = 1
    for f, fc in enumerate(fields):
        cnt = np.diff(fc.indptr)
        if drop_unknown is not None and drop_unknown[f]:
            only_unk = (cnt == 1) & (fc.indices[fc.indptr[:-1].clip(max=max(len(fc.indices) - 1, 0))] == 0)
            cnt = np.where(only_unk, 0, cnt)
        lens[:, j0 + f] = cnt
    cptr = np.zeros(n_items * F + 1, dtype=np.int64)
    np.cumsum(lens.ravel(), out=cptr[1:])
    cidx = np.empty(int(cptr[-1]), dtype=np.int32)
    # fill per field with vectorised scatter
    pos = cptr[:-1].reshape(n_items, F)
    if id_rows is not None:
        has = id_rows >= 0
        cidx[pos[has, 0]] = id_rows[has]
    for f, fc in enumerate(fields):
        cnt = lens[:, j0 + f]
        item_of = np.repeat(np.arange(n_items), cnt)
        rank = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        src = fc.indptr[:-1][item_of] + rank
        cidx[pos[item_of, j0 + f] + rank] = fc.indices[src] + offsets[f]
    return cptr, cidx, F


def _read_events_or_graph(X, graph_params, read_kwargs):
    from ..graphs import Graph, build_item_graph

    if isinstance(X, Graph):
        return X, None
    return build_item_graph(X, **graph_params, **read_kwargs)


class _SideInfoGraphEmbedding(EmbeddingEstimator):
    """Shared implementation of :class:`BGE`, :class:`GES` and :class:`EGES` (see the module docs)."""

    _mode = "eges"
    _job_words = 20000

    def __init__(self, dim=64, walks_per_node=10, walk_length=20, window=5, negative=5, ns_exponent=0.75,
                 sample=0.0, alpha=0.025, min_alpha=1e-4, epochs=3, attention_lr=1.0, attention_l2=0.0, session_gap=3600.0,
                 min_edge_weight=1, n_buckets=10, sep=";", kinds=None, exclude=None, item_col=None,
                 cold_start="regression", ridge=1.0, threads=None, seed=1):
        self.dim = dim
        self.walks_per_node = walks_per_node
        self.walk_length = walk_length
        self.window = window
        self.negative = negative
        self.ns_exponent = ns_exponent
        self.sample = sample
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.epochs = epochs
        self.attention_lr = attention_lr
        self.attention_l2 = attention_l2
        self.session_gap = session_gap
        self.min_edge_weight = min_edge_weight
        self.n_buckets = n_buckets
        self.sep = sep
        self.kinds = kinds
        self.exclude = exclude
        self.item_col = item_col
        self.cold_start = cold_start
        self.ridge = ridge
        self.threads = threads
        self.seed = seed

    # -- validation --------------------------------------------------------------------------
    def _validate(self):
        for name in ("dim", "walks_per_node", "walk_length", "window", "epochs"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("negative", self.negative, integer=True, allow_zero=False)
        check_positive("alpha", self.alpha)
        check_positive("min_alpha", self.min_alpha, allow_zero=True)
        check_positive("sample", self.sample, allow_zero=True)
        check_positive("attention_lr", self.attention_lr, allow_zero=True)
        check_positive("attention_l2", self.attention_l2, allow_zero=True)
        check_positive("ridge", self.ridge, allow_zero=True)
        if self.threads is not None:
            check_positive("threads", self.threads, integer=True)
        if self.cold_start not in COLD_START:
            raise InputError(f"cold_start must be one of {COLD_START}, got {self.cold_start!r}")

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X, items=None, y=None, **read_kwargs):
        """Learn item vectors.

        Parameters
        ----------
        X : behaviour log (CSV/TSV/Parquet path, DataFrame or :class:`~recembed.data.logs.Events`;
            user, item and time columns, cut into sessions at ``session_gap``), or a ready
            :class:`~recembed.graphs.Graph` of items, or a ``(log_or_graph, items)`` pair.
        items : item table (path or DataFrame): item id plus side-info columns
            (see :class:`~recembed.data.side_info.SideInfo`). Required for GES and EGES.
        read_kwargs : column names etc. for :func:`recembed.read_log`.

        ``session_gap``, ``min_edge_weight`` and ``read_kwargs`` only apply to a log; a
        :class:`~recembed.graphs.Graph` is used as it is.

        Returns
        -------
        self
        """
        self._validate()
        if isinstance(X, tuple) and len(X) == 2 and items is None:
            X, items = X
        graph_params = dict(session_gap=self.session_gap, min_edge_weight=self.min_edge_weight)
        graph, self.graph_summary_ = _read_events_or_graph(X, graph_params, read_kwargs)
        if self.graph_summary_ is not None:
            self.graph_summary_ = str(self.graph_summary_)
        return self.fit_graph(graph, items)

    def fit_graph(self, graph, items=None):
        """Learn from an item :class:`~recembed.graphs.Graph` (what :meth:`fit` does after building it)."""
        from ..walks import random_walks

        self._validate()
        if self._mode != "bge" and items is None:
            raise InputError(f"{type(self).__name__} needs side information: fit(log, items=ITEM_TABLE)")
        # items left without any edge (e.g. after holding edges out) are cold, not warm
        deg = np.diff(graph.indptr) + np.bincount(graph.indices, minlength=graph.n_nodes)
        if (deg == 0).any():
            graph = graph.subgraph(graph.vocab.keys[deg > 0])
        rng = np.random.default_rng(self.seed)
        walk_seed = int(rng.integers(2**31))
        walks = random_walks(graph, walks_per_node=int(self.walks_per_node), walk_length=int(self.walk_length),
                             seed=walk_seed, threads=self.threads)
        return self.fit_walks(walks, items)

    def fit_walks(self, walks, items=None):
        """Learn from a :class:`~recembed.Corpus` of walks over items (the kernel's input)."""
        self._validate()
        d = int(self.dim)
        warm = walks.vocab
        n_warm = len(warm)
        warm_keys = warm.keys.astype(str)
        table, si = None, None
        if items is not None:
            table, item_col = read_item_table(items, self.item_col)
            si = SideInfo(int(self.n_buckets), self.sep, self.kinds, self.exclude, item_col).fit(table)
        if self._mode == "bge":
            si = None
        # side info of the warm items: rows of the table in walk-vocabulary order; absent -> unknown
        if si is not None:
            warm_tab = table.astype(object).set_index(si.item_col).reindex(warm_keys)
            warm_tab = warm_tab.rename_axis(si.item_col).reset_index()
            enc = si.encode(warm_tab)
            sizes = si.sizes
        else:
            enc, sizes = None, []
        offsets = np.cumsum([n_warm] + sizes)[:-1].astype(np.int64) if sizes else np.zeros(0, np.int64)
        n_rows = n_warm + sum(sizes)
        fields = enc.fields if enc is not None else []
        cptr, cidx, F = _cells(fields, offsets, n_warm, id_rows=np.arange(n_warm, dtype=np.int64))

        rng = np.random.default_rng(self.seed)
        T = ((rng.random((n_rows, d), dtype=np.float32) - np.float32(0.5)) / np.float32(d)).astype(np.float32)
        Z = np.zeros((n_warm, d), dtype=np.float32)
        A = np.zeros((n_warm, F), dtype=np.float32)
        self._train(walks, T, Z, A, cptr, cidx, F)

        self.items_ = warm
        self.field_names_ = ["item", *(si.names if si is not None else [])]
        self.field_offsets_ = np.concatenate([[0], offsets]).astype(np.int64)
        self.side_info_ = si
        self.item_table_ = T[:n_warm]
        self.side_tables_ = [T[o:o + s] for o, s in zip(offsets, sizes)]
        self.context_vectors_ = Z
        self.item_weights_ = A
        self._cptr, self._cidx = cptr, cidx
        H = np.zeros((n_warm, d), dtype=np.float32)
        _embed_rows(T, A, cptr, cidx, F, H)
        self.warm_vectors_ = H
        self._fit_cold_start(enc)
        self.embeddings_ = self._all_embeddings(table, item_col if table is not None else None)
        return self

    def _train(self, walks, T, Z, A, cptr, cidx, F):
        d = T.shape[1]
        neg = int(self.negative)
        counts = walks.vocab.counts
        noise_prob, noise_alias = _noise_tables(counts, float(self.ns_exponent))
        keep = w2v.keep_probabilities(counts, float(self.sample))
        tokens, offsets = walks.tokens, walks.offsets
        n_tok = walks.n_tokens
        if n_tok == 0:
            raise InputError("no walks to train on")
        marks = np.arange(0, n_tok, self._job_words, dtype=np.int64)
        starts = np.unique(np.searchsorted(offsets[:-1], marks, side="right") - 1)
        bounds = np.append(starts, len(walks)).astype(np.int64)
        n_jobs = len(bounds) - 1
        threads = int(self.threads) if self.threads is not None else _n_cpus()
        threads = max(1, min(threads, n_jobs))
        max_len = int(np.diff(offsets).max())
        window = int(self.window)
        alpha, min_alpha = float(self.alpha), min(float(self.min_alpha), float(self.alpha))
        total = float(n_tok) * int(self.epochs)
        lock = threading.Lock()
        self.loss_ = []
        train_time = 0.0

        def buffers():
            return (np.empty(max_len, np.int32), np.empty(2 * window, np.int32), np.empty(F, np.float64),
                    np.empty((F, d), np.float32), np.empty(d, np.float32), np.empty(d, np.float32))

        for epoch in range(int(self.epochs)):
            tot = np.zeros(2)
            learn_a = self._mode == "eges"

            def run_job(j, bufs):
                s0, s1 = int(bounds[j]), int(bounds[j + 1])
                loss, pairs = train_job(T, Z, A, cptr, cidx, F, learn_a, float(self.attention_lr),
                                        float(self.attention_l2), tokens, offsets,
                                        s0, s1, keep, noise_prob, noise_alias, neg, window, True, alpha, min_alpha,
                                        float(epoch * n_tok + offsets[s0]), total,
                                        np.uint64(w2v.job_seed(int(self.seed), epoch, j)), *bufs)
                with lock:
                    tot[0] += loss
                    tot[1] += pairs * (neg + 1)

            t0 = time.perf_counter()
            run_jobs(n_jobs, threads, buffers, run_job)
            train_time += time.perf_counter() - t0
            self.loss_.append(float(tot[0] / tot[1]) if tot[1] else float("nan"))
        self.train_seconds_ = train_time
        self.n_tokens_ = int(n_tok)
        self.words_per_second_ = n_tok * int(self.epochs) / train_time if train_time > 0 else 0.0

    # -- cold start --------------------------------------------------------------------------
    def _side_rows(self, enc, drop_unknown):
        """(item, field) CSR of side-info fields only (no id field), for encoded items."""
        return _cells(enc.fields, self.field_offsets_[1:], len(enc), None, drop_unknown)

    def _side_features(self, cptr, cidx, F, n):
        """Per item and side-info field, the mean of the field's rows, ``(n, F, d)`` (zeros where absent)."""
        T = self._T()
        cnt = np.diff(cptr)                       # per (item, field) cell
        cell_of = np.repeat(np.arange(n * F), cnt)
        out = np.zeros((n * F, T.shape[1]), dtype=np.float64)
        np.add.at(out, cell_of, T[cidx])
        out /= np.maximum(cnt, 1)[:, None]
        return out.reshape(n, F, -1).astype(np.float32), (cnt > 0).reshape(n, F)

    def _T(self):
        return np.concatenate([self.item_table_, *self.side_tables_]) if self.side_tables_ else self.item_table_

    def _trained_unknown(self, enc_warm):
        """Per field: whether its unknown index was used by some warm item (so its row was trained)."""
        out = []
        for fc in enc_warm.fields:
            out.append(bool(np.any(fc.indices == 0)))
        return out

    def _fit_cold_start(self, enc_warm):
        self.cold_weights_ = np.zeros(0, dtype=np.float32)
        self.cold_map_ = np.zeros((0, 0), dtype=np.float32)
        self.unknown_trained_ = []
        if self.side_info_ is None:
            return
        self.unknown_trained_ = self._trained_unknown(enc_warm)
        A = self.item_weights_
        ea = np.exp(A - A.max(axis=1, keepdims=True))
        att = ea / ea.sum(axis=1, keepdims=True)
        side = att[:, 1:].mean(axis=0)
        self.cold_weights_ = (side / side.sum()).astype(np.float32)
        if self.cold_start == "regression":
            n = len(self.items_)
            cptr, cidx, F = self._side_rows(enc_warm, None)
            X, _ = self._side_features(cptr, cidx, F, n)
            X = X.reshape(n, -1).astype(np.float64)
            X = np.hstack([X, np.ones((n, 1))])
            Y = self.warm_vectors_.astype(np.float64)
            reg = float(self.ridge) * np.eye(X.shape[1]) * max(1e-12, float(np.mean(np.sum(X * X, axis=1))) / X.shape[1])
            reg[-1, -1] = 0.0
            self.cold_map_ = np.linalg.solve(X.T @ X + reg, X.T @ Y).astype(np.float32)

    def embed_items(self, items) -> Embeddings:
        """Vectors for items from side information alone (the cold-start path).

        Parameters
        ----------
        items : item table (path or DataFrame) with the side-info columns of the
            training table (missing columns count as unknown).

        Returns
        -------
        Embeddings
            One vector per row, keyed by item id. ``cold_start`` chooses the method:
            ``"regression"`` (default): a ridge map from the concatenated side-info field
            embeddings to the warm items' ``H_v`` (fitted on every warm item);
            ``"attention"``: side-info field embeddings weighted by the mean learned
            weight ``exp(a_vj)`` of each kind over warm items; ``"mean"``: their plain
            mean (the paper's cold-start rule).

        Notes
        -----
        A value never seen in training maps to the field's unknown index 0. If warm
        items used index 0 (they had missing values) its trained row is used; otherwise
        the field is left out for that item (``"attention"``/``"mean"``) or counts as
        zero (``"regression"``). The counts go to ``last_unseen_counts_`` and a
        :class:`UserWarning` names them.
        """
        self._check_fitted()
        if self.side_info_ is None:
            raise InputError("BGE has no side information: it cannot embed items it has not seen")
        enc = self.side_info_.encode(items)
        self.last_unseen_counts_ = dict(enc.unseen_counts)
        if enc.unseen_counts:
            warnings.warn(f"{sum(enc.unseen_counts.values())} side-info value(s) never seen in training map to "
                          f"the unknown index: {enc.unseen_counts}", UserWarning, stacklevel=2)
        return Embeddings(enc.items, self._cold_vectors(enc))

    def _cold_vectors(self, enc) -> np.ndarray:
        d = int(self.dim)
        n = len(enc)
        drop = [not t for t in self.unknown_trained_]
        cptr, cidx, F = self._side_rows(enc, drop)
        if self.cold_start == "regression":
            X, _ = self._side_features(cptr, cidx, F, n)
            X = np.hstack([X.reshape(n, -1), np.ones((n, 1), np.float32)])
            return (X @ self.cold_map_).astype(np.float32)
        w = self.cold_weights_ if self.cold_start == "attention" else np.full(F, 1.0 / F, np.float32)
        A_rows = np.tile(np.log(np.maximum(w, 1e-30)).astype(np.float32), (n, 1))
        out = np.zeros((n, d), dtype=np.float32)
        _embed_rows(self._T(), A_rows, cptr, cidx, F, out)
        return out

    def _all_embeddings(self, table, item_col) -> Embeddings:
        warm_keys = self.items_.keys.astype(str)
        self.n_cold_ = 0
        if table is None:
            return Embeddings(warm_keys, self.warm_vectors_)
        ids = table[item_col].astype(str).to_numpy(dtype=object)
        widx = pd.Index(warm_keys).get_indexer(ids)
        cold = widx < 0
        vecs = np.empty((len(ids), int(self.dim)), dtype=np.float32)
        vecs[~cold] = self.warm_vectors_[widx[~cold]]
        self.n_cold_ = int(cold.sum())
        if cold.any():
            if self.side_info_ is None:
                # BGE: no side information; a cold item sits at the centroid of the warm items
                vecs[cold] = self.warm_vectors_.mean(axis=0)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    enc = self.side_info_.encode(table.iloc[np.flatnonzero(cold)])
                vecs[cold] = self._cold_vectors(enc)
        extra = np.setdiff1d(np.arange(len(warm_keys)), widx[~cold])
        keys = np.concatenate([ids, warm_keys[extra].astype(object)])
        return Embeddings(keys, np.vstack([vecs, self.warm_vectors_[extra]]))

    # -- inspection ----------------------------------------------------------------------------
    def side_info_weights(self) -> pd.DataFrame:
        """Per field (item id first): mean and quartiles over warm items of the normalised weight
        ``exp(a_vj) / sum_k exp(a_vk)``, and the mean raw ``exp(a_vj)`` (the paper's Fig. 6)."""
        self._check_fitted()
        A = self.item_weights_.astype(np.float64)
        ea = np.exp(A)
        att = ea / ea.sum(axis=1, keepdims=True)
        return pd.DataFrame({"field": self.field_names_, "mean_exp_a": ea.mean(axis=0),
                             "mean_weight": att.mean(axis=0), "q25": np.quantile(att, 0.25, axis=0),
                             "median": np.median(att, axis=0), "q75": np.quantile(att, 0.75, axis=0)})

    def plot_side_info_weights(self, path, n_items: int = 6) -> None:
        """Bar chart of the mean ``exp(a)`` per side-info kind over warm items (left), and the
        normalised weights of a few items from most to least frequent (right); PNG to ``path``."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .._io import atomic_write

        df = self.side_info_weights()
        att = np.exp(self.item_weights_.astype(np.float64))
        att /= att.sum(axis=1, keepdims=True)
        counts = self.items_.counts
        order = np.argsort(-counts, kind="stable")
        pick = order[np.unique(np.linspace(0, len(order) - 1, min(n_items, len(order))).astype(int))]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        x = np.arange(len(df))
        ax1.bar(x, df["mean_exp_a"], color="tab:blue")
        ax1.set_xticks(x, df["field"], rotation=30, ha="right")
        ax1.set_ylabel("mean exp(a) over warm items")
        ax1.set_title(f"{type(self).__name__}: weight of each kind of side information")
        width = 0.8 / len(pick)
        for r, i in enumerate(pick):
            ax2.bar(x + (r - len(pick) / 2 + 0.5) * width, att[i], width,
                    label=f"{self.items_.keys[i]} ({int(counts[i])} in walks)")
        ax2.set_xticks(x, df["field"], rotation=30, ha="right")
        ax2.set_ylabel("normalised weight")
        ax2.set_title("per item (frequent -> rare)")
        ax2.legend(fontsize=7)
        fig.tight_layout()
        with atomic_write(path, "wb") as fh:
            fig.savefig(fh, format="png", dpi=110)
        plt.close(fig)

    # -- persistence ---------------------------------------------------------------------------
    def _state(self) -> dict:
        st = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        st.pop("side_tables_", None)
        st["side_info_"] = None if self.side_info_ is None else self.side_info_.to_dict()
        st["side_table_"] = (np.concatenate(self.side_tables_) if self.side_tables_
                             else np.zeros((0, int(self.dim)), np.float32))
        st["cells_ptr_"], st["cells_idx_"] = self._cptr, self._cidx
        st.pop("last_unseen_counts_", None)
        return st

    def _set_state(self, state: dict) -> None:
        state = dict(state)
        si = state.pop("side_info_")
        self.side_info_ = None if si is None else SideInfo.from_dict(si)
        side = state.pop("side_table_")
        self._cptr, self._cidx = state.pop("cells_ptr_"), state.pop("cells_idx_")
        for k, v in state.items():
            setattr(self, k, v)
        offs = self.field_offsets_[1:] - len(self.item_table_)
        sizes = self.side_info_.sizes if self.side_info_ is not None else []
        self.side_tables_ = [side[o:o + s] for o, s in zip(offs, sizes)]


def _n_cpus() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


_DOC_PARAMS = """
    Parameters
    ----------
    dim : int
        Vector size.
    walks_per_node, walk_length : int
        Weighted first-order walks started from every item of the graph.
    window, negative, ns_exponent, sample, alpha, min_alpha, epochs
        Skip-gram negative sampling as in :class:`recembed.word2vec.Word2Vec`
        (``sample=0``: no subsampling; walks already start evenly from every node).
    attention_lr : float
        Scale of the learning rate of the weights ``A`` relative to the embeddings' (EGES only).
    attention_l2 : float
        L2 penalty pulling ``A`` towards 0 (uniform weights); 0 by default.
    session_gap : float or None
        Seconds of inactivity that end a session when building the item graph.
    min_edge_weight : float
        Drop item-graph edges lighter than this.
    n_buckets, sep, kinds, exclude, item_col
        Side-information parsing, see :class:`recembed.data.side_info.SideInfo`.
    cold_start : {"regression", "attention", "mean"}
        How items outside the graph get vectors from side information (see :meth:`embed_items`).
    ridge : float
        Ridge penalty of ``cold_start="regression"`` (relative to the mean feature norm).
    threads : int, optional
        Training threads (default: all cores). One thread gives identical results for a seed.
    seed : int

"""


class EGES(_SideInfoGraphEmbedding):
    """Enhanced graph embedding with side information: a learned per-item weighted mean of the
    item-id and side-info embeddings (Wang et al., KDD 2018).
    PARAMS
    Attributes
    ----------
    embeddings_ : Embeddings
        Every item of the item table (warm: ``H_v``; cold: from side information), then any
        graph item missing from the table.
    warm_vectors_ : ``H_v`` of the graph items (``items_`` order).
    item_table_, side_tables_, context_vectors_ : the item-id table, one table per
        side-info field (row 0 = unknown), and the output table ``Z``.
    item_weights_ : ``A``, shape ``(n_graph_items, 1 + n_fields)``; column 0 is the item id.
    side_info_ : the fitted :class:`~recembed.data.side_info.SideInfo` (saved with the model).
    words_per_second_ : training speed over the walks.

    Examples
    --------
    >>> from recembed.datasets import synthetic_shop
    >>> log, items = synthetic_shop(n_users=300, n_items=200, n_categories=8, seed=1)
    >>> model = EGES(dim=16, epochs=1, threads=1).fit(log, items=items)
    >>> len(model.embeddings_) == len(items)
    True
    >>> model.item_weights_.shape[1]   # item id + category, brand, shop, price
    5
    >>> new = items.head(2).assign(item=["new1", "new2"])
    >>> model.embed_items(new).vectors.shape
    (2, 16)
    """

    _mode = "eges"


class GES(_SideInfoGraphEmbedding):
    """Graph embedding with side information: the plain mean of the item-id and side-info embeddings.
    PARAMS
    Examples
    --------
    >>> from recembed.datasets import synthetic_shop
    >>> log, items = synthetic_shop(n_users=300, n_items=200, n_categories=8, seed=1)
    >>> GES(dim=16, epochs=1, threads=1).fit(log, items=items).embeddings_.dim
    16
    """

    _mode = "ges"


class BGE(_SideInfoGraphEmbedding):
    """Base graph embedding: DeepWalk (skip-gram over weighted walks) on the session item graph.

    Same kernel and walks as :class:`EGES` with the item id as the only field. An item
    table is optional; its items outside the graph get the centroid of the warm vectors
    (BGE cannot tell them apart).
    PARAMS
    Examples
    --------
    >>> from recembed.datasets import synthetic_shop
    >>> log, items = synthetic_shop(n_users=300, n_items=200, n_categories=8, seed=1)
    >>> BGE(dim=16, epochs=1, threads=1).fit(log).embeddings_.dim
    16
    """

    _mode = "bge"


for _cls in (EGES, GES, BGE):
    _cls.__doc__ = _cls.__doc__.replace("    PARAMS\n", _DOC_PARAMS)
