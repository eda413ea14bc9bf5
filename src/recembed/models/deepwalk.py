"""DeepWalk: truncated random walks on a graph, fed to skip-gram word2vec.

Perozzi et al., "DeepWalk: Online Learning of Social Representations", KDD 2014. The
walks come from :mod:`recembed.walks` (numba, alias sampling on weighted graphs) and go
straight into :class:`~recembed.word2vec.Word2Vec` as an int32 corpus. With a behaviour
log as input the graph is the item graph of :func:`~recembed.graphs.build_item_graph`
(consecutive actions in a session), which is the recommender-system use of DeepWalk.

Nodes without any edge (isolated nodes) are in ``embeddings_`` but, having no context
in any walk, keep word2vec's random initial vector: do not use them as features.
"""
from __future__ import annotations

import os
import time

import numpy as np

from .._io import InputError, check_positive
from .base import EmbeddingEstimator


def as_graph(X, weighted=None, directed: bool = False, item_graph: dict | None = None, **read_kwargs):
    """Turn estimator input into ``(Graph, summary or None)``.

    ``X`` is a :class:`~recembed.graphs.Graph`, a networkx graph, a square scipy sparse
    matrix, behaviour-log :class:`~recembed.data.logs.Events` or DataFrame, or a path. A
    path is read as a behaviour log when its first line is a header naming the user and
    item columns (``user``/``item`` unless ``read_kwargs`` say otherwise), else as an edge list.
    """
    import pandas as pd

    from ..graphs import Graph, build_item_graph

    summary = None
    if isinstance(X, Graph):
        g = X
    elif hasattr(X, "item_vocab") or isinstance(X, pd.DataFrame) or (
            isinstance(X, (str, os.PathLike)) and _looks_like_log(X, read_kwargs)):
        g, summary = build_item_graph(X, **(item_graph or {}), **read_kwargs)
    elif isinstance(X, (str, os.PathLike)):
        g = Graph.from_edgelist(X, directed=directed, weighted=weighted)
    elif hasattr(X, "is_directed") and hasattr(X, "adj"):
        g = Graph.from_networkx(X, weighted=weighted)
    elif hasattr(X, "tocsr"):
        g = Graph.from_scipy(X, directed=directed or None, weighted=weighted)
    else:
        raise InputError(f"cannot make a graph from a {type(X).__name__}: give a Graph, an edge-list path, "
                         "a behaviour log, a networkx graph or a scipy sparse matrix")
    if weighted is False and g.weighted:
        # the same graph, every edge weight 1
        g = Graph(g.indptr, g.indices, np.ones_like(g.weights), g.vocab, g.directed, False)
    return g, summary


def _looks_like_log(path, read_kwargs) -> bool:
    from pathlib import Path

    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq") or read_kwargs.get("names"):
        return True
    if not p.is_file():
        return False
    with open(p, "rb") as fh:
        for raw in fh:
            line = raw.decode("utf-8", "replace").strip()
            if line and not line.startswith("#"):
                fields = [f.strip().strip('"') for f in line.replace("\t", ",").split(",")]
                need = {read_kwargs.get("user_col", "user"), read_kwargs.get("item_col", "item")}
                return need <= set(fields)
    return False


class _WalkEmbedding(EmbeddingEstimator):
    """Shared fit of DeepWalk and Node2Vec: graph -> walks -> skip-gram."""

    def _pq(self):
        return 1.0, 1.0

    def _validate(self):
        for name in ("walk_length", "walks_per_node", "window", "dim", "epochs"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("negative", self.negative, integer=True, allow_zero=True)
        check_positive("sample", self.sample, allow_zero=True)
        check_positive("alpha", self.alpha)
        check_positive("min_alpha", self.min_alpha, allow_zero=True)
        if self.threads is not None:
            check_positive("threads", self.threads, integer=True)
        if self.weighted not in (None, True, False):
            raise InputError(f"weighted must be None, True or False, got {self.weighted!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InputError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not self.hs and self.negative == 0:
            raise InputError("nothing to train: negative=0 needs hs=True")

    def fit(self, X, y=None, **read_kwargs):
        """Learn node vectors from a graph, an edge-list path or a behaviour log (see :func:`as_graph`).

        ``read_kwargs`` name the log's columns etc. (:func:`recembed.read_log`).

        Returns
        -------
        self
        """
        self._validate()
        p, q = self._pq()
        check_positive("p", p)
        check_positive("q", q)
        graph, summary = as_graph(X, self.weighted, self.directed, self.item_graph, **read_kwargs)
        self.graph_summary_ = None if summary is None else str(summary)
        return self._fit_graph(graph)

    def _walker(self, graph):
        from ..walks import Walker

        p, q = self._pq()
        return Walker(graph, p=p, q=q, mode=getattr(self, "mode", "auto"))

    def _fit_graph(self, graph):
        from ..word2vec import Word2Vec

        t0 = time.perf_counter()
        walker = self._walker(graph)
        corpus = walker.walks(walks_per_node=int(self.walks_per_node), walk_length=int(self.walk_length),
                              seed=int(self.seed), threads=self.threads)
        self.walk_seconds_ = time.perf_counter() - t0
        self.n_walks_ = len(corpus)
        self.n_tokens_ = int(corpus.n_tokens)
        w2v = Word2Vec(dim=int(self.dim), window=int(self.window), sg=True, hs=bool(self.hs),
                       negative=int(self.negative), ns_exponent=float(self.ns_exponent), sample=float(self.sample),
                       alpha=float(self.alpha), min_alpha=float(self.min_alpha), epochs=int(self.epochs),
                       min_count=1, threads=self.threads, seed=int(self.seed), progress=False)
        t1 = time.perf_counter()
        w2v.fit(corpus)
        self.train_seconds_ = time.perf_counter() - t1
        self.embeddings_ = w2v.embeddings_
        self.loss_ = [float(x) for x in getattr(w2v, "loss_", [])]
        return self

    def transform(self, keys) -> np.ndarray:
        """Vectors of node ids (an (n, dim) float32 array)."""
        self._check_fitted()
        return self.embeddings_[list(keys)]


class DeepWalk(_WalkEmbedding):
    """DeepWalk: uniform (or edge-weighted) first-order walks + skip-gram.

    Parameters
    ----------
    walk_length : int, default 80
        Nodes per walk (a walk stops early at a node without out-edges).
    walks_per_node : int, default 10
        Walks started from every node.
    window : int, default 10
        Skip-gram window.
    dim : int, default 128
    negative : int, default 10
        Negative samples per pair (0 with ``hs=True``: hierarchical softmax only, as in the paper).
    hs : bool, default False
    alpha : float, default 0.04
        Start learning rate. ``alpha=0.04, negative=10`` (word2vec's are 0.025 and 5) because the
        papers' single epoch over 10 x 80 walks under-trains with word2vec's: BlogCatalog Macro-F1
        at 50 % rises from 0.210 to 0.24 (DeepWalk) and 0.229 to 0.25 (Node2Vec p=q=0.25; seeds
        1-3: alpha 0.03 / 0.04 / 0.05 / 0.075 give 0.247 / 0.254 / 0.251 / 0.243 on average);
        see docs/graphs.md "Quality".
    ns_exponent, sample, min_alpha : word2vec settings (see :class:`~recembed.word2vec.Word2Vec`).
    epochs : int, default 1
    weighted : bool or None, default None
        ``None`` walks on the weights the graph has; ``False`` ignores them.
    directed : bool, default False
        How to read an edge-list path (a Graph keeps its own).
    item_graph : dict, optional
        Options of :func:`~recembed.graphs.build_item_graph` for behaviour-log input.
    threads : int, optional
        Walks are identical for any thread count; word2vec is bit-reproducible with ``threads=1``.
    seed : int, default 1

    Attributes
    ----------
    embeddings_ : Embeddings keyed by node id.
    n_walks_, n_tokens_, walk_seconds_, train_seconds_, loss_, graph_summary_

    Examples
    --------
    >>> from recembed.graphs import Graph
    >>> g = Graph.from_edges(["a", "b", "c", "c"], ["b", "c", "a", "d"])
    >>> model = DeepWalk(dim=8, walks_per_node=5, walk_length=10, window=2, threads=1).fit(g)
    >>> model.embeddings_.vectors.shape
    (4, 8)
    """

    def __init__(self, walk_length=80, walks_per_node=10, window=10, dim=128, negative=10, hs=False,
                 ns_exponent=0.75, sample=1e-3, alpha=0.04, min_alpha=1e-4, epochs=1, weighted=None,
                 directed=False, item_graph=None, threads=None, seed=1):
        self.walk_length = walk_length
        self.walks_per_node = walks_per_node
        self.window = window
        self.dim = dim
        self.negative = negative
        self.hs = hs
        self.ns_exponent = ns_exponent
        self.sample = sample
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.epochs = epochs
        self.weighted = weighted
        self.directed = directed
        self.item_graph = item_graph
        self.threads = threads
        self.seed = seed
