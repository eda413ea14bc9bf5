"""Link prediction: hold out edges, embed the rest, score held-out edges against non-edges.

Protocol (node2vec, Grover & Leskovec 2016, section 4.4), exactly:

:func:`split_edges`
    * candidate edges are the graph's distinct non-self-loop edges (an undirected edge once);
      self-loops always stay in the residual graph and are never test pairs;
    * with ``keep_connected`` a random spanning forest is kept first: Kruskal over the edges in
      a seeded random order (``scipy.sparse.csgraph.minimum_spanning_tree`` on the edges' random
      ranks, which is union-find over the shuffled list); for a directed graph the forest spans
      the *weak* components. The residual graph then has the same connected components as the
      input. From the other edges ``round(test_fraction * n_candidates)`` are drawn uniformly
      without replacement as test positives (fewer, with a warning, when the forest leaves fewer);
      in a directed graph ``u -> v`` and ``v -> u`` leave together (drawn as one unordered pair,
      so one arc more can go), since the symmetric edge features would otherwise show the
      classifier a test positive's twin as a train positive;
    * test negatives: as many distinct node pairs ``u != v`` that are not edges of the *input*
      graph (unordered pairs when undirected, ordered when directed), drawn uniformly among nodes
      with at least one edge;
    * train positives: the residual graph's non-self-loop edges (or ``n_train`` of them); train
      negatives: as many non-edges of the input graph, disjoint from the test negatives (so the
      classifier never sees a test pair, and never sees a held-out edge labelled negative).

:func:`link_prediction`
    * an edge ``(u, v)`` becomes a feature vector by one of the node2vec operators:
      Hadamard ``f(u) * f(v)``, average ``(f(u) + f(v)) / 2``, weighted-L1 ``|f(u) - f(v)|``,
      weighted-L2 ``(f(u) - f(v))**2``;
    * per operator, features are standardised on the training pairs and a logistic regression
      (lbfgs, ``C=1``) is fitted on train positives vs train negatives;
    * ROC AUC of its scores on test positives vs test negatives;
    * two classifier-free scores as well: the dot product and the cosine of the two vectors.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import InputError, atomic_write, check_readable
from ..embeddings import Embeddings

OPERATORS = ("hadamard", "average", "l1", "l2")


# -- the split ----------------------------------------------------------------------------------
@dataclass
class EdgeSplit:
    """A link-prediction split: the residual graph and the pairs to train and test on.

    Pair arrays are int64 ``(m, 2)`` node indices into ``residual.vocab`` (which is the input
    graph's vocabulary, same order); :meth:`pairs` gives them as node ids.
    """

    residual: object
    test_pos: np.ndarray
    test_neg: np.ndarray
    train_pos: np.ndarray
    train_neg: np.ndarray
    directed: bool
    n_candidates: int = 0
    n_requested: int = 0
    params: dict = field(default_factory=dict)

    @property
    def keys(self) -> np.ndarray:
        return self.residual.vocab.keys

    def pairs(self, name: str) -> np.ndarray:
        """``(m, 2)`` array of node ids for ``test_pos``, ``test_neg``, ``train_pos`` or ``train_neg``."""
        if name not in ("test_pos", "test_neg", "train_pos", "train_neg"):
            raise InputError(f"unknown pair set {name!r}")
        return self.keys[getattr(self, name)]

    def __repr__(self) -> str:
        return (f"EdgeSplit(residual={self.residual!r}, test {len(self.test_pos):,} + {len(self.test_neg):,}, "
                f"train {len(self.train_pos):,} + {len(self.train_neg):,})")

    # -- persistence: so any tool can train on the residual graph --------------------------------
    def save(self, directory) -> None:
        """Write ``residual.edgelist``, ``nodes.txt``, the four pair files and ``split.json``.

        Train any method on ``residual.edgelist`` (e.g. ``recembed embed deepwalk``), then
        score it with ``recembed evaluate link-prediction --split DIR --emb VECTORS``.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.residual.to_edgelist(d / "residual.edgelist")
        with atomic_write(d / "nodes.txt", "w") as fh:
            fh.write("\n".join(self.keys.tolist()) + "\n")
        for name in ("test_pos", "test_neg", "train_pos", "train_neg"):
            ids = self.pairs(name)
            with atomic_write(d / f"{name}.txt", "w") as fh:
                pd.DataFrame(ids).to_csv(fh, sep="\t", header=False, index=False)
        meta = {"directed": self.directed, "weighted": self.residual.weighted, "n_candidates": self.n_candidates,
                "n_requested": self.n_requested, "params": self.params}
        with atomic_write(d / "split.json", "w") as fh:
            json.dump(meta, fh, indent=1)

    @classmethod
    def load(cls, directory) -> "EdgeSplit":
        """Read a split written by :meth:`save`."""
        from ..graphs.graph import Graph

        d = Path(directory)
        meta_path = check_readable(d / "split.json")
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError as e:
            raise InputError(f"not a split file ({e})", meta_path) from None
        nodes = check_readable(d / "nodes.txt").read_text(encoding="utf-8").split("\n")
        nodes = [n for n in nodes if n]
        residual = Graph.from_edgelist(d / "residual.edgelist", directed=meta["directed"],
                                       weighted=meta.get("weighted"), nodes=nodes)
        arrays = {}
        for name in ("test_pos", "test_neg", "train_pos", "train_neg"):
            p = check_readable(d / f"{name}.txt")
            ids = pd.read_csv(p, sep="\t", header=None, dtype=str, keep_default_na=False).to_numpy()
            if ids.ndim != 2 or ids.shape[1] != 2:
                raise InputError("expected two tab-separated node ids per line", p)
            codes = residual.vocab.encode(ids.ravel().tolist()).astype(np.int64)
            if (codes < 0).any():
                raise InputError(f"node {ids.ravel()[np.flatnonzero(codes < 0)[0]]!r} is not in nodes.txt", p)
            arrays[name] = codes.reshape(-1, 2)
        return cls(residual, directed=meta["directed"], n_candidates=meta.get("n_candidates", 0),
                   n_requested=meta.get("n_requested", 0), params=meta.get("params", {}), **arrays)


def _pair_keys(u, v, n: int, directed: bool) -> np.ndarray:
    """One int64 per pair; unordered pairs share a key when undirected."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if not directed:
        u, v = np.minimum(u, v), np.maximum(u, v)
    return u * np.int64(n) + v


def _in_sorted(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos == len(sorted_keys)] = 0
    return sorted_keys[pos] == keys


def sample_non_edges(n_pairs: int, nodes: np.ndarray, n: int, edge_keys: np.ndarray, directed: bool, rng,
                     exclude: np.ndarray | None = None) -> np.ndarray:
    """``n_pairs`` distinct uniform random non-edges ``(u, v)``, ``u != v``, among ``nodes``.

    ``edge_keys`` are the sorted :func:`_pair_keys` of the edges; ``exclude`` are sorted keys of
    pairs not to return either. Vectorised rejection sampling; when non-edges are scarce all of
    them are enumerated instead. Raises :class:`InputError` when there are too few.
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    excl = edge_keys if exclude is None or not len(exclude) else np.union1d(edge_keys, exclude)
    ne = len(nodes)
    total = ne * (ne - 1) // (1 if directed else 2)
    in_nodes = np.zeros(n, dtype=bool)
    in_nodes[nodes] = True
    blocked = int(np.count_nonzero(in_nodes[excl // n] & in_nodes[excl % n] & (excl // n != excl % n)))
    available = total - blocked
    if n_pairs > available:
        raise InputError(f"need {n_pairs:,} non-edges but the graph has only {available:,}")
    if n_pairs == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if available < 4 * n_pairs:
        # dense graph: rejection would loop long; list every non-edge and draw from them
        u, v = np.meshgrid(nodes, nodes, indexing="ij")
        u, v = u.ravel(), v.ravel()
        keep = (u != v) if directed else (u < v)
        u, v = u[keep], v[keep]
        ok = ~_in_sorted(_pair_keys(u, v, n, directed), excl)
        u, v = u[ok], v[ok]
        pick = rng.choice(len(u), n_pairs, replace=False)
        return np.column_stack([u[pick], v[pick]])
    got_u, got_v = np.zeros(0, np.int64), np.zeros(0, np.int64)
    while len(got_u) < n_pairs:
        m = int(1.3 * (n_pairs - len(got_u))) + 64
        u = nodes[rng.integers(0, ne, m)]
        v = nodes[rng.integers(0, ne, m)]
        ok = u != v
        u, v = u[ok], v[ok]
        if not directed:
            u, v = np.minimum(u, v), np.maximum(u, v)
        ok = ~_in_sorted(_pair_keys(u, v, n, directed), excl)
        got_u, got_v = np.concatenate([got_u, u[ok]]), np.concatenate([got_v, v[ok]])
        # keep the first draw of each pair, in draw order: a uniform sample without replacement
        _, first = np.unique(_pair_keys(got_u, got_v, n, directed), return_index=True)
        first.sort()
        got_u, got_v = got_u[first], got_v[first]
    return np.column_stack([got_u[:n_pairs], got_v[:n_pairs]])


def split_edges(graph, test_fraction: float = 0.5, seed: int = 0, keep_connected: bool = True,
                n_train: int | None = None) -> EdgeSplit:
    """Hold out edges for link prediction; see the module docstring for the exact protocol.

    Parameters
    ----------
    graph : :class:`~recembed.graphs.graph.Graph` (or an edge-list path, read undirected).
    test_fraction : share of the non-self-loop edges to hold out, in (0, 1).
    seed : seeds the spanning forest, the test edges and the negatives.
    keep_connected : keep a random spanning forest in the residual graph, so no node loses all
        its edges and the components stay as they are.
    n_train : number of train positives (and negatives); ``None``: every residual edge.

    Returns
    -------
    EdgeSplit

    Examples
    --------
    >>> from recembed.graphs.graph import Graph
    >>> ring = [(str(i), str((i + 1) % 10)) for i in range(10)]
    >>> chords = [(str(i), str(i + 5)) for i in range(5)]
    >>> g = Graph.from_edges(*zip(*(ring + chords)))
    >>> s = split_edges(g, test_fraction=0.4, seed=1)
    >>> len(s.test_pos), len(s.test_neg), s.residual.n_edges      # 15 edges: 6 held out
    (6, 6, 9)
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    graph = _as_graph(graph)
    if not (isinstance(test_fraction, (int, float, np.floating)) and 0 < float(test_fraction) < 1):
        raise InputError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if n_train is not None and (isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer))
                                or n_train < 1):
        raise InputError(f"n_train must be None or an integer >= 1, got {n_train!r}")
    n = graph.n_nodes
    directed = graph.directed
    s, d, _ = graph.edges()
    s, d = s.astype(np.int64), d.astype(np.int64)
    nonloop = s != d
    s, d = s[nonloop], d[nonloop]
    m = len(s)
    if m < 2:
        raise InputError(f"the graph has {m} non-self-loop edge(s); link prediction needs more")
    rng = np.random.default_rng(seed)
    n_requested = int(round(float(test_fraction) * m))
    if keep_connected:
        rank = rng.permutation(m)
        by_rank = np.argsort(rank)
        a, b = np.minimum(s, d), np.maximum(s, d)
        # a directed pair listed both ways is one undirected edge: keep its first-ranked direction
        _, first = np.unique((a * np.int64(n) + b)[by_rank], return_index=True)
        sel = by_rank[first]
        # distinct integer weights = ranks: Kruskal then takes edges in exactly the shuffled order
        forest = minimum_spanning_tree(coo_matrix((rank[sel] + 1.0, (a[sel], b[sel])), shape=(n, n)).tocsr())
        in_forest = np.zeros(m, dtype=bool)
        in_forest[by_rank[forest.tocoo().data.astype(np.int64) - 1]] = True
        candidates = np.flatnonzero(~in_forest)
    else:
        candidates = np.arange(m)
    if directed:
        # u -> v and v -> u go out together: the operators are symmetric, so a held-out arc whose
        # reverse stayed would be a test positive the classifier was trained on
        pair = np.minimum(s, d) * np.int64(n) + np.maximum(s, d)
        kept = np.ones(m, dtype=bool)
        kept[candidates] = False
        movable = ~np.isin(pair, pair[kept])
        candidates = np.flatnonzero(movable)
    n_test = n_requested
    if n_test > len(candidates):
        warnings.warn(f"only {len(candidates):,} edges can be held out without disconnecting the graph "
                      f"({n_requested:,} requested); holding out {len(candidates):,}", stacklevel=2)
        n_test = len(candidates)
    if n_test == 0:
        raise InputError("no edge can be held out (the graph is a forest); use keep_connected=False")
    if directed:
        units, arcs_in = np.unique(pair[candidates], return_counts=True)
        order = rng.permutation(len(units))
        take = units[order[: int(np.searchsorted(np.cumsum(arcs_in[order]), n_test)) + 1]]
        test = candidates[np.isin(pair[candidates], take)]
        n_test = len(test)
    else:
        test = rng.choice(candidates, n_test, replace=False)
    keys = graph.vocab.keys
    residual = graph.remove_edges(keys[s[test]], keys[d[test]])
    test_pos = np.column_stack([s[test], d[test]])
    edge_keys = np.unique(_pair_keys(s, d, n, directed))
    deg = np.diff(graph.indptr)
    if directed:
        deg = deg + np.bincount(graph.indices, minlength=n)
    nodes = np.flatnonzero(deg > 0)
    test_neg = sample_non_edges(n_test, nodes, n, edge_keys, directed, rng)
    keep = np.ones(m, dtype=bool)
    keep[test] = False
    train_pos = np.column_stack([s[keep], d[keep]])
    if n_train is not None and n_train < len(train_pos):
        train_pos = train_pos[np.sort(rng.choice(len(train_pos), n_train, replace=False))]
    train_neg = sample_non_edges(len(train_pos), nodes, n, edge_keys, directed, rng,
                                 exclude=np.unique(_pair_keys(test_neg[:, 0], test_neg[:, 1], n, directed)))
    return EdgeSplit(residual, test_pos, test_neg, train_pos, train_neg, directed, len(candidates), n_requested,
                     params={"test_fraction": float(test_fraction), "seed": seed, "keep_connected": keep_connected,
                             "n_train": n_train})


def _as_graph(graph):
    if isinstance(graph, (str, os.PathLike)):
        from ..graphs.graph import Graph

        return Graph.from_edgelist(graph)
    if not hasattr(graph, "indptr") or not hasattr(graph, "remove_edges"):
        raise InputError(f"expected a recembed Graph or an edge-list path, got {type(graph).__name__}")
    return graph


# -- scoring --------------------------------------------------------------------------------------
def edge_features(U: np.ndarray, V: np.ndarray, operator: str) -> np.ndarray:
    """Edge features from the two endpoint vectors, by a node2vec binary operator.

    Examples
    --------
    >>> u, v = np.array([[1.0, 2.0]]), np.array([[3.0, -1.0]])
    >>> [edge_features(u, v, op).tolist()[0] for op in OPERATORS]
    [[3.0, -2.0], [2.0, 0.5], [2.0, 3.0], [4.0, 9.0]]
    """
    if operator == "hadamard":
        return U * V
    if operator == "average":
        return (U + V) / 2
    if operator == "l1":
        return np.abs(U - V)
    if operator == "l2":
        return (U - V) ** 2
    raise InputError(f"unknown edge operator {operator!r}; choose from {', '.join(OPERATORS)}")


def roc_auc(pos_scores, neg_scores) -> float:
    """Area under the ROC curve: P(score of a random positive > a random negative), ties count 1/2.

    Examples
    --------
    >>> roc_auc([3, 2], [1, 2])
    0.875
    """
    from scipy.stats import rankdata

    pos = np.asarray(pos_scores, dtype=np.float64).ravel()
    neg = np.asarray(neg_scores, dtype=np.float64).ravel()
    if len(pos) == 0 or len(neg) == 0:
        raise InputError("AUC needs at least one positive and one negative pair")
    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


@dataclass
class LinkPredictionResult:
    """AUC per scorer: the four operators (classifier) plus ``dot`` and ``cosine`` (none).

    Attributes
    ----------
    auc : dict scorer -> ROC AUC on the test pairs.
    n_test_pos, n_test_neg, n_train_pos, n_train_neg : pairs used.
    n_pairs_dropped : pairs left out because a node had no vector.
    """

    auc: dict
    n_test_pos: int
    n_test_neg: int
    n_train_pos: int
    n_train_neg: int
    n_pairs_dropped: int = 0
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"auc": dict(self.auc), "n_test_pos": self.n_test_pos, "n_test_neg": self.n_test_neg,
                "n_train_pos": self.n_train_pos, "n_train_neg": self.n_train_neg,
                "n_pairs_dropped": self.n_pairs_dropped, "params": dict(self.params)}

    def __str__(self) -> str:
        lines = [f"link prediction: test {self.n_test_pos:,} edges + {self.n_test_neg:,} non-edges, "
                 f"classifier trained on {self.n_train_pos:,} + {self.n_train_neg:,}"]
        if self.n_pairs_dropped:
            lines.append(f"  left out: {self.n_pairs_dropped:,} pairs with a node that has no vector")
        lines.append(f"  {'scorer':<10} {'AUC':>7}")
        for name, value in self.auc.items():
            how = "logistic regression" if name in OPERATORS else "no classifier"
            lines.append(f"  {name:<10} {value:7.4f}   ({how})")
        return "\n".join(lines)


def _rows(emb: Embeddings, keys: np.ndarray) -> np.ndarray:
    return pd.Index(emb.keys).get_indexer(pd.Index(keys.astype(object)))


def link_prediction(embeddings, split: EdgeSplit, operators=OPERATORS, seed: int = 0, C: float = 1.0,
                    max_iter: int = 1000, similarities=("dot", "cosine")) -> LinkPredictionResult:
    """AUC of embeddings on a link-prediction split, per edge operator and per plain similarity.

    Parameters
    ----------
    embeddings : :class:`~recembed.Embeddings` (or a path), trained on ``split.residual`` only.
    split : from :func:`split_edges` (or :meth:`EdgeSplit.load`).
    operators : any of ``hadamard``, ``average``, ``l1``, ``l2``.
    seed : for the logistic regression.
    C, max_iter : of :class:`sklearn.linear_model.LogisticRegression`.
    similarities : classifier-free scores to add: ``dot``, ``cosine``.

    Returns
    -------
    LinkPredictionResult

    Examples
    --------
    >>> import numpy as np
    >>> from recembed import Embeddings
    >>> from recembed.graphs.graph import Graph
    >>> cliques = [(f"{c}{i}", f"{c}{j}") for c in "abcd" for i in range(6) for j in range(i + 1, 6)]
    >>> bridges = [("a0", "b0"), ("b0", "c0"), ("c0", "d0")]
    >>> g = Graph.from_edges(*zip(*(cliques + bridges)))
    >>> split = split_edges(g, test_fraction=0.3, seed=0)
    >>> oracle = Embeddings(g.keys, np.eye(4)[["abcd".index(k[0]) for k in g.keys]])
    >>> link_prediction(oracle, split).auc["cosine"] > 0.9
    True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    emb = embeddings if isinstance(embeddings, Embeddings) else Embeddings.load(embeddings)
    ops = [operators] if isinstance(operators, str) else list(operators)
    for op in ops:
        edge_features(np.zeros((1, 1)), np.zeros((1, 1)), op)
    for sim in similarities:
        if sim not in ("dot", "cosine"):
            raise InputError(f"unknown similarity {sim!r}; choose from dot, cosine")
    rows = _rows(emb, split.keys)
    dropped = 0

    def pairs(arr):
        nonlocal dropped
        r = rows[arr]
        ok = (r >= 0).all(axis=1)
        dropped += int(np.count_nonzero(~ok))
        return r[ok]

    tp, tn, rp, rn = pairs(split.test_pos), pairs(split.test_neg), pairs(split.train_pos), pairs(split.train_neg)
    if not len(tp) or not len(tn):
        raise InputError("no test pair has vectors for both nodes; were the embeddings trained on this graph?")
    X = emb.vectors.astype(np.float64)
    auc = {}
    if ops:
        if not len(rp) or not len(rn):
            raise InputError("no training pair has vectors for both nodes")
        train = np.vstack([rp, rn])
        y = np.r_[np.ones(len(rp)), np.zeros(len(rn))]
        test = np.vstack([tp, tn])
        for op in ops:
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
            clf.fit(edge_features(X[train[:, 0]], X[train[:, 1]], op), y)
            score = clf.decision_function(edge_features(X[test[:, 0]], X[test[:, 1]], op))
            auc[op] = roc_auc(score[:len(tp)], score[len(tp):])
    if "dot" in similarities:
        auc["dot"] = roc_auc(np.einsum("ij,ij->i", X[tp[:, 0]], X[tp[:, 1]]),
                             np.einsum("ij,ij->i", X[tn[:, 0]], X[tn[:, 1]]))
    if "cosine" in similarities:
        U = emb.unit_vectors.astype(np.float64)
        auc["cosine"] = roc_auc(np.einsum("ij,ij->i", U[tp[:, 0]], U[tp[:, 1]]),
                                np.einsum("ij,ij->i", U[tn[:, 0]], U[tn[:, 1]]))
    return LinkPredictionResult(auc, len(tp), len(tn), len(rp), len(rn), dropped,
                                params={"C": C, "max_iter": max_iter, "seed": seed})


# -- classic heuristics: the reference any embedding should beat ---------------------------------
HEURISTICS = ("common_neighbors", "jaccard", "adamic_adar", "preferential_attachment")


def heuristic_scores(graph, pairs: np.ndarray) -> dict:
    """Classic link-prediction scores of node pairs on ``graph`` (treated as undirected, unweighted).

    ``common_neighbors`` |N(u) & N(v)|, ``jaccard`` |N(u) & N(v)| / |N(u) | N(v)|, ``adamic_adar``
    sum over common neighbours w of 1 / log(deg w), ``preferential_attachment`` deg(u) * deg(v).
    Self-loops are ignored. Vectorised with sparse row products.

    Examples
    --------
    >>> from recembed.graphs.graph import Graph
    >>> g = Graph.from_edges(["a", "a", "b", "c"], ["b", "c", "d", "d"])
    >>> s = heuristic_scores(g, np.array([[g.vocab["a"], g.vocab["d"]]]))
    >>> s["common_neighbors"].tolist(), s["preferential_attachment"].tolist()
    ([2.0], [4.0])
    """
    from scipy import sparse

    A = graph.to_scipy()
    A = ((A + A.T) > 0).astype(np.float64).tocsr()
    A.setdiag(0)
    A.eliminate_zeros()
    deg = np.asarray(A.sum(axis=1)).ravel()
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    u, v = pairs[:, 0], pairs[:, 1]
    common = A[u].multiply(A[v])
    cn = np.asarray(common.sum(axis=1)).ravel()
    inv_log = np.zeros_like(deg)
    ok = deg > 1
    inv_log[ok] = 1.0 / np.log(deg[ok])
    aa = np.asarray((common @ sparse.diags(inv_log)).sum(axis=1)).ravel()
    union = deg[u] + deg[v] - cn
    jac = np.divide(cn, union, out=np.zeros_like(cn), where=union > 0)
    return {"common_neighbors": cn, "jaccard": jac, "adamic_adar": aa, "preferential_attachment": deg[u] * deg[v]}


def link_heuristics(split: EdgeSplit) -> dict:
    """AUC of :data:`HEURISTICS` computed on the residual graph for the split's test pairs.

    No embedding involved: the reference an embedding method should beat (on many graphs these
    simple scores are hard to beat; see Mara, Lijffijt & De Bie, "Network representation learning
    for link prediction: are we improving upon simple heuristics?", 2020).
    """
    pos = heuristic_scores(split.residual, split.test_pos)
    neg = heuristic_scores(split.residual, split.test_neg)
    return {name: roc_auc(pos[name], neg[name]) for name in HEURISTICS}


# -- a baseline that needs no trainer -------------------------------------------------------------
def spectral_embeddings(graph, dim: int = 64, seed: int = 0) -> Embeddings:
    """Baseline vectors: the top ``dim`` singular vectors of ``D^-1/2 A D^-1/2`` scaled by ``sqrt(s)``.

    Dot products of these vectors approximate (up to the global factor ``n``) the normalised
    adjacency from its ``dim`` largest singular directions, so they are a fair no-training
    reference for link prediction (and a check that the evaluation works before any
    walk-based method is trained).

    Examples
    --------
    >>> from recembed.graphs.graph import Graph
    >>> g = Graph.from_edges(["a", "b", "c"], ["b", "c", "d"])
    >>> spectral_embeddings(g, dim=2).vectors.shape
    (4, 2)
    """
    from scipy import sparse
    from scipy.sparse.linalg import svds

    graph = _as_graph(graph)
    A = graph.to_scipy().astype(np.float64)
    if graph.directed:
        A = A + A.T
    deg = np.asarray(A.sum(axis=1)).ravel()
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-300)), 0.0)
    N = sparse.diags(inv) @ A @ sparse.diags(inv)
    n = N.shape[0]
    k = min(int(dim), n - 1)
    if k < 1:
        raise InputError("the graph is too small for a spectral embedding")
    if n <= 1000:
        # small graph: the exact dense SVD (ARPACK can miss part of a repeated singular value,
        # e.g. the eigenvalue 1 of every connected component)
        u, sv, _ = np.linalg.svd(N.toarray())
    else:
        # extra vectors beyond ``dim`` make ARPACK robust to repeated values at the cut
        k_solve = min(n - 1, k + max(8, k // 4))
        v0 = np.random.default_rng(seed).random(n)
        u, sv, _ = svds(N, k=k_solve, v0=v0)
    order = np.argsort(-sv, kind="stable")[:k]
    # the global factor sqrt(n) changes no similarity ranking; it gives rows a norm near 1, the
    # scale the default C=1 of the node-classification classifier expects
    vectors = u[:, order] * np.sqrt(sv[order]) * np.sqrt(n)
    return Embeddings(graph.vocab.keys, vectors.astype(np.float32))
