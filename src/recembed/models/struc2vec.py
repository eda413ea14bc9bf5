"""Struc2Vec: node embeddings from structural identity (Ribeiro, Saverese, Figueiredo, KDD 2017).

Pipeline (kernels in :mod:`recembed.graphs.structural`, all numba):

1. ordered degree sequences of the k-hop rings of every node (one BFS per node);
2. structural distance ``f_k(u, v) = f_{k-1}(u, v) + DTW(s(R_k(u)), s(R_k(v)))`` with cost
   ``max(a, b) / min(a, b) - 1``;
3. the multilayer context graph: layer ``k`` joins compared pairs with weight
   ``exp(-f_k(u, v))``; from ``u_k`` a walk moves up with weight ``log(Γ_k(u) + e)`` (``Γ_k(u)``:
   edges of ``u`` heavier than layer ``k``'s mean) and down with weight 1;
4. biased walks (at each step: walk within the layer with probability ``stay_prob``, else
   change layer), then skip-gram (the shared :class:`~recembed.word2vec.Word2Vec`).

The paper's optimisations are on by default and switchable: ``opt1`` compresses each
ring to ``(degree, count)`` runs (DTW cost times ``max(count_a, count_b)``), ``opt2`` compares
each node with the ``n_candidates`` nodes of nearest degree (default: the paper's ``ceil(2 log2 n)``,
raised to 15% of the nodes while ``n * k <= 200,000``), ``opt3`` caps the layers at
``max_layer``. Structure is unweighted (self-loops and duplicate edges dropped). Undirected by
default; with ``directed=True`` the rings still follow edges either way (hop distance in the
undirected skeleton), but each ring is described by two ordered sequences, its nodes'
out-degrees and in-degrees, and the layer distance is the mean of their two DTW distances (so a
graph whose every arc goes both ways gets exactly its undirected distances). The paper defines
undirected rings only; this is the extension its reference code's directed mode points to.
"""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from .._io import InputError, atomic_write, check_positive
from ..embeddings import Embeddings
from ..graphs.structural import (arc_degrees, build_multilayer, candidate_pairs, graph_arrays, multilayer_walks,
                                 numba_threads, ring_degree_sequence_sets, simple_undirected, structural_distances)
from .base import EmbeddingEstimator


class _Progress:
    """Phase timings, printed as they finish when ``verbose``."""

    def __init__(self, verbose):
        self.verbose = verbose
        self.times = {}
        self._t = time.perf_counter()

    def done(self, phase, detail=""):
        now = time.perf_counter()
        self.times[phase] = now - self._t
        self._t = now
        if self.verbose:
            print(f"struc2vec {phase}: {self.times[phase]:.2f}s {detail}", flush=True)


_CACHE_FORMAT = 2  # bump when the cached multilayer graph changes meaning
_MAX_ALL_PAIRS = 20_000_000  # ~6,300 nodes: 0.6 GB of distances at 4 layers, ~2.5 GB of multilayer arcs


def _read_cache(path):
    """``(multilayer graph, n_pairs, memory)`` from a cache file, or None if it cannot be read
    (truncated, another format): the fit then recomputes it and overwrites the file."""
    from zipfile import BadZipFile

    from ..graphs.structural import MultilayerGraph

    try:
        with np.load(path, allow_pickle=False) as z:
            ml = MultilayerGraph(z["indptr"], z["indices"], z["prob"], z["alias"], z["p_up"])
            return ml, int(z["n_pairs"]), json.loads(str(z["memory"]))
    except (OSError, ValueError, KeyError, EOFError, BadZipFile) as err:
        warnings.warn(f"struc2vec cache {path} unreadable ({type(err).__name__}: {err}); recomputing it",
                      RuntimeWarning, stacklevel=3)
        return None


class Struc2Vec(EmbeddingEstimator):
    """Struc2Vec structural node embeddings.

    Parameters
    ----------
    dim : int, default 128
    walk_length : int, default 80
    walks_per_node : int, default 10
    window : int, default 5
        Skip-gram window.
    stay_prob : float, default 0.3
        Probability of a step within the current layer (the reference code's 0.3); otherwise
        the walk changes layer.
    max_layer : int or None, default 3
        OPT3: layers 0..max_layer (ignored when ``opt3=False``: every ring is used).
    opt1, opt2, opt3 : bool, default True
        Compressed degree sequences, nearest-degree candidates, layer cap. Without OPT2 every
        pair of nodes is compared; graphs with more than 20,000,000 pairs (~6,300 nodes) are
        refused with an :class:`InputError` rather than run out of memory.
    n_candidates : int or None, default None
        OPT2: nodes of nearest degree compared with each node. ``None``:
        ``max(ceil(2 log2 n), min(ceil(0.15 n), 200000 // n))``: the paper's ``2 log2 n``, raised on
        small graphs (airports: Brazil 20, Europe 60, USA 168), where it measurably helps, while
        ``n * k <= 200,000``; from ~8,000 nodes on it is the paper's count.
    epochs : int or None, default None
        Skip-gram passes over the walks. ``None``: ``max(5, min(20, ceil(1,000,000 / walk tokens)))``: the
        reference code's ``--iter 5``, raised on small graphs so that the skip-gram sees at least
        ~1M tokens (airports: Brazil 10, Europe 5, USA 5); the count used is in ``epochs_``.
    negative : int, default 5
    directed : bool, default False
        Compare rings by out- and in-degree sequences (see the module notes); an edge-list path
        is then also read as directed.
    threads : int, default 1
        Threads for every phase (walks and distances are identical for any count; skip-gram is
        bit-reproducible with ``threads=1``).
    seed : int, default 1
    cache_dir : str or None, default None
        If set, the distances and the multilayer graph are written there (``.npz``) and reused by
        a later fit with the same structural settings; nothing in it is ever deleted.
    verbose : bool, default False
        Print each phase's time.

    Attributes
    ----------
    embeddings_ : Embeddings
    epochs_ : int
        Skip-gram passes used.
    n_pairs_ : int
        Node pairs whose distance was computed.
    n_layers_ : int
        Layers of the context graph.
    timings_ : dict
        Seconds per phase.
    memory_ : dict
        Bytes held by the ring sequences, distances and multilayer graph.

    Examples
    --------
    >>> import networkx as nx
    >>> m = Struc2Vec(dim=16, walks_per_node=5, walk_length=20, seed=1).fit(nx.barbell_graph(5, 2))
    >>> m.embeddings_.vectors.shape
    (12, 16)
    """

    def __init__(self, dim=128, walk_length=80, walks_per_node=10, window=5, stay_prob=0.3, max_layer=3,
                 opt1=True, opt2=True, opt3=True, epochs=None, negative=5, threads=1, seed=1, cache_dir=None,
                 verbose=False, n_candidates=None, directed=False):
        self.dim = dim
        self.walk_length = walk_length
        self.walks_per_node = walks_per_node
        self.window = window
        self.stay_prob = stay_prob
        self.max_layer = max_layer
        self.opt1 = opt1
        self.opt2 = opt2
        self.opt3 = opt3
        self.epochs = epochs
        self.negative = negative
        self.threads = threads
        self.seed = seed
        self.cache_dir = cache_dir
        self.verbose = verbose
        self.n_candidates = n_candidates
        self.directed = directed

    def _validate(self):
        for name in ("dim", "walk_length", "walks_per_node", "window", "threads"):
            check_positive(name, getattr(self, name), integer=True)
        if self.epochs is not None:
            check_positive("epochs", self.epochs, integer=True)
        check_positive("negative", self.negative, integer=True)
        check_positive("seed", self.seed, integer=True, allow_zero=True)
        if not (isinstance(self.stay_prob, (int, float)) and 0 < self.stay_prob <= 1):
            raise InputError(f"stay_prob must be in (0, 1], got {self.stay_prob!r}")
        if self.opt3:
            if self.max_layer is None:
                raise InputError("opt3=True needs max_layer (or set opt3=False)")
            check_positive("max_layer", self.max_layer, integer=True, allow_zero=True)
        if self.n_candidates is not None:
            check_positive("n_candidates", self.n_candidates, integer=True)

    def _n_candidates(self, n):
        """Candidates per node under OPT2 (see ``n_candidates``)."""
        if self.n_candidates is not None:
            return int(self.n_candidates)
        import math

        return max(int(math.ceil(2 * math.log2(max(n, 2)))), min(int(math.ceil(0.15 * n)), 200_000 // max(n, 1)))

    # -- structural phases (cacheable) ----------------------------------------------------
    def _structure(self, g, progress, out_in=None):
        """The multilayer graph of ``g`` (simple, undirected); ``out_in``: (out, in) degrees when directed."""
        cap = self.max_layer if self.opt3 else None
        degree_sets = [np.diff(g.indptr)] if out_in is None else list(out_in)
        rings = ring_degree_sequence_sets(g.indptr, g.indices, degree_sets, cap, bool(self.opt1))
        degree = sum(degree_sets)
        progress.done("rings", f"({int(rings[0].n_layers.max())} layers max)")
        pairs = candidate_pairs(degree, opt2=bool(self.opt2), n_candidates=self._n_candidates(g.n_nodes),
                                seed=int(self.seed))
        dist = structural_distances(rings, pairs)
        progress.done("distances", f"({len(pairs):,} pairs)")
        ml = build_multilayer(pairs, dist, g.n_nodes)
        progress.done("multilayer", f"({ml.n_layers} layers, {len(ml.indices):,} arcs)")
        mem = {"rings": sum(r.nbytes for r in rings), "distances": dist.nbytes + pairs.nbytes, "multilayer": ml.nbytes}
        return ml, len(pairs), mem

    def _cache_path(self, g, out_in=None):
        import hashlib

        h = hashlib.sha1()
        for a in (g.indptr, g.indices) + (tuple(out_in) if out_in is not None else ()):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update("\n".join(map(str, g.keys.tolist())).encode())
        # OPT2 breaks degree ties at random, so its pairs (and the file) depend on the seed
        h.update(json.dumps([_CACHE_FORMAT, bool(self.opt1), bool(self.opt2), bool(self.opt3),
                             self.max_layer if self.opt3 else None,
                             self._n_candidates(g.n_nodes) if self.opt2 else None,
                             int(self.seed) if self.opt2 else None]).encode())
        return Path(self.cache_dir) / f"struc2vec-{h.hexdigest()[:16]}.npz"

    def fit(self, graph, y=None):
        """Learn embeddings of ``graph`` (a Graph, an edge-list path or a networkx graph)."""
        self._validate()
        progress = _Progress(self.verbose)
        arcs = graph_arrays(graph, directed=bool(self.directed))
        out_in = arc_degrees(arcs) if self.directed else None
        g = simple_undirected(arcs)
        if g.n_arcs == 0:
            raise InputError("graph has no edges between distinct nodes")
        all_pairs = g.n_nodes * (g.n_nodes - 1) // 2
        if not self.opt2 and all_pairs > _MAX_ALL_PAIRS:
            layers = (int(self.max_layer) + 1) if self.opt3 else "every"
            raise InputError(f"opt2=False compares all {all_pairs:,} node pairs of this {g.n_nodes:,}-node graph "
                             f"({layers} layers of float64 distances each, plus the multilayer graph); "
                             f"the limit is {_MAX_ALL_PAIRS:,}: keep OPT2 on (n_candidates sets the pairs per node)")
        with numba_threads(self.threads):
            cache = self._cache_path(g, out_in) if self.cache_dir is not None else None
            cached = _read_cache(cache) if cache is not None and cache.exists() else None
            if cached is not None:
                ml, n_pairs, mem = cached
                progress.done("multilayer", f"(from cache {cache})")
            else:
                ml, n_pairs, mem = self._structure(g, progress, out_in)
                if cache is not None:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    with atomic_write(cache, "wb") as fh:
                        np.savez(fh, indptr=ml.indptr, indices=ml.indices, prob=ml.prob, alias=ml.alias,
                                 p_up=ml.p_up, n_pairs=n_pairs, memory=json.dumps(mem))
            tokens, offsets = multilayer_walks(ml, int(self.walks_per_node), int(self.walk_length),
                                               float(self.stay_prob), int(self.seed))
            progress.done("walks", f"({len(offsets) - 1:,} walks, {len(tokens):,} tokens)")
        from ..data import Corpus, Vocab
        from ..word2vec import Word2Vec

        corpus = Corpus.from_arrays(tokens, offsets, Vocab(np.asarray([str(k) for k in g.keys], dtype=object)))
        import math

        epochs = int(self.epochs) if self.epochs is not None else max(5, min(20, math.ceil(1_000_000 / max(len(tokens), 1))))
        w2v = Word2Vec(dim=self.dim, window=self.window, sg=True, negative=self.negative, sample=0,
                       epochs=epochs, threads=self.threads, seed=self.seed, progress=bool(self.verbose))
        w2v.fit(corpus)
        progress.done("skip-gram")
        emb = w2v.embeddings_
        order = np.asarray([emb.index_of(k) for k in g.keys.tolist()])
        self.embeddings_ = Embeddings(g.keys, emb.vectors[order])
        self.epochs_ = epochs
        self.n_pairs_ = int(n_pairs)
        self.n_layers_ = int(ml.n_layers)
        self.timings_ = {k: round(v, 4) for k, v in progress.times.items()}
        mem["multilayer"] = int(mem["multilayer"])
        self.memory_ = {k: int(v) for k, v in mem.items()}
        return self
