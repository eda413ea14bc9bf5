"""Node2Vec: second-order biased walks (return ``p``, in-out ``q``) + skip-gram.

Grover & Leskovec, "node2vec: Scalable Feature Learning for Networks", KDD 2016. Having
walked ``t -> v``, the walk moves to ``x`` with probability proportional to
``w_vx * alpha``, ``alpha = 1/p`` if ``x == t``, ``1`` if ``t -> x`` is an edge, ``1/q``
otherwise. Small ``q`` pushes walks outward (DFS-like: communities, *homophily*); large
``q`` keeps them near ``t`` (BFS-like: local roles, *structural equivalence*).
:func:`node2vec_features` trains one of each and returns both as features, as the
recommender-system use of Node2Vec suggests.

The walks use KnightKing-style rejection sampling by default: O(E) memory on weighted
graphs (see :mod:`recembed.walks.engine`).
"""
from __future__ import annotations

from .._io import InputError
from .deepwalk import _WalkEmbedding, as_graph


class Node2Vec(_WalkEmbedding):
    """Node2Vec embeddings.

    Parameters
    ----------
    p : float, default 1
        Return parameter: ``1/p`` weighs going straight back. ``p < 1`` favours returning.
    q : float, default 1
        In-out parameter: ``1/q`` weighs moving away from the previous node.
        ``q < 1`` explores outward (homophily), ``q > 1`` stays local (structure).
    mode : {"auto", "rejection", "alias", "first-order"}, default "auto"
        Walk sampler (:class:`~recembed.walks.Walker`); ``"alias"`` precomputes per-edge
        tables (fast, memory ``sum indeg * outdeg``) and is for small graphs.
    walk_length, walks_per_node, window, dim, negative, hs, ns_exponent, sample, alpha,
    min_alpha, epochs, weighted, directed, item_graph, threads, seed :
        As in :class:`~recembed.models.deepwalk.DeepWalk`.

    Attributes
    ----------
    embeddings_ : Embeddings keyed by node id.

    Examples
    --------
    >>> from recembed.graphs import Graph
    >>> g = Graph.from_edges(["a", "b", "c", "c"], ["b", "c", "a", "d"])
    >>> model = Node2Vec(p=1, q=0.5, dim=8, walks_per_node=5, walk_length=10, window=2, threads=1).fit(g)
    >>> sorted(model.embeddings_.keys.tolist())
    ['a', 'b', 'c', 'd']
    """

    def __init__(self, p=1.0, q=1.0, walk_length=80, walks_per_node=10, window=10, dim=128, negative=10, hs=False,
                 ns_exponent=0.75, sample=1e-3, alpha=0.04, min_alpha=1e-4, epochs=1, weighted=None,
                 directed=False, mode="auto", item_graph=None, threads=None, seed=1):
        self.p = p
        self.q = q
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
        self.mode = mode
        self.item_graph = item_graph
        self.threads = threads
        self.seed = seed

    def _pq(self):
        return self.p, self.q


def node2vec_features(X, homophily=(1.0, 0.5), structure=(1.0, 2.0), combine: str = "concat", **params):
    """Train a homophily-leaning and a structure-leaning Node2Vec on the same graph.

    Parameters
    ----------
    X : anything :class:`Node2Vec` fits on (a graph, an edge-list path, a behaviour log).
    homophily, structure : ``(p, q)`` of the two models (defaults: q = 0.5 walks outward,
        q = 2 stays local).
    combine : ``"concat"`` returns one :class:`~recembed.Embeddings` with ``[homophily | structure]``
        rows (``2 * dim`` wide); ``"separate"`` returns the pair.
    params : other :class:`Node2Vec` hyperparameters (``dim``, ``seed``, ``threads`` ...).

    Examples
    --------
    >>> from recembed.graphs import Graph
    >>> g = Graph.from_edges(["a", "b", "c", "c"], ["b", "c", "a", "d"])
    >>> emb = node2vec_features(g, dim=4, walks_per_node=5, walk_length=10, window=2, threads=1)
    >>> emb.dim
    8
    """
    if combine not in ("concat", "separate"):
        raise InputError(f"combine must be 'concat' or 'separate', got {combine!r}")
    for k in ("p", "q"):
        if k in params:
            raise InputError(f"give {k} through homophily=(p, q) and structure=(p, q)")
    read_kwargs = {k: params.pop(k) for k in ("user_col", "item_col", "time_col", "weight_col", "sep")
                   if k in params}
    # build the graph once, then fit both models on it
    probe = Node2Vec(**params)
    graph, _ = as_graph(X, probe.weighted, probe.directed, probe.item_graph, **read_kwargs)
    h = Node2Vec(p=homophily[0], q=homophily[1], **params).fit(graph)
    s = Node2Vec(p=structure[0], q=structure[1], **params).fit(graph)
    if combine == "separate":
        return h.embeddings_, s.embeddings_
    return h.embeddings_.concat(s.embeddings_)
