"""SDNE: Structural Deep Network Embedding (Wang, Cui, Zhu, KDD 2016), in PyTorch.

A deep autoencoder reads node ``i``'s adjacency row ``x_i`` and reconstructs it; the
embedding ``y_i`` is the encoder output. The loss of a mini-batch is

``L = sum_i ||(x̂_i - x_i) ⊙ b_i||² + alpha * sum_(i,j) s_ij ||y_i - y_j||² + nu * L_reg``

with ``b_ij = beta`` where ``s_ij > 0`` and 1 elsewhere (second-order proximity: the
reconstruction of the zeros matters less than that of the edges), the first-order
(Laplacian) term over the edges of the batch, and ``L_reg = ½ sum ||W||²_F`` over every weight
matrix. By default (``laplacian="normalized"``) the first-order term uses the normalised
Laplacian, ``y_i / sqrt(d_i)`` in place of ``y_i`` (``"plain"``: the paper's term as written).
The adjacency stays sparse (CSR tensors); only the batch's rows are densified, so a step holds
``B × N`` floats, never ``N × N`` (GraphEmbedding's SDNE densifies the whole Laplacian and
adjacency).

Two batch schemes:

- ``batch="edges"`` (default): ``batch_size`` arcs drawn without replacement per step; the rows
  of both endpoints are reconstructed and every arc in the batch contributes to the
  first-order term (so that term sees every edge once per epoch);
- ``batch="nodes"`` (~20x cheaper per epoch on wiki): ``batch_size`` nodes; first-order term
  over the arcs inside the batch only (the paper's ``2 tr(Yᵀ L Y)`` of the batch's
  sub-Laplacian), i.e. ~10% of the arcs per epoch at 256 of wiki's 2,405 nodes.

Examples
--------
>>> import networkx as nx
>>> m = SDNE(dim=8, hidden=(16,), epochs=2, seed=1).fit(nx.karate_club_graph())
>>> m.embeddings_.vectors.shape
(34, 8)
"""
from __future__ import annotations

import time

import numpy as np

from .._io import InputError, check_positive
from ..embeddings import Embeddings
from ..graphs.structural import graph_arrays
from .base import EmbeddingEstimator


def _torch():
    try:
        import torch
    except ImportError:
        raise InputError("SDNE needs PyTorch: pip install 'recembed[torch]'") from None
    return torch


def _device(name):
    torch = _torch()
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise InputError(f"unknown device {name!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' requested but no GPU is available")
    return dev


def dense_rows(crow, col, val, rows, n_cols):
    """Densify rows ``rows`` of a CSR matrix given as torch tensors: a ``(len(rows), n_cols)`` tensor."""
    torch = _torch()
    starts = crow[rows]
    lens = crow[rows + 1] - starts
    out = torch.zeros((len(rows), n_cols), dtype=val.dtype, device=val.device)
    total = int(lens.sum())
    if total:
        r = torch.repeat_interleave(torch.arange(len(rows), device=val.device), lens)
        first = torch.cumsum(lens, 0) - lens
        pos = torch.repeat_interleave(starts - first, lens) + torch.arange(total, device=val.device)
        out[r, col[pos]] = val[pos]
    return out


def standardize_columns(vecs):
    """Centre every column and scale it to unit variance (a constant column stays 0)."""
    v = vecs.astype(np.float64)
    v -= v.mean(0)
    std = v.std(0)
    v /= np.where(std > 1e-12, std, 1.0)
    return v.astype(np.float32)


class _AutoEncoder:
    """Encoder/decoder MLP (built lazily so the module imports without torch).

    Hidden layers use ReLU; the embedding layer is linear (a ReLU there leaves dead, all-zero
    dimensions); the decoder mirrors the encoder with a linear output.
    """

    @staticmethod
    def build(n, hidden, dim):
        torch = _torch()
        nn = torch.nn
        sizes = [n, *hidden, dim]
        enc, dec = [], []
        for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            enc += [nn.Linear(a, b)]
            if k < len(sizes) - 2:
                enc += [nn.ReLU()]
        rev = sizes[::-1]
        for k, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
            dec += [nn.Linear(a, b)]
            if k < len(rev) - 2:
                dec += [nn.ReLU()]
        return nn.Sequential(*enc), nn.Sequential(*dec)


def inverse_sqrt_degrees(src, dst, w, n):
    """``1/sqrt(d)`` per node for the normalised Laplacian (0 for an isolated node).

    ``d`` is the mean of weighted out- and in-degree: the degree itself on an undirected graph
    (both arcs stored), and on a directed one a node without out-arcs still gets its share
    instead of ``1/sqrt(0) -> 0``, which would pull its in-neighbours to the origin.
    """
    deg = 0.5 * (np.bincount(src, weights=w, minlength=n) + np.bincount(dst, weights=w, minlength=n))
    return np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-300)), 0.0)


def sdne_loss(encoder, decoder, x, b_scale, edges_i, edges_j, edges_w, alpha, nu, row_scale=None):
    """The SDNE loss of one batch; returns ``(total, second, first, reg)`` tensors.

    ``x``: ``(B, N)`` dense adjacency rows; ``b_scale``: ``beta``; ``edges_i/j/w``: the batch's
    arcs as row positions in ``x`` and weights (first-order term ``sum w ||y_i - y_j||²``).
    ``row_scale``: optional ``(B,)`` factors ``s_i`` (``1/sqrt(d_i)`` for the normalised
    Laplacian): the first-order term is then ``sum w ||s_i y_i - s_j y_j||²``.
    """
    torch = _torch()
    y = encoder(x)
    x_hat = decoder(y)
    b = torch.where(x > 0, torch.as_tensor(b_scale, dtype=x.dtype, device=x.device),
                    torch.ones((), dtype=x.dtype, device=x.device))
    second = (((x_hat - x) * b) ** 2).sum()
    if len(edges_i):
        ys = y if row_scale is None else y * row_scale.unsqueeze(1)
        first = (edges_w * ((ys[edges_i] - ys[edges_j]) ** 2).sum(1)).sum()
    else:
        first = torch.zeros((), dtype=x.dtype, device=x.device)
    reg = torch.zeros((), dtype=x.dtype, device=x.device)
    for m in list(encoder) + list(decoder):
        if hasattr(m, "weight"):
            reg = reg + 0.5 * (m.weight ** 2).sum()
    total = second + alpha * first + nu * reg
    return total, second, first, reg


class SDNE(EmbeddingEstimator):
    """SDNE node embeddings (deep autoencoder with first- and second-order proximity).

    Parameters
    ----------
    dim : int, default 128
        Embedding size (the encoder's last layer).
    hidden : int or sequence of int, default 512
        Hidden layer size(s) between the input (N) and the embedding (an int: one layer). Wiki
        Micro-F1 (seeds 1 / 2, normalised Laplacian, alpha 300): 256 -> 0.691 / 0.680 at lr
        0.005; at lr 0.002: 512 -> 0.700 / 0.690, 768 -> 0.691 / 0.696, 1000 -> 0.701 / 0.688.
        Wider layers or two layers need the lower learning rate: with ReLU at lr 0.005 they
        collapse (1000: 0.62; [512, 256]: 0.58-0.60).
    alpha : float, default 300.0
        Weight of the first-order (Laplacian) term. With the normalised Laplacian (default), edge
        batches and standardised output, wiki Micro-F1 (seeds 1 / 2; hidden 256, lr 0.005): 30 -> 0.678 / 0.678,
        300 -> 0.691 / 0.680, 1000 -> 0.681 / 0.685, 3000 -> 0.682 / 0.673. With
        ``laplacian="plain"``: 1 -> 0.665, 10 -> 0.673, 30 -> 0.676 / 0.676, 100 -> 0.679 / 0.667.
    beta : float, default 10.0
        Weight of nonzero entries in the reconstruction error.
    nu : float, default 1e-4
        L2 regularisation of the weight matrices.
    laplacian : {"normalized", "plain"}, default "normalized"
        First-order term: ``"plain"`` is the paper's ``sum_(i,j) s_ij ||y_i - y_j||²``
        (``2 tr(Yᵀ L Y)``, ``L = D - S``); ``"normalized"`` uses the normalised Laplacian
        ``I - D^-1/2 S D^-1/2``: ``sum s_ij ||y_i/sqrt(d_i) - y_j/sqrt(d_j)||²`` (``d``: weighted
        degree; on a directed graph the mean of out- and in-degree), so high-degree nodes no
        longer dominate the term; its scale is ~1/degree of the plain one, hence the larger
        ``alpha``. Wiki Micro-F1 over seeds 1-3: 0.686
        (normalised, alpha 300) against 0.676 (plain, alpha 30).
    epochs : int, default 5
        Passes over the arcs (``batch="edges"``) or nodes. Edge epochs cost ~20x node epochs on
        wiki; more of them did not help there (alpha 10: 5 epochs 0.673, 10 epochs 0.665).
    batch_size : int, default 1024
        Arcs (``batch="edges"``) or nodes (``batch="nodes"``) per step.
    batch : {"edges", "nodes"}, default "edges"
    learning_rate : float, default 0.002
        Adam's step size (0.005 before session 3, with ``hidden=256``).
    directed, weighted : how to read an edge-list path (a Graph keeps its own).
    device : str, default "auto"
        ``"auto"``: CUDA when available, else CPU; or any torch device name.
    threads : int or None, default None
        torch CPU threads during fit (None: torch's setting).
    standardize : bool, default True
        Output each embedding dimension centred and scaled to unit variance over the nodes
        (z-scores of the encoder output). The encoder's raw output has no fixed scale (the
        first-order term shrinks it as ``alpha`` grows), and a linear classifier with a fixed
        regularisation strength sees that scale; False: the encoder output as is.
    seed : int, default 1
    verbose : bool, default False

    Attributes
    ----------
    embeddings_ : Embeddings
    loss_ : list of float
        Mean loss per batch, per epoch.
    train_seconds_ : float
    """

    #: stop each epoch after this many steps (a test hook; None: full epochs)
    _max_steps = None

    def __init__(self, dim=128, hidden=512, alpha=300.0, beta=10.0, nu=1e-4, epochs=5, batch_size=1024,
                 batch="edges", learning_rate=0.002, directed=False, weighted=None, device="auto", threads=None,
                 standardize=True, laplacian="normalized", seed=1, verbose=False):
        self.dim = dim
        self.hidden = hidden
        self.alpha = alpha
        self.beta = beta
        self.nu = nu
        self.epochs = epochs
        self.batch_size = batch_size
        self.batch = batch
        self.learning_rate = learning_rate
        self.directed = directed
        self.weighted = weighted
        self.device = device
        self.threads = threads
        self.standardize = standardize
        self.laplacian = laplacian
        self.seed = seed
        self.verbose = verbose

    def _validate(self):
        check_positive("dim", self.dim, integer=True)
        hidden = self.hidden if self.hidden is not None else ()
        if isinstance(hidden, (int, np.integer)):
            hidden = (hidden,)
        for h in hidden:
            check_positive("hidden layer size", h, integer=True)
        for name in ("alpha", "nu"):
            check_positive(name, getattr(self, name), allow_zero=True)
        check_positive("beta", self.beta)
        check_positive("epochs", self.epochs, integer=True)
        check_positive("batch_size", self.batch_size, integer=True)
        check_positive("learning_rate", self.learning_rate)
        check_positive("seed", self.seed, integer=True, allow_zero=True)
        if self.threads is not None:
            check_positive("threads", self.threads, integer=True)
        if self.batch not in ("edges", "nodes"):
            raise InputError(f"batch must be 'edges' or 'nodes', got {self.batch!r}")
        if self.laplacian not in ("plain", "normalized"):
            raise InputError(f"laplacian must be 'plain' or 'normalized', got {self.laplacian!r}")
        return tuple(int(h) for h in hidden)

    def fit(self, graph, y=None):
        """Learn embeddings of ``graph`` (a Graph, an edge-list path or a networkx graph)."""
        hidden = self._validate()
        g = graph_arrays(graph, directed=self.directed, weighted=self.weighted)
        torch = _torch()
        dev = _device(self.device)
        n = g.n_nodes
        rng = np.random.default_rng(self.seed)
        old_threads = torch.get_num_threads()
        old_deterministic = (torch.are_deterministic_algorithms_enabled(),
                             torch.is_deterministic_algorithms_warn_only_enabled())
        if self.threads is not None:
            torch.set_num_threads(int(self.threads))
        if dev.type == "cpu":
            # the backward of the batch's gathers accumulates in thread order unless told not to,
            # which made two runs with the same seed and thread count differ (wiki, 2 threads: 0.6998
            # vs 0.7002 Micro-F1); wiki fit median 26.2 s vs 25.1 s without (3 runs each, noisy
            # machine). A caller's strict (not warn-only) setting is kept.
            torch.use_deterministic_algorithms(True, warn_only=old_deterministic[1] if old_deterministic[0] else True)
        try:
            with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
                torch.manual_seed(int(self.seed))
                encoder, decoder = _AutoEncoder.build(n, hidden, int(self.dim))
                encoder.to(dev)
                decoder.to(dev)
                losses, secs = self._train(encoder, decoder, g, dev, rng)
                with torch.no_grad():
                    vecs = np.empty((n, int(self.dim)), dtype=np.float32)
                    crow, col, val = self._csr(g, dev)
                    step = max(1, min(n, int(self.batch_size)))
                    for a in range(0, n, step):
                        rows = torch.arange(a, min(n, a + step), device=dev)
                        vecs[a:a + len(rows)] = encoder(dense_rows(crow, col, val, rows, n)).float().cpu().numpy()
        finally:
            torch.set_num_threads(old_threads)
            torch.use_deterministic_algorithms(old_deterministic[0], warn_only=old_deterministic[1])
        if not np.all(np.isfinite(vecs)):
            raise FloatingPointError("SDNE diverged (non-finite embeddings); lower learning_rate")
        if self.standardize:
            vecs = standardize_columns(vecs)
        self.embeddings_ = Embeddings(g.keys, vecs)
        self.loss_ = losses
        self.train_seconds_ = float(secs)
        return self

    @staticmethod
    def _csr(g, dev):
        torch = _torch()
        return (torch.as_tensor(g.indptr, dtype=torch.int64, device=dev),
                torch.as_tensor(g.indices.astype(np.int64), device=dev),
                torch.as_tensor(g.weights, dtype=torch.float32, device=dev))

    def _train(self, encoder, decoder, g, dev, rng):
        torch = _torch()
        n = g.n_nodes
        crow, col, val = self._csr(g, dev)
        src = np.repeat(np.arange(n, dtype=np.int64), np.diff(g.indptr))
        dst = g.indices.astype(np.int64)
        w = g.weights.astype(np.float32)
        inv_sqrt_deg = None
        if self.laplacian == "normalized":
            inv_sqrt_deg = torch.as_tensor(inverse_sqrt_degrees(src, dst, w, n), dtype=torch.float32, device=dev)
        params = list(encoder.parameters()) + list(decoder.parameters())
        opt = torch.optim.Adam(params, lr=float(self.learning_rate))
        bs = int(self.batch_size)
        losses = []
        t0 = time.perf_counter()
        pos_of = np.full(n, -1, dtype=np.int64)
        for epoch in range(int(self.epochs)):
            total, steps = 0.0, 0
            if self.batch == "edges":
                perm = rng.permutation(len(src))
                chunks = [perm[a:a + bs] for a in range(0, len(perm), bs)]
            else:
                perm = rng.permutation(n)
                chunks = [perm[a:a + bs] for a in range(0, n, bs)]
            for chunk in chunks[: self._max_steps]:
                if self.batch == "edges":
                    nodes, inv = np.unique(np.concatenate([src[chunk], dst[chunk]]), return_inverse=True)
                    ei, ej, ew = inv[: len(chunk)], inv[len(chunk):], w[chunk]
                else:
                    nodes = np.sort(chunk)
                    pos_of[nodes] = np.arange(len(nodes))
                    a, b = g.indptr[nodes], g.indptr[nodes + 1]
                    lens = b - a
                    idx = np.repeat(a - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
                    rows = np.repeat(np.arange(len(nodes)), lens)
                    cols = pos_of[dst[idx]]
                    inside = cols >= 0
                    ei, ej, ew = rows[inside], cols[inside], w[idx][inside]
                    pos_of[nodes] = -1
                rows_t = torch.as_tensor(nodes, device=dev)
                x = dense_rows(crow, col, val, rows_t, n)
                loss, _, _, _ = sdne_loss(encoder, decoder, x, float(self.beta),
                                          torch.as_tensor(ei, device=dev), torch.as_tensor(ej, device=dev),
                                          torch.as_tensor(ew, device=dev), float(self.alpha), float(self.nu),
                                          None if inv_sqrt_deg is None else inv_sqrt_deg[rows_t])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach())
                steps += 1
            losses.append(total / max(steps, 1))
            if self.verbose:
                print(f"SDNE epoch {epoch + 1}/{self.epochs}: loss {losses[-1]:.4f}", flush=True)
            if not np.isfinite(losses[-1]):
                raise FloatingPointError("SDNE diverged (non-finite loss); lower learning_rate")
        return losses, time.perf_counter() - t0
